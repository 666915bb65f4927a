// AddressConfigurator over rtnetlink (rtnetlink(7)): requests go through one request socket
// (one request in flight, matched by sequence number), events through a socket subscribed to
// RTMGRP_LINK | RTMGRP_IPV6_IFADDR. Sockets come from a factory so tests can substitute one.
import { equalBytes } from '../../protocol/util/bytes.ts';
import { ZtpError } from '../../protocol/errors.ts';
import { AbortedError, InterfaceMissingError, NetlinkError, TimeoutError } from '../errors.ts';
import type {
  AddAddressOptions,
  AddressConfigurator,
  AddressState,
  AddressWatch,
  WatchEvent,
  WatchSpec,
} from './address-configurator.ts';
import { addrOf, decodeAddrMessage, encodeGetAddrDump, encodeNewAddr } from './address.ts';
import { decodeDone, decodeNlmsgerr, decodeNlmsgs, type NlMessage } from './codec.ts';
import {
  AF_INET6,
  EEXIST,
  ENOBUFS,
  ENODEV,
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  IFF_UP,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_OVERRUN,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
  errnoName,
} from './constants.ts';
import { decodeLinkMessage, encodeGetLinkByName } from './link.ts';
import type { NetlinkTransport } from './socket.ts';
import { SerialQueue } from '../../protocol/util/serial-queue.ts';

/** Duplicate address detection reported a conflict: another node uses this address. */
export class DadFailedError extends ZtpError {
  constructor(ifname: string) {
    super('DAD_FAILED', `duplicate address detection failed on ${ifname}`);
  }
}

const REQUEST_TIMEOUT_MS = 5000;

export class RtnetlinkConfigurator implements AddressConfigurator {
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private requests: NetlinkTransport | undefined;
  private readonly queue = new SerialQueue();
  private readonly watches = new Set<AddressWatch>();

  constructor(private readonly openSocket: (groups: number) => NetlinkTransport) {}

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** Sends one request and collects the answers with its seq, until the ack or NLMSG_DONE. */
  private request(op: string, build: (seq: number) => Uint8Array, isDump: boolean): Promise<NlMessage[]> {
    const run = async (): Promise<NlMessage[]> => {
      this.requests ??= this.openSocket(0);
      const sock = this.requests;
      const seq = this.nextSeq();
      sock.send(build(seq));
      const out: NlMessage[] = [];
      const deadline = Date.now() + REQUEST_TIMEOUT_MS;
      for (;;) {
        const dgram = await sock.recv(deadline - Date.now());
        if (!dgram) throw new NetlinkError(op, 0, `no answer within ${REQUEST_TIMEOUT_MS} ms`);
        for (const m of decodeNlmsgs(dgram)) {
          if (m.seq !== seq) continue; // a late answer to an earlier, timed-out request
          if (m.type === NLMSG_ERROR) {
            const ack = decodeNlmsgerr(m);
            if (ack.errno !== 0) throw new NetlinkError(op, ack.errno, errnoName(ack.errno));
            if (!isDump) return out;
          } else if (m.type === NLMSG_DONE) {
            const errno = decodeDone(m);
            if (errno !== 0) throw new NetlinkError(op, errno, errnoName(errno));
            return out;
          } else if (m.type === NLMSG_OVERRUN) {
            throw new NetlinkError(op, 0, 'NLMSG_OVERRUN');
          } else {
            out.push(m);
          }
        }
      }
    };
    return this.queue.run(run);
  }

