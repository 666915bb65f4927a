// In-memory AddressConfigurator: a table of interfaces and their addresses, with DAD that stays
// tentative until the test says otherwise, and a watcher the test can trigger by "removing" the
// address. Records every call so tests can assert on order.
import type {
  AddAddressOptions,
  AddressConfigurator,
  AddressState,
  AddressWatch,
  WatchEvent,
  WatchSpec,
} from '../../agent/netlink/address-configurator.ts';
import { InterfaceMissingError, TimeoutError } from '../../agent/errors.ts';
import { DadFailedError } from '../../agent/netlink/rtnetlink-configurator.ts';

const key = (a: Uint8Array) => Buffer.from(a).toString('hex');

export class FakeAddressConfigurator implements AddressConfigurator {
  readonly calls: string[] = [];
  /** ifname -> (address hex -> state) */
  readonly links = new Map<string, Map<string, { prefixLen: number; tentative: boolean }>>();
  dadOutcome: 'ok' | 'failed' | 'never' = 'ok';
  private watchers: { spec: WatchSpec; onEvent: (e: WatchEvent) => void }[] = [];

  constructor(ifnames: string[] = ['eth0']) {
    for (const n of ifnames) this.links.set(n, new Map());
  }

  private link(ifname: string) {
    const l = this.links.get(ifname);
    if (!l) throw new InterfaceMissingError(ifname);
    return l;
  }

  async findInterface(name: string): Promise<number> {
    this.calls.push(`find ${name}`);
    this.link(name);
    return [...this.links.keys()].indexOf(name) + 1;
  }
  async addAddress(ifname: string, address: Uint8Array, prefixLen: number, o: AddAddressOptions = {}) {
    this.calls.push(`add ${ifname} ${key(address)}/${prefixLen}${o.nodad ? ' nodad' : ''}`);
    const l = this.link(ifname);
    if (!l.has(key(address))) l.set(key(address), { prefixLen, tentative: !o.nodad });
  }
  async getAddress(ifname: string, address: Uint8Array): Promise<AddressState | undefined> {
    const a = this.link(ifname).get(key(address));
    if (!a) return undefined;
    return { index: 1, prefixLen: a.prefixLen, flags: 0, isTentative: a.tentative, isDadFailed: false };
  }
  async waitNotTentative(ifname: string, address: Uint8Array, timeoutMs: number) {
    this.calls.push(`wait ${ifname}`);
    const a = this.link(ifname).get(key(address));
    if (this.dadOutcome === 'failed') throw new DadFailedError(ifname);
    if (!a || this.dadOutcome === 'never') throw new TimeoutError(`DAD on ${ifname}`, timeoutMs);
    a.tentative = false;
  }
  async watch(spec: WatchSpec, onEvent: (e: WatchEvent) => void): Promise<AddressWatch> {
    this.calls.push(`watch ${spec.ifname}`);
    const w = { spec, onEvent };
    this.watchers.push(w);
    return {
      close: async () => {
        this.calls.push(`unwatch ${spec.ifname}`);
        this.watchers = this.watchers.filter((x) => x !== w);
      },
    };
  }
  /** Simulates someone deleting the address: watchers put it back, like the real one. */
  async removeAddress(ifname: string, address: Uint8Array): Promise<void> {
    this.link(ifname).delete(key(address));
    for (const w of this.watchers) {
      if (w.spec.ifname !== ifname || key(w.spec.address) !== key(address)) continue;
      await this.addAddress(ifname, address, w.spec.prefixLen, { nodad: w.spec.nodad ?? false });
      w.onEvent({ kind: 'restored', reason: 'address-removed' });
    }
  }
  hasAddress(ifname: string, address: Uint8Array): boolean {
    return this.links.get(ifname)?.has(key(address)) ?? false;
  }
  async close(): Promise<void> {}
}
