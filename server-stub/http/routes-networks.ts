// Management API: networks and batches. Batches are registered from the GPK
// bytes (base64), from the text of the box's QR label (protocol/qr-payload.ts), or from a photo or
// scan of the label, PNG or JPEG, measured from its header, then decoded in a worker (../labels/qr-scan.ts:
// pngjs or jpeg-js, then jsQR).
// Every input is checked before the registry is called, so a refused request changes nothing.

import { checkGpk, labelFromText, type ImageFormat } from '../labels/gpk-input.ts';
import { scanQrImageOffThread } from '../labels/qr-scan.ts';
import type { Network, NewBatch, Batch } from '../registry/registry.ts';
import { ValidationError } from '../registry/errors.ts';
import { checkName } from '../registry/validate.ts';
import {
  base64Bytes,
  int,
  MAX_IMAGE_BYTES,
  onlyKeys,
  onlyParams,
  readBody,
  readJsonObject,
  requireMediaType,
  str,
} from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type RequestContext, type Router } from './router.ts';
import { changeRecorded } from './routes-operator-audit.ts';
import { batchView, networkView } from './views.ts';

const API = '/api/v1';
/** Label photos and scans: what phone cameras and scanners write. */
export const LABEL_IMAGE_TYPES = ['image/png', 'image/jpeg'] as const;
const imageFormat = (mediaType: string): ImageFormat => (mediaType === 'image/jpeg' ? 'jpeg' : 'png');

// `org` everywhere below: the request's organization scope (router.ts orgOf); another
// organization's networks and batches are not found, as if they did not exist.
async function networkMap(ctx: ApiContext, org: number | undefined): Promise<Map<number, Network>> {
  return new Map((await ctx.registry.listNetworks(org)).map((n) => [n.id, n]));
}

/** "12" is an id, anything else a name (names may not be all digits). */
export function networkRef(v: unknown, field: string): string | number {
  if (typeof v === 'number') return int(v, field, 1, Number.MAX_SAFE_INTEGER);
  if (typeof v !== 'string' || v.length === 0)
    throw new ApiError('VALIDATION', `${field}: network name or id`, field);
  return /^[0-9]+$/.test(v) ? int(v, field, 1, Number.MAX_SAFE_INTEGER) : v;
}

async function findNetwork(ctx: ApiContext, ref: string, org: number | undefined): Promise<Network> {
  const n = await ctx.registry.getNetwork(networkRef(ref, 'network'), org);
  if (!n) throw new ApiError('NOT_FOUND', `network '${ref}' not found`, 'network');
  return n;
}

export async function findBatch(
  ctx: ApiContext,
  ref: string,
  org: number | undefined,
  field = 'batch',
): Promise<Batch> {
  const b = await ctx.registry.findBatch(ref, org).catch((err: unknown) => {
    if (!(err instanceof ValidationError)) throw err;
    throw new ApiError('VALIDATION', `${field}: not a batch name or hex gid`, field, { cause: err });
  });
  if (!b) throw new ApiError('NOT_FOUND', `batch '${ref}' not found`, field);
  return b;
}

async function batchSummary(ctx: ApiContext, gid: Uint8Array, org: number | undefined) {
  const hex = Buffer.from(gid).toString('hex');
  const all = await ctx.registry.listBatches(org);
  const b = all.find((x) => Buffer.from(x.gid).toString('hex') === hex);
  if (!b) throw new ApiError('NOT_FOUND', 'batch not found', 'batch');
  return batchView(b, await networkMap(ctx, org));
}

/** Size, network and optional name shared by the three ways to register a batch. */
function batchOptions(get: (k: string) => unknown, label: { name: string } | undefined) {
  const size = int(get('size'), 'size', 1, 100_000_000);
  const network =
    get('network') === undefined || get('network') === '' ? undefined : networkRef(get('network'), 'network');
  const rawName = get('name');
  const name = rawName === undefined || rawName === '' ? label?.name : rawName;
  if (typeof name !== 'string') throw new ApiError('VALIDATION', 'name: required', 'name');
  checkName(name, 'name');
  return { size, name, ...(network !== undefined ? { network } : {}) };
}

const batchObject = (b: Batch) => ({
  organizationId: b.organizationId,
  objectType: 'batch' as const,
  objectId: Buffer.from(b.gid).toString('hex'),
  objectName: b.name,
});

async function addBatch(ctx: ApiContext, input: NewBatch, r: RequestContext) {
  const org = orgOf(r);
  if (input.network !== undefined && !(await ctx.registry.getNetwork(input.network, org))) {
    throw new ApiError('VALIDATION', `network: no network '${input.network}'`, 'network');
  }
  const b = await changeRecorded(
    ctx,
    r,
    () => ctx.registry.addBatch(input, org),
    (added) => ({
      ...batchObject(added),
      action: 'batch.add',
      detail: { size: added.size, network: input.network ?? null },
    }),
  );
  ctx.events.publish('batch', { gid: Buffer.from(b.gid).toString('hex'), name: b.name }, b.organizationId);
  return { status: 201, body: await batchSummary(ctx, b.gid, org) };
}

const networkObject = (n: Network) => ({
  organizationId: n.organizationId,
  objectType: 'network' as const,
  objectId: String(n.id),
  objectName: n.name,
});

