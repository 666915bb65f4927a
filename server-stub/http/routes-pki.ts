// Management API: the PKI option's enrollment groups (server-stub/README.md, "PKI enrollment"). An
// operator registers a CA certificate (root or intermediate, PEM or base64 DER) with one network,
// proving possession of the CA key as AWS IoT verification certificates do: the registration code
// (protocol/pki/ca-verification.ts) is the CN of a certificate the CA signs; `unverified: true`
// registers without that proof, as `enf-server ca add --unverified`. CRLs the CA signed are uploaded
// the same way. Every input is parsed and checked before the registry is called, so a refused
// request changes nothing; errors name the member that was wrong.
import { checkVerificationCertificate, registrationCode } from '../../protocol/pki/ca-verification.ts';
import { parseCertificate, pemToDerList, type Certificate } from '../../protocol/pki/certificate.ts';
import { checkCrlIssuedBy, CrlError, parseCrl } from '../../protocol/pki/crl.ts';
import type { CaRecord, CaSummary } from '../registry/pki-registry.ts';
import { checkName } from '../registry/validate.ts';
import { base64Bytes, int, onlyKeys, onlyParams, readJsonObject, str } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type Router } from './router.ts';
import { changeRecorded, type RecordedAction } from './routes-operator-audit.ts';
import { networkRef } from './routes-networks.ts';
import { caView } from './views.ts';

// A CA belongs to the organization of its network: an organization's token sees and changes only
// its own CAs (another's answer 404 as if absent); reading takes viewer, changing operator. CA names
// are unique per organization, so another organization's CA of the same name neither conflicts nor
// shows; a name in a path resolves in the token's organization (a server-wide token's: the default).
const API = '/api/v1';

/** A PEM block with `label`, or base64 DER: the bytes of one certificate or CRL. */
function derMember(body: Record<string, unknown>, key: string, label: string): Uint8Array {
  const text = str(body, key, true);
  if (text.includes('-----BEGIN')) {
    let der: Uint8Array | undefined;
    try {
      der = pemToDerList(text, label)[0];
    } catch (cause) {
      throw new ApiError('VALIDATION', `${key}: not valid PEM`, key, { cause });
    }
    if (!der) throw new ApiError('VALIDATION', `${key}: holds no PEM ${label}`, key);
    return der;
  }
  return base64Bytes(text.replace(/\s+/g, ''), key);
}

function certMember(body: Record<string, unknown>, key: string, what: string): Certificate {
  const der = derMember(body, key, 'CERTIFICATE');
  try {
    return parseCertificate(der);
  } catch (cause) {
    throw new ApiError('VALIDATION', `${key}: not an X.509 ${what} certificate`, key, { cause });
  }
}

/** The deployment's identity registration codes are bound to (the server certificate). */
function verificationIdentity(ctx: ApiContext): Uint8Array {
  if (!ctx.caVerificationIdentity) {
    throw new ApiError('NOT_IMPLEMENTED', 'this server has no identity for CA registration codes');
  }
  return ctx.caVerificationIdentity;
}

/** The ids of an organization's networks; undefined (every network) for a server-wide token. */
export async function orgNetworkIds(
  ctx: ApiContext,
  org: number | undefined,
): Promise<Set<number> | undefined> {
  return org === undefined ? undefined : new Set((await ctx.registry.listNetworks(org)).map((n) => n.id));
}

/** The CAs the request may see, with their counts. */
async function visibleCas(ctx: ApiContext, org: number | undefined): Promise<CaSummary[]> {
  return ctx.registry.pki.listCas(org);
}

/** A CA by id, name or fingerprint, with its counts; another organization's is not found. */
async function findCa(ctx: ApiContext, ref: string, org: number | undefined): Promise<CaSummary> {
  const rec = await ctx.registry.pki.findCa(ref, org);
  const ca = rec && (await visibleCas(ctx, org)).find((c) => c.id === rec.id);
  if (!ca) throw new ApiError('NOT_FOUND', `CA '${ref}' not found`, 'ca');
  return ca;
}

/** The organization a CA's events go to: its network's. */
async function caOrg(ctx: ApiContext, rec: CaRecord): Promise<number | undefined> {
  return (await ctx.registry.getNetwork(rec.networkId))?.organizationId;
}

/** A CA change as the operator audit names it, in the organization of the CA's network. */
async function caAction(
  ctx: ApiContext,
  rec: CaRecord,
  action: string,
  detail?: Record<string, unknown>,
): Promise<RecordedAction> {
  const net = await ctx.registry.getNetwork(rec.networkId);
  return {
    organizationId: net?.organizationId ?? null,
    objectType: 'ca',
    objectId: String(rec.id),
    objectName: rec.name,
    action,
    ...(detail ? { detail } : {}),
  };
}

async function summary(ctx: ApiContext, rec: CaRecord) {
  return caView((await ctx.registry.pki.listCas()).find((c) => c.id === rec.id) ?? rec);
}

