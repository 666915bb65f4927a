// Unit tests for agent/netlink/rtnetlink-configurator.ts over a scripted fake transport that plays
// the kernel's part: EEXIST as success, ENODEV as a missing interface, multi-datagram dumps,
// answers to other sequence numbers ignored, error codes surfaced as NetlinkError.
import test from 'ava';
import { RtnetlinkConfigurator } from '../../../../agent/netlink/rtnetlink-configurator.ts';
import type { NetlinkTransport } from '../../../../agent/netlink/socket.ts';
import { decodeNlmsgs, encodeNlmsg, encodeRtattrs, type NlMessage } from '../../../../agent/netlink/codec.ts';
import { NetlinkError } from '../../../../agent/errors.ts';
import {
  EEXIST,
  ENODEV,
  EPERM,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from '../../../../agent/netlink/constants.ts';

const ADDR = new Uint8Array(Buffer.from('fd000000000000000000000000000001', 'hex'));

function err(req: NlMessage, errno: number): Uint8Array {
  const p = new Uint8Array(20);
  new DataView(p.buffer).setInt32(0, -errno, true);
  p.set(encodeNlmsg(req, new Uint8Array(0)), 4);
  return encodeNlmsg({ type: NLMSG_ERROR, flags: 0x100, seq: req.seq, pid: 0 }, p);
}
function link(seq: number, index: number, name: string): Uint8Array {
  const body = new Uint8Array(16);
  new DataView(body.buffer).setInt32(4, index, true);
  const attrs = encodeRtattrs([{ type: 3, value: new TextEncoder().encode(name + '\0') }]);
  return encodeNlmsg({ type: RTM_NEWLINK, flags: 0, seq, pid: 0 }, new Uint8Array([...body, ...attrs]));
}
function addr(seq: number, index: number, a: Uint8Array, flags: number): Uint8Array {
  const body = new Uint8Array([10, 64, flags & 0xff, 0, index, 0, 0, 0]);
  const attrs = encodeRtattrs([
    { type: 1, value: a },
    { type: 8, value: new Uint8Array([flags & 0xff, flags >> 8, 0, 0]) },
  ]);
  return encodeNlmsg(
    { type: RTM_NEWADDR, flags: NLM_F_MULTI, seq, pid: 0 },
    new Uint8Array([...body, ...attrs]),
  );
}
const done = (seq: number) =>
  encodeNlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: 0 }, new Uint8Array(4));

/** Fake kernel: `answer` maps each request to the datagrams to queue. */
class FakeKernel implements NetlinkTransport {
  readonly sent: NlMessage[] = [];
  private readonly inbox: Uint8Array[] = [];
  closed = false;
  constructor(private readonly answer: (req: NlMessage) => Uint8Array[]) {}
  send(d: Uint8Array): void {
    for (const m of decodeNlmsgs(d)) {
      this.sent.push(m);
      this.inbox.push(...this.answer(m));
    }
  }
  async recv(): Promise<Uint8Array | null> {
    return this.inbox.shift() ?? null;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function kernel(opts: { newaddrErrno?: number; ifindex?: number }) {
  return new FakeKernel((req) => {
    if (req.type === RTM_GETLINK) {
      if (opts.ifindex === undefined) return [err(req, ENODEV)];
      // A stale answer to an older request first: must be skipped by seq.
      return [
        link(req.seq - 1, 99, 'old0'),
        new Uint8Array([...link(req.seq, opts.ifindex, 'eth0'), ...err(req, 0)]),
      ];
    }
    if (req.type === RTM_NEWADDR) return [err(req, opts.newaddrErrno ?? 0)];
    if (req.type === RTM_GETADDR) {
      // A dump split over three datagrams, the last ending with NLMSG_DONE.
      return [
        addr(req.seq, 5, new Uint8Array(16).fill(1), 0x80),
        addr(req.seq, 7, ADDR, 0xc0),
        done(req.seq),
      ];
    }
    return [err(req, EPERM)];
  });
}

test('findInterface reads the index from the RTM_NEWLINK answer, skipping stale sequence numbers', async (t) => {
  const k = kernel({ ifindex: 7 });
  const c = new RtnetlinkConfigurator(() => k);
  t.is(await c.findInterface('eth0'), 7);
  await c.close();
  t.true(k.closed);
});

test('findInterface maps ENODEV to InterfaceMissingError', async (t) => {
  const c = new RtnetlinkConfigurator(() => kernel({}));
  const e = await t.throwsAsync(c.findInterface('eth9'));
  t.is((e as { code?: string }).code, 'INTERFACE_MISSING');
});

test('addAddress: EEXIST is success, other errnos are NetlinkError with the errno', async (t) => {
  const ok = kernel({ ifindex: 7, newaddrErrno: EEXIST });
  await new RtnetlinkConfigurator(() => ok).addAddress('eth0', ADDR, 64, { nodad: true });
  const newaddr = ok.sent.find((m) => m.type === RTM_NEWADDR)!;
  t.is(newaddr.payload[2], 0x82, 'PERMANENT|NODAD');
  t.is(newaddr.payload[4], 7, 'ifindex from findInterface');
  const denied = new RtnetlinkConfigurator(() => kernel({ ifindex: 7, newaddrErrno: EPERM }));
  const e = await t.throwsAsync(denied.addAddress('eth0', ADDR, 64), { instanceOf: NetlinkError });
  t.is(e.errno, EPERM);
  t.regex(e.message, /EPERM/);
});

test('getAddress walks a multi-datagram dump and reports tentative state', async (t) => {
  const c = new RtnetlinkConfigurator(() => kernel({ ifindex: 7 }));
  t.deepEqual(await c.getAddress('eth0', ADDR), {
    index: 7,
    prefixLen: 64,
    flags: 0xc0,
    isTentative: true,
    isDadFailed: false,
  });
  t.is(await c.getAddress('eth0', new Uint8Array(16).fill(2)), undefined);
});

test('a request with no answer fails with NetlinkError rather than hanging', async (t) => {
  const silent = new FakeKernel(() => []);
  const c = new RtnetlinkConfigurator(() => silent);
  await t.throwsAsync(c.findInterface('eth0'), { instanceOf: NetlinkError, message: /no answer/ });
});
