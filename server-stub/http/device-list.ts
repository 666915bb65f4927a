// GET /api/v1/devices, one page: keyset paging in the database. DAA devices come first, in the
// registry's device order (first handshake, then identity), then certificate devices in enrollment
// order (id). Every filter and the organization scope are in the SQL WHERE clause, and each query
// asks for at most one row more than the page, so a page costs the same at any fleet size.
//
// The cursor encodes where the previous page ended (its last device's sort key, not the device
// itself), so paging goes on when that device was revoked meanwhile or no longer matches, and a
// device never shows twice. It also carries a short digest of the filter and organization it was
// made for: used with another filter, or by another organization, it is refused (VALIDATION, field
// cursor, "no longer matches this filter") rather than silently giving a page of another list.
import { sha256 } from '@noble/hashes/sha2.js';
import type { CertDevice } from '../registry/pki-registry.ts';
import type { Device, DeviceKey, DeviceStatus } from '../registry/registry.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';

/** The list's filters after their references are resolved (batch to gid, CA to id). */
export interface DeviceListFilter {
  kind?: 'daa' | 'certificate' | undefined;
  gid?: Uint8Array | undefined;
  caId?: number | undefined;
  status?: DeviceStatus | undefined;
  /** First handshake (enrollment) at or after, before; last at or after (ms). */
  since?: number | undefined;
  until?: number | undefined;
  seenSince?: number | undefined;
}

/** Where a page ended: a DAA device's (first handshake, identity) or a certificate device's id. */
export type DevicePosition = { kind: 'daa'; key: DeviceKey } | { kind: 'certificate'; id: number };

export type DeviceListItem = { daa: Device; cert?: undefined } | { daa?: undefined; cert: CertDevice };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** 16 hex digits naming the filter and the organization scope a cursor was made for. */
export function filterTag(f: DeviceListFilter, org: number | undefined): string {
  const canonical = JSON.stringify([
    org ?? null,
    f.kind ?? null,
    f.gid ? hex(f.gid) : null,
    f.caId ?? null,
    f.status ?? null,
    f.since ?? null,
    f.until ?? null,
    f.seenSince ?? null,
  ]);
  return hex(sha256(new TextEncoder().encode(canonical)).subarray(0, 8));
}

/** `d2:<tag>:d:<first handshake ms>:<identity hex>` or `d2:<tag>:c:<id>`, as base64url. */
export function encodeDeviceCursor(tag: string, at: DevicePosition): string {
  const key = at.kind === 'daa' ? `d:${at.key.firstHandshakeAt}:${hex(at.key.identity)}` : `c:${at.id}`;
  return Buffer.from(`d2:${tag}:${key}`).toString('base64url');
}

const CURSOR_RE = /^d2:([0-9a-f]{16}):(?:d:(0|[1-9][0-9]{0,15}):([0-9a-f]{32})|c:([1-9][0-9]{0,15}))$/;
/** Cursors of the list before keyset paging: an identity. Refused: start again from page one. */
const OLD_CURSOR_RE = /^d1:[0-9a-f]{32}$/;

/** The position a cursor names, if it was made for this filter and organization. */
export function decodeDeviceCursor(v: string | null, tag: string): DevicePosition | undefined {
  if (v === null) return undefined;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(v) ? Buffer.from(v, 'base64url').toString('utf8') : '';
  const m = CURSOR_RE.exec(text);
  if (!m && !OLD_CURSOR_RE.test(text))
    throw new ApiError('VALIDATION', 'cursor: not a cursor from this list', 'cursor');
  if (!m || m[1] !== tag) {
    throw new ApiError(
      'VALIDATION',
      'cursor: no longer matches this filter (made for other filters or by an older server); start from the first page',
      'cursor',
    );
  }
  if (m[4] !== undefined) return { kind: 'certificate', id: checkSafe(m[4]) };
  return {
    kind: 'daa',
    key: { firstHandshakeAt: checkSafe(m[2]!), identity: new Uint8Array(Buffer.from(m[3]!, 'hex')) },
  };
}

function checkSafe(digits: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n))
    throw new ApiError('VALIDATION', 'cursor: not a cursor from this list', 'cursor');
  return n;
}

/**
 * One page of `limit` devices after `after`, and the position to continue from (undefined on the
 * last page). `org`: the request's organization scope (router.ts orgOf).
 */
export async function devicePage(
  ctx: ApiContext,
  f: DeviceListFilter,
  org: number | undefined,
  limit: number,
  after: DevicePosition | undefined,
): Promise<{ items: DeviceListItem[]; next: DevicePosition | undefined }> {
  const wanted = limit + 1;
  const items: DeviceListItem[] = [];
  // A certificate cursor means the DAA devices are done.
  if (f.kind !== 'certificate' && after?.kind !== 'certificate') {
    const daa = await ctx.registry.listDevices(
      {
        ...(f.gid ? { gid: f.gid } : {}),
        ...(f.status ? { status: f.status } : {}),
        ...(f.since !== undefined ? { firstSince: f.since } : {}),
        ...(f.until !== undefined ? { firstUntil: f.until } : {}),
        ...(f.seenSince !== undefined ? { lastSince: f.seenSince } : {}),
        ...(after ? { after: after.key } : {}),
        limit: wanted,
      },
      org,
    );
    items.push(...daa.map((d) => ({ daa: d })));
  }
  if (f.kind !== 'daa' && items.length < wanted) {
    const certs = await ctx.registry.pki.listCertDevices({
      ...(f.caId !== undefined ? { caId: f.caId } : {}),
      ...(f.status ? { status: f.status } : {}),
      ...(org !== undefined ? { organizationId: org } : {}),
      ...(f.since !== undefined ? { firstSince: f.since } : {}),
      ...(f.until !== undefined ? { firstUntil: f.until } : {}),
      ...(f.seenSince !== undefined ? { lastSince: f.seenSince } : {}),
      ...(after?.kind === 'certificate' ? { afterId: after.id } : {}),
      limit: wanted - items.length,
    });
    items.push(...certs.map((d) => ({ cert: d })));
  }
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  const next: DevicePosition | undefined =
    items.length <= limit || !last
      ? undefined
      : last.daa
        ? { kind: 'daa', key: { firstHandshakeAt: last.daa.firstHandshakeAt, identity: last.daa.identity } }
        : { kind: 'certificate', id: last.cert.id };
  return { items: page, next };
}
