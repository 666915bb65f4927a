// Network namespaces for integration tests: each test makes its own namespace with a veth pair
// (both ends inside, so DAD and link up/down happen on a real link) and deletes it afterwards.
// Needs root and iproute2 (suiteRequires(name, ['root', 'netns'])). Never touches the host's links.
import { execFileSync } from 'node:child_process';

let counter = 0;

export interface TestNetns {
  name: string;
  /** The veth end the code under test configures. */
  ifname: string;
  peer: string;
  /** Runs `ip -n NAME ...args` and returns stdout. */
  ip(...args: string[]): string;
  destroy(): void;
}

export function createNetns(prefix = 'xttag'): TestNetns {
  const name = `${prefix}-${process.pid}-${++counter}`;
  const ifname = 'veth-a';
  const peer = 'veth-b';
  execFileSync('ip', ['netns', 'add', name]);
  const ip = (...args: string[]) => execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8' });
  try {
    ip('link', 'add', ifname, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'set', ifname, 'up');
    ip('link', 'set', peer, 'up');
  } catch (e) {
    execFileSync('ip', ['netns', 'del', name]);
    throw e;
  }
  return {
    name,
    ifname,
    peer,
    ip,
    destroy: () => execFileSync('ip', ['netns', 'del', name]),
  };
}

/** IPv6 addresses (lower-case text form with flags) on `ifname` per `ip -6 -j addr show`. */
export function ipv6Addresses(
  ns: TestNetns,
  ifname: string,
): { local: string; prefixlen: number; tentative: boolean }[] {
  const out = JSON.parse(ns.ip('-6', '-j', 'addr', 'show', 'dev', ifname)) as {
    addr_info?: { local: string; prefixlen: number; tentative?: boolean; scope: string }[];
  }[];
  return (out[0]?.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .map((a) => ({ local: a.local, prefixlen: a.prefixlen, tentative: a.tentative === true }));
}
