// Management API: devices and the audit (issue 7 "HTTP API"). Lists page with an opaque cursor
// (base64url of the last item's key) and refuse unknown query parameters. A device is addressed by
// its identity: 32 hex digits or IPv6 text. Its history is the audit filtered by its pseudonym; its
// source addresses and geolocation come from that history.
import { DEVICE_STATUSES, AUDIT_OUTCOMES, type AuditFilter, type Device } from '../registry/registry.ts';
import { parseIpv6 } from '../registry/ipv6.ts';
import { enumParam, int, onlyKeys, onlyParams, readJsonObject, timeParam } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import type { Router } from './router.ts';
import { findBatch } from './routes-networks.ts';
import { auditView, deviceView, sourcesView } from './views.ts';

const API = '/api/v1';
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function encodeCursor(kind: 'd' | 'a', key: string): string {
  return Buffer.from(`${kind}1:${key}`).toString('base64url');
}

export function decodeCursor(kind: 'd' | 'a', v: string | null): string | undefined {
  if (v === null) return undefined;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(v) ? Buffer.from(v, 'base64url').toString('utf8') : '';
  const re = kind === 'd' ? /^d1:([0-9a-f]{32})$/ : /^a1:([0-9]{1,15})$/;
  const m = re.exec(text);
  if (!m) throw new ApiError('VALIDATION', 'cursor: not a cursor from this list', 'cursor');
  return m[1]!;
}

function identityParam(v: string): Uint8Array {
  if (/^[0-9a-fA-F]{32}$/.test(v)) return new Uint8Array(Buffer.from(v, 'hex'));
  try {
    return parseIpv6(v, 'device');
  } catch (cause) {
    throw new ApiError('VALIDATION', 'device: an identity as 32 hex digits or IPv6 text', 'device', {
      cause,
    });
  }
}

async function findDevice(ctx: ApiContext, ref: string): Promise<Device> {
  const d = await ctx.registry.getDeviceByIdentity(identityParam(ref));
  if (!d) throw new ApiError('NOT_FOUND', `device '${ref}' not found`, 'device');
  return d;
}

async function batchNames(ctx: ApiContext): Promise<Map<string, string>> {
  return new Map((await ctx.registry.listBatches()).map((b) => [hex(b.gid), b.name]));
}

function limitParam(q: URLSearchParams): number {
  const v = q.get('limit');
  return v === null ? DEFAULT_PAGE : int(v, 'limit', 1, MAX_PAGE);
}

async function deviceDetail(ctx: ApiContext, d: Device) {
  const history = await ctx.registry.queryAudit({ gid: d.gid, pseudonym: d.pseudonym, limit: MAX_PAGE });
  return {
    ...deviceView(d, await batchNames(ctx)),
    sources: sourcesView(history),
    geolocation: history.find((e) => e.geolocation !== null)?.geolocation ?? null,
  };
}

