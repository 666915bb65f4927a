// Management API: devices and the audit. Lists page with an opaque cursor
// (base64url of the last item's key) and refuse unknown query parameters. A device is addressed by
// its identity: 32 hex digits or IPv6 text. Its history is the audit filtered by its pseudonym; its
// source addresses and geolocation come from that history. Certificate devices of the PKI option
// are listed and addressed the same way (kind 'certificate', their history by identity).
import type { CertDevice } from '../registry/pki-registry.ts';
import { DEVICE_STATUSES, AUDIT_OUTCOMES, type AuditFilter, type Device } from '../registry/registry.ts';
import { parseIpv6 } from '../registry/ipv6.ts';
import { enumParam, int, onlyKeys, onlyParams, readJsonObject, timeParam } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type Router } from './router.ts';
import { findBatch } from './routes-networks.ts';
import { orgNetworkIds } from './routes-pki.ts';
import { changeRecorded } from './routes-operator-audit.ts';
import { auditView, certDeviceListView, deviceView, sourcesView } from './views.ts';
import { decodeDeviceCursor, devicePage, encodeDeviceCursor, filterTag } from './device-list.ts';

const API = '/api/v1';
export const DEFAULT_PAGE = 100;
/** 'daa': provisioned by an XTT handshake in a batch; 'certificate': enrolled by a CA's certificate. */
export const DEVICE_KINDS = ['daa', 'certificate'] as const;
/** Audit rows: XTT handshakes or PKI enrollments. */
export const AUDIT_METHODS = ['xtt', 'pki'] as const;
export const MAX_PAGE = 1000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** a: the audit, o: the operator audit (by id). The device list's cursors: device-list.ts. */
export function encodeCursor(kind: 'a' | 'o', key: string): string {
  return Buffer.from(`${kind}1:${key}`).toString('base64url');
}

export function decodeCursor(kind: 'a' | 'o', v: string | null): string | undefined {
  if (v === null) return undefined;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(v) ? Buffer.from(v, 'base64url').toString('utf8') : '';
  const re = kind === 'a' ? /^a1:([0-9]{1,15})$/ : /^o1:([0-9]{1,15})$/;
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

// `org` everywhere below: the request's organization scope (router.ts orgOf). Certificate devices
// belong to the organization of their network (their CA's): another organization's never show.

/** A DAA device or a certificate device by identity. */
async function findAnyDevice(
  ctx: ApiContext,
  ref: string,
  org: number | undefined,
): Promise<{ daa: Device; cert?: undefined } | { daa?: undefined; cert: CertDevice }> {
  const identity = identityParam(ref);
  const daa = await ctx.registry.getDeviceByIdentity(identity, org);
  if (daa) return { daa };
  const cert = await ctx.registry.pki.getCertDeviceByIdentity(identity);
  const nets = await orgNetworkIds(ctx, org);
  if (cert && (!nets || nets.has(cert.networkId))) return { cert };
  throw new ApiError('NOT_FOUND', `device '${ref}' not found`, 'device');
}

async function caNames(ctx: ApiContext): Promise<Map<number, string>> {
  return new Map((await ctx.registry.pki.listCas()).map((c) => [c.id, c.name]));
}

async function findCaId(ctx: ApiContext, ref: string, org: number | undefined): Promise<number> {
  const ca = await ctx.registry.pki.findCa(ref, org);
  if (!ca) throw new ApiError('NOT_FOUND', `CA '${ref}' not found`, 'ca');
  return ca.id;
}

async function certDeviceDetail(ctx: ApiContext, d: CertDevice) {
  const history = await ctx.registry.queryAudit({ identity: d.identity, method: 'pki', limit: MAX_PAGE });
  return {
    ...certDeviceListView(d, await caNames(ctx)),
    sources: sourcesView(history),
    geolocation: history.find((e) => e.geolocation !== null)?.geolocation ?? null,
  };
}

async function anyDeviceDetail(ctx: ApiContext, ref: string, org: number | undefined) {
  const d = await findAnyDevice(ctx, ref, org);
  return d.daa ? deviceDetail(ctx, d.daa, org) : certDeviceDetail(ctx, d.cert);
}

/** The names of these devices' batches (a page holds few), by hex gid: not a count of every batch. */
async function batchNames(
  ctx: ApiContext,
  devices: readonly Device[],
  org: number | undefined,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const gid of new Set(devices.map((d) => hex(d.gid)))) {
    const b = await ctx.registry.getBatch(new Uint8Array(Buffer.from(gid, 'hex')), org);
    if (b) names.set(gid, b.name);
  }
  return names;
}