export function addPkiRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/cas`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      onlyParams(r.query, []);
      return { status: 200, body: { items: (await visibleCas(ctx, orgOf(r))).map(caView) } };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/cas/registration-code`,
    isAuthenticated: true,
    role: 'operator',
    handler: async ({ req }) => {
      const body = await readJsonObject(req);
      onlyKeys(body, ['certificate']);
      const ca = certMember(body, 'certificate', 'CA');
      const code = registrationCode(verificationIdentity(ctx), ca.fingerprint);
      return { status: 200, body: { registrationCode: code, fingerprint: ca.fingerprint } };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/cas`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, [
        'certificate',
        'network',
        'name',
        'maxDevices',
        'verificationCertificate',
        'unverified',
      ]);
      const ca = certMember(body, 'certificate', 'CA');
      if (!ca.isCa) {
        throw new ApiError(
          'VALIDATION',
          `certificate: ${ca.subject} is not a CA certificate (basicConstraints cA)`,
          'certificate',
        );
      }
      const network = networkRef(body.network, 'network');
      const maxDevices =
        body.maxDevices === undefined || body.maxDevices === null
          ? null
          : int(body.maxDevices, 'maxDevices', 1, Number.MAX_SAFE_INTEGER);
      if (body.unverified !== undefined && typeof body.unverified !== 'boolean') {
        throw new ApiError('VALIDATION', 'unverified: must be true or false', 'unverified');
      }
      const isUnverified = body.unverified === true;
      const hasProof = body.verificationCertificate !== undefined && body.verificationCertificate !== null;
      if (hasProof === isUnverified) {
        throw new ApiError(
          'VALIDATION',
          'verificationCertificate: give a certificate the CA issued for the registration code, or unverified: true',
          'verificationCertificate',
        );
      }
      if (hasProof) {
        const v = certMember(body, 'verificationCertificate', 'verification');
        const code = registrationCode(verificationIdentity(ctx), ca.fingerprint);
        const why = checkVerificationCertificate(ca, v, code, Date.now());
        if (why) {
          throw new ApiError(
            'VALIDATION',
            `verificationCertificate: does not prove the CA key: ${why}`,
            'verificationCertificate',
          );
        }
      }
      const rawName = str(body, 'name', false);
      const name = rawName ?? /(?:^|\n)CN=([^\n]*)/.exec(ca.subject)?.[1];
      if (name === undefined)
        throw new ApiError('VALIDATION', 'name: required (the CA subject has no CN)', 'name');
      checkName(name, 'name');
      const net = await ctx.registry.getNetwork(network, orgOf(r));
      if (!net) throw new ApiError('VALIDATION', `network: no network '${network}'`, 'network');
      const rec = await changeRecorded(
        ctx,
        r,
        async () => {
          const added = await ctx.registry.pki.addCa(
            { der: ca.der, name, network: net.id, maxDevices },
            orgOf(r),
          );
          return hasProof ? ctx.registry.pki.markCaVerified(added.id) : added;
        },
        (added) =>
          caAction(ctx, added, 'ca.add', { verified: hasProof, networkId: added.networkId, maxDevices }),
      );
      ctx.events.publish('ca', { id: rec.id, name: rec.name, status: rec.status }, await caOrg(ctx, rec));
      return { status: 201, body: await summary(ctx, rec) };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/cas/{ca}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => ({ status: 200, body: caView(await findCa(ctx, r.params.ca!, orgOf(r))) }),
  });
  router.add({
    method: 'POST',
    path: `${API}/cas/{ca}/revoke`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const ca = await findCa(ctx, r.params.ca!, orgOf(r));
      const rec = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.pki.revokeCa(ca.id),
        (revoked) => caAction(ctx, revoked, 'ca.revoke'),
      );
      ctx.events.publish('ca', { id: rec.id, name: rec.name, status: rec.status }, await caOrg(ctx, rec));
      return { status: 200, body: await summary(ctx, rec) };
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/cas/{ca}/crl`,
    isAuthenticated: true,
    role: 'operator',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['crl']);
      const der = derMember(body, 'crl', 'X509 CRL');
      const ca = await findCa(ctx, r.params.ca!, orgOf(r));
      let crl;
      try {
        crl = parseCrl(der);
        checkCrlIssuedBy(crl, parseCertificate(ca.der));
      } catch (cause) {
        const why = cause instanceof CrlError ? cause.message : `not a CRL: ${(cause as Error).message}`;
        throw new ApiError('VALIDATION', `crl: ${why}`, 'crl', { cause });
      }
      const res = await changeRecorded(
        ctx,
        r,
        () =>
          ctx.registry.pki.putCrl(ca.id, {
            der: crl.der,
            thisUpdate: crl.thisUpdate,
            nextUpdate: crl.nextUpdate ?? null,
            serials: [...crl.revokedSerials],
          }),
        (stored) => caAction(ctx, ca, 'ca.crl', { entries: stored.entries, replaced: stored.replaced }),
      );
      return {
        status: 200,
        body: {
          replaced: res.replaced,
          entries: res.entries,
          thisUpdate: new Date(crl.thisUpdate).toISOString(),
          ca: await summary(ctx, ca),
        },
      };
    },
  });
}
