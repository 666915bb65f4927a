// The AddressConfigurator port (../shared/STYLE.md "Boundaries"): what the provisioning flow needs
// from the network stack. The real adapter is rtnetlink-configurator.ts; tests use test/fakes/.

export interface AddAddressOptions {
  /** Skip duplicate address detection: the address is usable at once (IFA_F_NODAD). */
  nodad?: boolean;
}

export interface AddressState {
  index: number;
  prefixLen: number;
  /** Full IFA_F_* flag set. */
  flags: number;
  isTentative: boolean;
  isDadFailed: boolean;
}

export interface WatchSpec {
  ifname: string;
  /** 16-byte IPv6 address to keep on the interface. */
  address: Uint8Array;
  prefixLen: number;
  nodad?: boolean;
}

export type WatchEvent =
  | { kind: 'restored'; reason: 'address-removed' | 'link-up' | 'link-recreated' | 'resync' }
  | { kind: 'error'; error: unknown };

export interface AddressWatch {
  /** Stops watching; resolves once the watcher's socket is closed. */
  close(): Promise<void>;
}

export interface AddressConfigurator {
  /** Interface index for `name`; throws InterfaceMissingError when there is none. */
  findInterface(name: string): Promise<number>;
  /** Adds a permanent IPv6 address. Already present (EEXIST) counts as success. */
  addAddress(
    ifname: string,
    address: Uint8Array,
    prefixLen: number,
    options?: AddAddressOptions,
  ): Promise<void>;
  /** The address's current state on the interface, or undefined when it is not there. */
  getAddress(ifname: string, address: Uint8Array): Promise<AddressState | undefined>;
  /**
   * Resolves once the address has left IFA_F_TENTATIVE (DAD finished). Throws DadFailedError on
   * IFA_F_DADFAILED, TimeoutError after `timeoutMs`, AbortedError when `signal` fires.
   */
  waitNotTentative(
    ifname: string,
    address: Uint8Array,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Keeps the address on the interface: re-adds it when it is removed (someone flushed the
   * interface, link down with keep_addr_on_down=0), when the link comes back up, and when the
   * interface is recreated under the same name. `onEvent` hears each re-add and each non-fatal error.
   */
  watch(spec: WatchSpec, onEvent: (e: WatchEvent) => void): Promise<AddressWatch>;
  close(): Promise<void>;
}