/** The organization a device's events go to: its batch's, or its CA network's. */
async function deviceOrg(
  ctx: ApiContext,
  d: { daa?: Device | undefined; cert?: CertDevice | undefined },
): Promise<number | undefined> {
  if (d.daa) return (await ctx.registry.getBatch(d.daa.gid))?.organizationId;
  return d.cert ? (await ctx.registry.getNetwork(d.cert.networkId))?.organizationId : undefined;
}

/** A device as the operator audit names it: its identity in hex, in its batch's (CA network's) organization. */
async function deviceObject(
  ctx: ApiContext,
  d: { daa?: Device | undefined; cert?: CertDevice | undefined },
  org: number | undefined,
) {
  const certOrg = d.cert ? (await ctx.registry.getNetwork(d.cert.networkId))?.organizationId : undefined;
  return {
    organizationId: org ?? certOrg ?? null,
    objectType: 'device' as const,
    objectId: hex(d.daa ? d.daa.identity : d.cert!.identity),
    objectName: null,
  };
}

function limitParam(q: URLSearchParams): number {
  const v = q.get('limit');
  return v === null ? DEFAULT_PAGE : int(v, 'limit', 1, MAX_PAGE);
}

async function deviceDetail(ctx: ApiContext, d: Device, org: number | undefined) {
  const history = await ctx.registry.queryAudit({ gid: d.gid, pseudonym: d.pseudonym, limit: MAX_PAGE }, org);
  return {
    ...deviceView(d, await batchNames(ctx, [d], org)),
    sources: sourcesView(history),
    geolocation: history.find((e) => e.geolocation !== null)?.geolocation ?? null,
  };
}