export function addNetworkRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/networks`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      onlyParams(r.query, []);
      return { status: 200, body: { items: (await ctx.registry.listNetworks(orgOf(r))).map(networkView) } };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/networks`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['name', 'prefix']);
      const name = checkName(str(body, 'name', true), 'name');
      const prefix = str(body, 'prefix', true);
      const n = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.addNetwork({ name, prefix }, orgOf(r)),
        (added) => ({
          ...networkObject(added),
          action: 'network.add',
          detail: { prefix: networkView(added).prefix },
        }),
      );
      return { status: 201, body: networkView(n) };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/networks/{network}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => ({
      status: 200,
      body: networkView(await findNetwork(ctx, r.params.network!, orgOf(r))),
    }),
  });
  router.add({
    method: 'DELETE',
    path: `${API}/networks/{network}`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const n = await findNetwork(ctx, r.params.network!, orgOf(r));
      const isUsed = (await ctx.registry.listBatches(n.organizationId)).some((b) => b.networkId === n.id);
      if (isUsed) throw new ApiError('CONFLICT', `network '${n.name}' still has batches`, 'network');
      const deleted = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.deleteNetwork(n.id, orgOf(r)),
        (gone) => ({ ...networkObject(gone), action: 'network.delete' }),
      );
      return { status: 200, body: networkView(deleted) };
    },
  });

  router.add({
    method: 'GET',
    path: `${API}/batches`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      onlyParams(r.query, []);
      const nets = await networkMap(ctx, orgOf(r));
      return {
        status: 200,
        body: { items: (await ctx.registry.listBatches(orgOf(r))).map((b) => batchView(b, nets)) },
      };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/batches`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['gpk', 'basename', 'qr', 'name', 'size', 'network']);
      if ((body.qr === undefined) === (body.gpk === undefined)) {
        throw new ApiError('VALIDATION', 'qr: give either qr (label text) or gpk and basename', 'qr');
      }
      if (body.qr !== undefined) {
        if (body.basename !== undefined)
          throw new ApiError('VALIDATION', 'basename: comes from the QR label', 'basename');
        const label = labelFromText(str(body, 'qr', true));
        const opts = batchOptions((k) => body[k], label);
        return addBatch(ctx, { gpk: label.gpk, basename: label.basename, ...opts }, r);
      }
      const gpk = checkGpk(base64Bytes(body.gpk, 'gpk'), 'gpk');
      const basename = base64Bytes(body.basename, 'basename');
      return addBatch(ctx, { gpk, basename, ...batchOptions((k) => body[k], undefined) }, r);
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/batches/from-image`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const { req, query } = r;
      onlyParams(query, ['size', 'network', 'name']);
      const format = imageFormat(requireMediaType(req, LABEL_IMAGE_TYPES));
      const label = labelFromText(
        await scanQrImageOffThread(await readBody(req, MAX_IMAGE_BYTES), 'label', format),
      );
      const opts = batchOptions((k) => query.get(k) ?? undefined, label);
      return addBatch(ctx, { gpk: label.gpk, basename: label.basename, ...opts }, r);
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/labels/scan`,
    isAuthenticated: true,
    // Reads a label to register its batch: part of the operator's work, changes nothing.
    role: 'operator',
    handler: async ({ req, query }) => {
      onlyParams(query, []);
      const format = imageFormat(requireMediaType(req, LABEL_IMAGE_TYPES));
      const qr = await scanQrImageOffThread(await readBody(req, MAX_IMAGE_BYTES), 'label', format);
      const label = labelFromText(qr);
      return {
        status: 200,
        body: {
          qr: qr.trim(),
          name: label.name,
          basename: Buffer.from(label.basename).toString('base64'),
          gpk: Buffer.from(label.gpk).toString('base64'),
        },
      };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/batches/{batch}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => ({
      status: 200,
      body: await batchSummary(ctx, (await findBatch(ctx, r.params.batch!, orgOf(r))).gid, orgOf(r)),
    }),
  });
  router.add({
    method: 'PUT',
    path: `${API}/batches/{batch}/network`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['network']);
      const ref = networkRef(body.network, 'network');
      const b = await findBatch(ctx, r.params.batch!, orgOf(r));
      if (!(await ctx.registry.getNetwork(ref, b.organizationId)))
        throw new ApiError('VALIDATION', `network: no network '${ref}'`, 'network');
      await changeRecorded(
        ctx,
        r,
        () => ctx.registry.setBatchNetwork(b.gid, ref, orgOf(r)),
        (updated) => ({
          ...batchObject(b),
          action: 'batch.assign',
          detail: { networkId: updated.networkId },
        }),
      );
      return { status: 200, body: await batchSummary(ctx, b.gid, orgOf(r)) };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/batches/{batch}/revoke`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const b = await findBatch(ctx, r.params.batch!, orgOf(r));
      await changeRecorded(
        ctx,
        r,
        () => ctx.registry.revokeBatch(b.gid, orgOf(r)),
        () => ({ ...batchObject(b), action: 'batch.revoke' }),
      );
      ctx.events.publish(
        'batch',
        { gid: Buffer.from(b.gid).toString('hex'), name: b.name, status: 'revoked' },
        b.organizationId,
      );
      return { status: 200, body: await batchSummary(ctx, b.gid, orgOf(r)) };
    },
  });
}
