// The identity address as a NetworkManager connection change, through nmcli(1) (NetworkManager's
// supported command-line client over its D-Bus API): `+ipv6.addresses` on the connection active on
// the interface, then `nmcli device reapply` so the running device takes it without going down.
// With runtime persistence the change is `--temporary` (kept in memory until NetworkManager restarts
// or the device reboots; the agent re-applies it each boot); persistent changes the stored profile.
// The argument lists are built here, pure; handoff.ts runs them.
import type { NetworkPersistence } from '../config.ts';

/** `nmcli -t -f UUID,DEVICE connection show --active` -> the UUID active on `ifname`. */
export function parseActiveConnection(terse: string, ifname: string): string | undefined {
  for (const line of terse.split('\n')) {
    // UUIDs and interface names never contain ':', so terse mode needs no unescaping here.
    const [uuid, device] = line.trim().split(':');
    if (device === ifname && uuid && /^[0-9a-f-]{36}$/i.test(uuid)) return uuid;
  }
  return undefined;
}

export const ACTIVE_CONNECTIONS_ARGS = ['-t', '-f', 'UUID,DEVICE', 'connection', 'show', '--active'];

/** `--escape no`: terse output would otherwise write each ':' of an IPv6 address as '\:'. */
export function connectionIpv6Args(uuid: string): string[] {
  return ['-t', '-e', 'no', '-g', 'ipv6.method,ipv6.addresses', 'connection', 'show', 'uuid', uuid];
}

export interface ConnectionIpv6 {
  method: string;
  addresses: string[];
}

/** The answer to connectionIpv6Args: the method line, then the addresses (comma-separated). */
export function parseConnectionIpv6(text: string): ConnectionIpv6 {
  const [method = '', addresses = ''] = text.split('\n');
  return {
    method: method.trim(),
    // An nmcli that escaped anyway ('fd00\:1\:\:7/64') reads the same.
    addresses: addresses
      .replace(/\\:/g, ':')
      .split(/[,\s]+/)
      .map((a) => a.trim())
      .filter((a) => a.length > 0),
  };
}

/**
 * The modify command adding `cidr`, or undefined when the connection already has it. A connection
 * with IPv6 ignored or disabled is switched to manual: it cannot carry addresses otherwise.
 */
export function addAddressArgs(
  uuid: string,
  cidr: string,
  current: ConnectionIpv6,
  persist: NetworkPersistence,
): string[] | undefined {
  const needsMethod = current.method === 'ignore' || current.method === 'disabled';
  if (current.addresses.includes(cidr) && !needsMethod) return undefined;
  return [
    'connection',
    'modify',
    ...(persist === 'runtime' ? ['--temporary'] : []),
    'uuid',
    uuid,
    ...(needsMethod ? ['ipv6.method', 'manual'] : []),
    '+ipv6.addresses',
    cidr,
  ];
}

/** The modify command taking `cidr` away again, or undefined when it is not there. */
export function removeAddressArgs(uuid: string, cidr: string, current: ConnectionIpv6): string[] | undefined {
  if (!current.addresses.includes(cidr)) return undefined;
  return ['connection', 'modify', 'uuid', uuid, '-ipv6.addresses', cidr];
}

export function reapplyArgs(ifname: string): string[] {
  return ['device', 'reapply', ifname];
}

/** `nmcli -t -g GENERAL.STATE device show IFNAME`: e.g. `100 (connected)`. */
export function deviceStateArgs(ifname: string): string[] {
  return ['-t', '-g', 'GENERAL.STATE', 'device', 'show', ifname];
}

/** NM_DEVICE_STATE_ACTIVATED: only an activated device can reapply a changed connection. */
export const NM_DEVICE_STATE_ACTIVATED = 100;

/** The numeric NMDeviceState at the start of deviceStateArgs' answer, or undefined. */
export function parseDeviceState(text: string): number | undefined {
  const m = /^\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}