export function addDeviceRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/devices`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const { query } = r;
      const org = orgOf(r);
      onlyParams(query, ['kind', 'batch', 'ca', 'status', 'since', 'until', 'seenSince', 'limit', 'cursor']);
      let kind = enumParam(query, 'kind', DEVICE_KINDS);
      const status = enumParam(query, 'status', DEVICE_STATUSES);
      const since = timeParam(query, 'since');
      const until = timeParam(query, 'until');
      const seenSince = timeParam(query, 'seenSince');
      const limit = limitParam(query);
      const batchRef = query.get('batch');
      const caRef = query.get('ca');
      if (batchRef !== null && caRef !== null)
        throw new ApiError('VALIDATION', 'ca: a device has a batch or a CA, not both', 'ca');
      if (batchRef !== null && kind === 'certificate')
        throw new ApiError('VALIDATION', 'batch: certificate devices have no batch', 'batch');
      if (caRef !== null && kind === 'daa')
        throw new ApiError('VALIDATION', 'ca: DAA devices have no CA', 'ca');
      const gid = batchRef === null ? undefined : (await findBatch(ctx, batchRef, org)).gid;
      const caId = caRef === null ? undefined : await findCaId(ctx, caRef, org);
      if (gid) kind = 'daa';
      if (caId !== undefined) kind = 'certificate';
      const filter = { kind, gid, caId, status, since, until, seenSince };
      const tag = filterTag(filter, org);
      const after = decodeDeviceCursor(query.get('cursor'), tag);
      const { items, next } = await devicePage(ctx, filter, org, limit, after);
      const names = await batchNames(
        ctx,
        items.flatMap((x) => (x.daa ? [x.daa] : [])),
        org,
      );
      const cas = items.some((x) => x.cert) ? await caNames(ctx) : new Map<number, string>();
      return {
        status: 200,
        body: {
          items: items.map((x) => (x.daa ? deviceView(x.daa, names) : certDeviceListView(x.cert, cas))),
          nextCursor: next ? encodeDeviceCursor(tag, next) : null,
        },
      };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/devices/{device}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => ({ status: 200, body: await anyDeviceDetail(ctx, r.params.device!, orgOf(r)) }),
  });
  router.add({
    method: 'GET',
    path: `${API}/devices/{device}/history`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const { params, query } = r;
      onlyParams(query, ['limit', 'cursor']);
      const d = await findAnyDevice(ctx, params.device!, orgOf(r));
      const limit = limitParam(query);
      const before = decodeCursor('a', query.get('cursor'));
      return auditPage(
        ctx,
        {
          ...(d.daa
            ? { gid: d.daa.gid, pseudonym: d.daa.pseudonym }
            : { identity: d.cert.identity, method: 'pki' as const }),
          limit,
          ...(before ? { beforeId: Number(before) } : {}),
        },
        orgOf(r),
      );
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/devices/{device}/revoke`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const { params } = r;
      const d = await findAnyDevice(ctx, params.device!, orgOf(r));
      const org = await deviceOrg(ctx, d);
      await changeRecorded(
        ctx,
        r,
        async () => {
          if (d.daa) await ctx.registry.revokeDevice(d.daa.gid, d.daa.pseudonym, orgOf(r));
          else await ctx.registry.pki.revokeCertDevice(d.cert.id);
        },
        async () => ({ ...(await deviceObject(ctx, d, org)), action: 'device.revoke' }),
      );
      ctx.events.publish('device', { id: hex(identityParam(params.device!)), status: 'revoked' }, org);
      return { status: 200, body: await anyDeviceDetail(ctx, params.device!, orgOf(r)) };
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/devices/{device}/allow-rekey`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const { req, params } = r;
      const body = await readJsonObject(req);
      onlyKeys(body, ['allow']);
      if (typeof body.allow !== 'boolean')
        throw new ApiError('VALIDATION', 'allow: must be true or false', 'allow');
      const d = await findAnyDevice(ctx, params.device!, orgOf(r));
      const allow = body.allow;
      const org = await deviceOrg(ctx, d);
      await changeRecorded(
        ctx,
        r,
        async () => {
          if (d.daa) await ctx.registry.setAllowRekey(d.daa.gid, d.daa.pseudonym, allow, orgOf(r));
          else await ctx.registry.pki.setCertDeviceAllowRekey(d.cert.id, allow);
        },
        async () => ({
          ...(await deviceObject(ctx, d, org)),
          action: 'device.allow-rekey',
          detail: { allow },
        }),
      );
      ctx.events.publish('device', { id: hex(identityParam(params.device!)), allowRekey: body.allow }, org);
      return { status: 200, body: await anyDeviceDetail(ctx, params.device!, orgOf(r)) };
    },
  });

  router.add({
    method: 'GET',
    path: `${API}/audit`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const { query } = r;
      const org = orgOf(r);
      onlyParams(query, ['since', 'until', 'batch', 'outcome', 'method', 'device', 'limit', 'cursor']);
      const method = enumParam(query, 'method', AUDIT_METHODS);
      const since = timeParam(query, 'since');
      const until = timeParam(query, 'until');
      const outcome = enumParam(query, 'outcome', AUDIT_OUTCOMES);
      const limit = limitParam(query);
      const before = decodeCursor('a', query.get('cursor'));
      const batchRef = query.get('batch');
      const gid = batchRef === null ? undefined : (await findBatch(ctx, batchRef, org)).gid;
      const deviceRef = query.get('device');
      const device = deviceRef === null ? undefined : await findAnyDevice(ctx, deviceRef, org);
      return auditPage(
        ctx,
        {
          limit,
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(outcome ? { outcome } : {}),
          ...(gid ? { gid } : {}),
          ...(method ? { method } : {}),
          ...(device?.daa ? { gid: device.daa.gid, pseudonym: device.daa.pseudonym } : {}),
          ...(device?.cert ? { identity: device.cert.identity, method: 'pki' as const } : {}),
          ...(before ? { beforeId: Number(before) } : {}),
        },
        org,
      );
    },
  });
}

async function auditPage(ctx: ApiContext, f: AuditFilter & { limit: number }, org: number | undefined) {
  // One extra row says whether another page exists.
  const rows = await ctx.registry.queryAudit({ ...f, limit: f.limit + 1 }, org);
  const page = rows.slice(0, f.limit);
  return {
    status: 200,
    body: {
      items: page.map(auditView),
      nextCursor: rows.length > f.limit ? encodeCursor('a', String(page[page.length - 1]!.id)) : null,
    },
  };
}
