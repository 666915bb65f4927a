// How `enf-server` shows registry records: JSON views for --json (bytes as hex, identities and
// prefixes as IPv6 text, times as ISO 8601) and aligned text tables for operators. Public values only.
import { toHex } from '../../protocol/util/bytes.ts';
import { formatIpv6, formatPrefix64 } from '../registry/ipv6.ts';
import type { AuditEntry, Batch, BatchSummary, Device, Network } from '../registry/registry.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function networkView(n: Network): Record<string, unknown> {
  return { id: n.id, name: n.name, prefix: formatPrefix64(n.prefix), created: iso(n.createdAt) };
}

export function batchView(b: Batch | BatchSummary, networks: Network[]): Record<string, unknown> {
  const net = networks.find((n) => n.id === b.networkId);
  const view: Record<string, unknown> = {
    gid: toHex(b.gid),
    name: b.name,
    network: net?.name ?? null,
    size: b.size,
    status: b.status,
    basename: toHex(b.basename),
    created: iso(b.createdAt),
  };
  if ('devices' in b) {
    view.devices = b.devices;
    view.revokedDevices = b.revokedDevices;
  }
  return view;
}

export function deviceView(d: Device, batchName?: string): Record<string, unknown> {
  return {
    identity: formatIpv6(d.identity),
    batch: batchName ?? null,
    gid: toHex(d.gid),
    pseudonym: toHex(d.pseudonym),
    longtermPublicKey: toHex(d.longtermPublicKey),
    status: d.status,
    allowRekey: d.allowRekey,
    firstHandshake: iso(d.firstHandshakeAt),
    lastHandshake: iso(d.lastHandshakeAt),
    handshakes: d.handshakeCount,
    lastSource: d.lastSource,
  };
}

export function auditView(a: AuditEntry): Record<string, unknown> {
  return {
    id: a.id,
    time: iso(a.at),
    source: a.sourceAddress,
    port: a.sourcePort,
    gid: a.gid ? toHex(a.gid) : null,
    pseudonym: a.pseudonym ? toHex(a.pseudonym) : null,
    suite: a.suite,
    outcome: a.outcome,
    reason: a.reason,
    identity: a.identity ? formatIpv6(a.identity) : null,
    geolocation: a.geolocation,
  };
}

/** A plain text table: header row, then one row per record; columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** First 16 hex digits of a long value, for tables (the JSON has the whole value). */
export const short = (hex: string): string => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);