export function addDeviceRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/devices`,
    isAuthenticated: true,
    handler: async ({ query }) => {
      onlyParams(query, ['batch', 'status', 'since', 'until', 'seenSince', 'limit', 'cursor']);
      const status = enumParam(query, 'status', DEVICE_STATUSES);
      const since = timeParam(query, 'since');
      const until = timeParam(query, 'until');
      const seenSince = timeParam(query, 'seenSince');
      const limit = limitParam(query);
      const after = decodeCursor('d', query.get('cursor'));
      const batchRef = query.get('batch');
      const gid = batchRef === null ? undefined : (await findBatch(ctx, batchRef)).gid;
      const all = (
        await ctx.registry.listDevices({ ...(gid ? { gid } : {}), ...(status ? { status } : {}) })
      ).filter(
        (d) =>
          (since === undefined || d.firstHandshakeAt >= since) &&
          (until === undefined || d.firstHandshakeAt < until) &&
          (seenSince === undefined || d.lastHandshakeAt >= seenSince),
      );
      let start = 0;
      if (after !== undefined) {
        const i = all.findIndex((d) => hex(d.identity) === after);
        if (i < 0) throw new ApiError('VALIDATION', 'cursor: no longer matches this filter', 'cursor');
        start = i + 1;
      }
      const page = all.slice(start, start + limit);
      const names = await batchNames(ctx);
      const isMore = start + limit < all.length;
      return {
        status: 200,
        body: {
          items: page.map((d) => deviceView(d, names)),
          nextCursor: isMore ? encodeCursor('d', hex(page[page.length - 1]!.identity)) : null,
        },
      };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/devices/{device}`,
    isAuthenticated: true,
    handler: async ({ params }) => ({
      status: 200,
      body: await deviceDetail(ctx, await findDevice(ctx, params.device!)),
    }),
  });
  router.add({
    method: 'GET',
    path: `${API}/devices/{device}/history`,
    isAuthenticated: true,
    handler: async ({ params, query }) => {
      onlyParams(query, ['limit', 'cursor']);
      const d = await findDevice(ctx, params.device!);
      const limit = limitParam(query);
      const before = decodeCursor('a', query.get('cursor'));
      return auditPage(ctx, {
        gid: d.gid,
        pseudonym: d.pseudonym,
        limit,
        ...(before ? { beforeId: Number(before) } : {}),
      });
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/devices/{device}/revoke`,
    isAuthenticated: true,
    handler: async ({ params }) => {
      const d = await findDevice(ctx, params.device!);
      await ctx.registry.revokeDevice(d.gid, d.pseudonym);
      ctx.events.publish('device', { id: hex(d.identity), status: 'revoked' });
      return { status: 200, body: await deviceDetail(ctx, await findDevice(ctx, params.device!)) };
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/devices/{device}/allow-rekey`,
    isAuthenticated: true,
    handler: async ({ req, params }) => {
      const body = await readJsonObject(req);
      onlyKeys(body, ['allow']);
      if (typeof body.allow !== 'boolean')
        throw new ApiError('VALIDATION', 'allow: must be true or false', 'allow');
      const d = await findDevice(ctx, params.device!);
      await ctx.registry.setAllowRekey(d.gid, d.pseudonym, body.allow);
      ctx.events.publish('device', { id: hex(d.identity), allowRekey: body.allow });
      return { status: 200, body: await deviceDetail(ctx, await findDevice(ctx, params.device!)) };
    },
  });

  router.add({
    method: 'GET',
    path: `${API}/audit`,
    isAuthenticated: true,
    handler: async ({ query }) => {
      onlyParams(query, ['since', 'until', 'batch', 'outcome', 'device', 'limit', 'cursor']);
      const since = timeParam(query, 'since');
      const until = timeParam(query, 'until');
      const outcome = enumParam(query, 'outcome', AUDIT_OUTCOMES);
      const limit = limitParam(query);
      const before = decodeCursor('a', query.get('cursor'));
      const batchRef = query.get('batch');
      const gid = batchRef === null ? undefined : (await findBatch(ctx, batchRef)).gid;
      const deviceRef = query.get('device');
      const device = deviceRef === null ? undefined : await findDevice(ctx, deviceRef);
      return auditPage(ctx, {
        limit,
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(outcome ? { outcome } : {}),
        ...(gid ? { gid } : {}),
        ...(device ? { gid: device.gid, pseudonym: device.pseudonym } : {}),
        ...(before ? { beforeId: Number(before) } : {}),
      });
    },
  });
}

async function auditPage(ctx: ApiContext, f: AuditFilter & { limit: number }) {
  // One extra row says whether another page exists.
  const rows = await ctx.registry.queryAudit({ ...f, limit: f.limit + 1 });
  const page = rows.slice(0, f.limit);
  return {
    status: 200,
    body: {
      items: page.map(auditView),
      nextCursor: rows.length > f.limit ? encodeCursor('a', String(page[page.length - 1]!.id)) : null,
    },
  };
}
