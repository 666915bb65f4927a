// The identity address as systemd-networkd configuration (systemd.network(5)): a drop-in
// `<name>.network.d/90-xtt-agent.conf` for the .network file that already matches the interface,
// holding one [Address] section. Drop-ins extend that file instead of replacing it, so the image's
// own settings (DHCP, routes) stay as they are and networkd re-adds the identity itself whenever it
// reconfigures the link (restart, `networkctl reconfigure`, carrier loss, DHCP renewal).
// networkd reads drop-ins from /etc/systemd/network (persistent) and /run/systemd/network
// (volatile) whichever directory holds the .network file itself.
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { NetworkPersistence } from '../config.ts';

export const DROPIN_NAME = '90-xtt-agent.conf';

/** The two directories networkd reads configuration from that the agent may write to. */
export interface NetworkdDirs {
  /** /run/systemd/network */
  runtime: string;
  /** /etc/systemd/network */
  persistent: string;
}

export const NETWORKD_DIRS: NetworkdDirs = {
  runtime: '/run/systemd/network',
  persistent: '/etc/systemd/network',
};

/** Fields of networkd's per-link state file (/run/systemd/netif/links/IFINDEX) the agent reads. */
export interface NetworkdLinkState {
  adminState?: string;
  networkFile?: string;
}

/** Parses the KEY=VALUE lines of a link state file; unknown keys and comments are ignored. */
export function parseLinkState(text: string): NetworkdLinkState {
  const out: NetworkdLinkState = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const value = m[2]!;
    if (m[1] === 'ADMIN_STATE' && value) out.adminState = value;
    if (m[1] === 'NETWORK_FILE' && value) out.networkFile = value;
  }
  return out;
}

/** Where the drop-in for `networkFile` goes, per persistence. */
export function dropInPath(networkFile: string, persist: NetworkPersistence, dirs = NETWORKD_DIRS): string {
  const name = basename(networkFile);
  if (!name.endsWith('.network')) {
    throw new ConfigError('network.manager', `${networkFile} is not a .network file`);
  }
  return join(persist === 'runtime' ? dirs.runtime : dirs.persistent, `${name}.d`, DROPIN_NAME);
}

export interface AddressSpec {
  /** RFC 5952 text of the identity. */
  address: string;
  prefixLen: number;
  nodad: boolean;
}

/** The drop-in's text: one [Address] section, DAD as the agent itself does it. */
export function renderDropIn(a: AddressSpec): string {
  return [
    '# Written by xtt-agent: the device identity provisioned over XTT (state in /var/lib/xtt-agent).',
    '# Removed by `xtt-agent handoff --remove` (factory reset); see /usr/lib/xtt-agent/README.md.',
    '[Address]',
    `Address=${a.address}/${a.prefixLen}`,
    `DuplicateAddressDetection=${a.nodad ? 'none' : 'ipv6'}`,
    '',
  ].join('\n');
}