  async findInterface(name: string): Promise<number> {
    try {
      const msgs = await this.request(`RTM_GETLINK ${name}`, (seq) => encodeGetLinkByName(seq, name), false);
      const link = msgs.filter((m) => m.type === RTM_NEWLINK).map(decodeLinkMessage)[0];
      if (!link) throw new InterfaceMissingError(name);
      return link.index;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV)
        throw new InterfaceMissingError(name, { cause: e });
      throw e;
    }
  }

  async addAddress(ifname: string, address: Uint8Array, prefixLen: number, options: AddAddressOptions = {}) {
    const index = await this.findInterface(ifname);
    try {
      await this.request(
        `RTM_NEWADDR ${ifname}`,
        (seq) => encodeNewAddr({ seq, index, address, prefixLen, nodad: options.nodad ?? false }),
        false,
      );
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === EEXIST) return; // already there: success
      throw e;
    }
  }

  async getAddress(ifname: string, address: Uint8Array): Promise<AddressState | undefined> {
    const index = await this.findInterface(ifname);
    const msgs = await this.request('RTM_GETADDR dump', encodeGetAddrDump, true);
    for (const m of msgs) {
      if (m.type !== RTM_NEWADDR) continue;
      const a = decodeAddrMessage(m);
      const addr = addrOf(a);
      if (a.family !== AF_INET6 || a.index !== index || !addr || !equalBytes(addr, address)) continue;
      return {
        index,
        prefixLen: a.prefixLen,
        flags: a.flags,
        isTentative: (a.flags & IFA_F_TENTATIVE) !== 0,
        isDadFailed: (a.flags & IFA_F_DADFAILED) !== 0,
      };
    }
    return undefined;
  }

  async waitNotTentative(ifname: string, address: Uint8Array, timeoutMs: number, signal?: AbortSignal) {
    // Subscribe first, then look: a change between the two cannot be missed.
    const events = this.openSocket(RTMGRP_IPV6_IFADDR);
    const deadline = Date.now() + timeoutMs;
    const onAbort = () => void events.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let state = await this.getAddress(ifname, address);
      for (;;) {
        if (signal?.aborted) throw new AbortedError('waiting for DAD');
        if (state?.isDadFailed) throw new DadFailedError(ifname);
        if (state && !state.isTentative) return;
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`DAD on ${ifname}`, timeoutMs);
        let dgram: Uint8Array | null;
        try {
          dgram = await events.recv(left);
        } catch (e) {
          if (e instanceof NetlinkError && e.errno === ENOBUFS) dgram = new Uint8Array(0);
          else throw e;
        }
        if (dgram === null) continue; // timed out or closed: the loop head decides which
        // Re-read the state rather than trusting event order (an ENOBUFS gap included).
        state = await this.getAddress(ifname, address);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await events.close();
    }
  }

  async watch(spec: WatchSpec, onEvent: (e: WatchEvent) => void): Promise<AddressWatch> {
    const events = this.openSocket(RTMGRP_LINK | RTMGRP_IPV6_IFADDR);
    let index: number | undefined;
    try {
      index = await this.findInterface(spec.ifname);
    } catch (e) {
      if (!(e instanceof InterfaceMissingError)) {
        await events.close();
        throw e;
      }
    }
    let stopped = false;
    const restore = async (reason: Extract<WatchEvent, { kind: 'restored' }>['reason']) => {
      try {
        if (await this.getAddress(spec.ifname, spec.address)) return;
        await this.addAddress(spec.ifname, spec.address, spec.prefixLen, { nodad: spec.nodad ?? false });
        onEvent({ kind: 'restored', reason });
      } catch (error) {
        onEvent({ kind: 'error', error });
      }
    };
    const loop = async () => {
      while (!stopped) {
        let dgram: Uint8Array | null;
        try {
          dgram = await events.recv(60_000);
        } catch (e) {
          if (e instanceof NetlinkError && e.errno === ENOBUFS) {
            await restore('resync'); // events were lost: check the address directly
            continue;
          }
          onEvent({ kind: 'error', error: e });
          return;
        }
        if (!dgram) continue;
        let msgs: NlMessage[];
        try {
          msgs = decodeNlmsgs(dgram);
        } catch (e) {
          onEvent({ kind: 'error', error: e });
          continue;
        }
        for (const m of msgs) {
          if (m.type === RTM_DELADDR) {
            const a = decodeAddrMessage(m);
            const addr = addrOf(a);
            if (a.index === index && addr && equalBytes(addr, spec.address)) await restore('address-removed');
          } else if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
            const l = decodeLinkMessage(m);
            if (m.type === RTM_DELLINK && l.index === index) index = undefined;
            else if (m.type === RTM_NEWLINK && l.ifname === spec.ifname) {
              const recreated = index !== l.index;
              index = l.index;
              if (recreated) await restore('link-recreated');
              else if (l.flags & IFF_UP) await restore('link-up');
            }
          }
        }
      }
    };
    const done = loop();
    const handle: AddressWatch = {
      close: async () => {
        stopped = true;
        this.watches.delete(handle);
        await events.close();
        await done;
      },
    };
    this.watches.add(handle);
    await restore('resync');
    return handle;
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) await w.close();
    await this.queue.run(() => undefined);
    await this.requests?.close();
    this.requests = undefined;
  }
}
