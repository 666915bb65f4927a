// What a device TPM holds, and what that means for provisioning (`inspect` and the
// completion check of `provision`). Reads the persisted ECDAA key (0x81800000) and the reference NV
// objects (tpm/nv-layout.ts; traces README "NV index definition"), then classifies the device:
//
//   empty        no key, none of our NV indices defined
//   partial      the credential (written last) is absent: an interrupted provisioning, resumable
//   provisioned  key + every object written with the reference sizes, and the credential verifies
//                against the GPK for the key's public point (protocol/ecdaa verifyCredential). A TPM
//                provisioned by the reference tools has no credential signature (0x1410002): its
//                credential is checked with the two pairing equations only, which cannot show that
//                it belongs to this key; `credentialBoundToKey` says which check ran.
//   broken       the credential is written but something it depends on is missing or it does not verify
//   foreign      an object at our handles that this layout never makes (other NV attributes, a key
//                that is not ECDAA on BN_P256 with template T2)
//
// The write order of provision.ts (basename, gpk, root certificate, credential signature, credential)
// makes "credential written" the completion marker, so `partial` never looks like `provisioned`.
import {
  CREDENTIAL_LENGTH,
  CREDENTIAL_SIGNATURE_LENGTH,
  GPK_LENGTH,
  decodeCredential,
  decodeCredentialSignature,
  decodeG1,
  decodeGroupPublicKey,
  finalExponentiate,
  GT,
  groupId,
  multiMillerLoop,
  P2_LINES,
  prepareG2,
  verifyCredential,
  type Credential,
  type GroupPublicKey,
} from '../protocol/ecdaa/index.ts';
import { equalBytes, toHex } from '../protocol/util/bytes.ts';
import { ROOT_CERTIFICATE_LENGTH } from '../protocol/xtt/constants.ts';
import { TPMA_NV } from '../tpm/constants.ts';
import { readEcdaaKey } from '../tpm/ecdaa-key.ts';
import { tryNvReadPublic, tryReadPublic } from '../tpm/handles.ts';
import { NV_ATTRIBUTES, NV_INDEX, XTPM_ECDAA_KEY_HANDLE, readNvObject } from '../tpm/nv-layout.ts';
import { encodePublic } from '../tpm/marshal.ts';
import { TEMPLATE_T2_ECDAA } from '../tpm/templates.ts';
import type { Tpm } from '../tpm/tpm.ts';

/** The objects provisioning writes, in write order; the credential last is the completion marker. */
export const PROVISIONED_OBJECTS = [
  'basename',
  'gpk',
  'rootXttCert',
  'credentialSignature',
  'credential',
] as const;
export type ProvisionedObject = (typeof PROVISIONED_OBJECTS)[number];

/** Fixed sizes of the reference formats (the basename's size is the batch's). */
export const OBJECT_SIZES: Record<Exclude<ProvisionedObject, 'basename'>, number> = {
  gpk: GPK_LENGTH,
  rootXttCert: ROOT_CERTIFICATE_LENGTH,
  credentialSignature: CREDENTIAL_SIGNATURE_LENGTH,
  credential: CREDENTIAL_LENGTH,
};

export interface NvObjectState {
  readonly index: number;
  readonly defined: boolean;
  readonly size: number;
  readonly attributes: number;
  readonly written: boolean;
  /** Attributes (ignoring TPMA_NV_WRITTEN) equal the reference's 0x00060006. */
  readonly referenceAttributes: boolean;
  /** Contents, when written with the reference attributes (readable with index auth). */
  readonly data: Uint8Array | undefined;
}

export interface TpmInventory {
  readonly key: { present: boolean; publicKey: Uint8Array | undefined; problem: string | undefined };
  readonly nv: Record<ProvisionedObject, NvObjectState>;
}

export type DeviceStateKind = 'empty' | 'partial' | 'provisioned' | 'broken' | 'foreign';

export interface DeviceAssessment {
  readonly state: DeviceStateKind;
  /** SHA-256(gpk ‖ basename) of the NV contents, when both are written. */
  readonly gid: string | undefined;
  readonly rootId: string | undefined;
  /** null when there is nothing to verify yet. */
  readonly credentialVerifies: boolean | null;
  /** The check included the issuer's proof binding the credential to this key (needs 0x1410002). */
  readonly credentialBoundToKey: boolean;
  readonly problems: readonly string[];
}

export const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

export async function readInventory(tpm: Tpm): Promise<TpmInventory> {
  let key: TpmInventory['key'] = { present: false, publicKey: undefined, problem: undefined };
  if (await tryReadPublic(tpm, XTPM_ECDAA_KEY_HANDLE)) {
    try {
      const info = await readEcdaaKey(tpm);
      // Same template as the reference key (T2), apart from the TPM-chosen point: a key made with other
      // attributes or scheme is not ours, even on BN_P256.
      const empty = new Uint8Array(0);
      const template = encodePublic({ ...info.outPublic, unique: { x: empty, y: empty } });
      key = equalBytes(template, encodePublic(TEMPLATE_T2_ECDAA))
        ? { present: true, publicKey: info.publicKey, problem: undefined }
        : {
            present: true,
            publicKey: undefined,
            problem: 'an ECDAA key with another template than the reference T2',
          };
    } catch (err) {
      key = {
        present: true,
        publicKey: undefined,
        problem: err instanceof Error ? err.message : String(err),
      };
    }
  }
  const nv = {} as Record<ProvisionedObject, NvObjectState>;
  for (const name of PROVISIONED_OBJECTS) {
    const index = NV_INDEX[name];
    const pub = await tryNvReadPublic(tpm, index);
    if (!pub) {
      nv[name] = {
        index,
        defined: false,
        size: 0,
        attributes: 0,
        written: false,
        referenceAttributes: false,
        data: undefined,
      };
      continue;
    }
    const { attributes, dataSize } = pub.nvPublic;
    const written = (attributes & TPMA_NV.TPMA_NV_WRITTEN) !== 0;
    const referenceAttributes = (attributes & ~TPMA_NV.TPMA_NV_WRITTEN) >>> 0 === NV_ATTRIBUTES;
    const data = written && referenceAttributes ? await readNvObject(tpm, index) : undefined;
    nv[name] = { index, defined: true, size: dataSize, attributes, written, referenceAttributes, data };
  }
  return { key, nv };
}

function expectedSize(name: ProvisionedObject): number | undefined {
  return name === 'basename' ? undefined : OBJECT_SIZES[name];
}

/**
 * The pairing half of verifyCredential, for a credential stored without its signature (reference
 * layout): e(A, Y) = e(B, P2) and e(C, P2) = e(A + D, X). Adapter over protocol/ecdaa's pairing API.
 */
export function credentialMatchesGroup(cred: Credential, gpk: GroupPublicKey): boolean {
  const { A, B, C, D } = cred;
  if (A.is0() || B.is0() || C.is0() || D.is0() || gpk.X.is0() || gpk.Y.is0()) return false;
  const isOne = (terms: Parameters<typeof multiMillerLoop>[0]): boolean =>
    GT.eql(finalExponentiate(multiMillerLoop(terms)), GT.ONE);
  return (
    isOne([
      [A, prepareG2(gpk.Y)],
      [B.negate(), P2_LINES],
    ]) &&
    isOne([
      [C, P2_LINES],
      [A.add(D).negate(), prepareG2(gpk.X)],
    ])
  );
}

export function assessInventory(inv: TpmInventory): DeviceAssessment {
  const problems: string[] = [];
  let foreign = false;
  if (inv.key.problem) {
    foreign = true;
    problems.push(`persistent handle ${hex32(XTPM_ECDAA_KEY_HANDLE)}: ${inv.key.problem}`);
  }
  for (const name of PROVISIONED_OBJECTS) {
    const o = inv.nv[name];
    if (o.defined && !o.referenceAttributes) {
      foreign = true;
      problems.push(
        `NV ${hex32(o.index)} (${name}): attributes ${hex32(o.attributes)}, not the reference ${hex32(NV_ATTRIBUTES)}`,
      );
    }
  }
  const { basename, gpk, credential, credentialSignature, rootXttCert } = inv.nv;
  const gid = basename.data && gpk.data ? toHex(groupId(gpk.data, basename.data)) : undefined;
  const rootId =
    rootXttCert.data?.length === ROOT_CERTIFICATE_LENGTH
      ? toHex(rootXttCert.data.subarray(0, 16))
      : undefined;
  const result = (
    state: DeviceStateKind,
    credentialVerifies: boolean | null,
    bound = false,
  ): DeviceAssessment => ({
    state,
    gid,
    rootId,
    credentialVerifies,
    credentialBoundToKey: bound,
    problems,
  });
  if (foreign) return result('foreign', null);

  const anyDefined = PROVISIONED_OBJECTS.some((n) => inv.nv[n].defined);
  if (!inv.key.present && !anyDefined) return result('empty', null);
  if (!credential.written) {
    problems.push('credential not written: provisioning did not finish');
    return result('partial', null);
  }

  // The credential is written: everything else must be complete and consistent. The reference
  // tools write no credential signature, so it may be absent; present, it must be complete.
  const hasCredentialSignature = credentialSignature.defined;
  if (!inv.key.publicKey) problems.push(`no ECDAA key at ${hex32(XTPM_ECDAA_KEY_HANDLE)}`);
  for (const name of PROVISIONED_OBJECTS) {
    const o = inv.nv[name];
    const want = expectedSize(name);
    if (name === 'credentialSignature' && !hasCredentialSignature) continue;
    if (!o.written)
      problems.push(`NV ${hex32(o.index)} (${name}) ${o.defined ? 'defined but not written' : 'missing'}`);
    else if (want !== undefined && o.size !== want)
      problems.push(`NV ${hex32(o.index)} (${name}) is ${o.size} bytes, expected ${want}`);
  }
  if (problems.length > 0) return result('broken', null);
  let verifies: boolean;
  try {
    const cred = decodeCredential(credential.data!);
    const group = decodeGroupPublicKey(gpk.data!);
    verifies = hasCredentialSignature
      ? verifyCredential(
          cred,
          decodeCredentialSignature(credentialSignature.data!),
          decodeG1(inv.key.publicKey!, 'ecdaaKey.Q'),
          group,
        )
      : credentialMatchesGroup(cred, group);
    if (!verifies) problems.push('the credential does not verify against the GPK for this key');
  } catch (err) {
    verifies = false;
    problems.push(`NV objects do not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
  return result(verifies ? 'provisioned' : 'broken', verifies, verifies && hasCredentialSignature);
}

/** JSON-able view of an inventory (sizes, attributes, no object bytes except the public identifiers). */
export function describeInventory(inv: TpmInventory, a: DeviceAssessment): Record<string, unknown> {
  const nv: Record<string, unknown> = {};
  for (const name of PROVISIONED_OBJECTS) {
    const o = inv.nv[name];
    nv[name] = {
      index: hex32(o.index),
      defined: o.defined,
      ...(o.defined ? { size: o.size, attributes: hex32(o.attributes), written: o.written } : {}),
    };
  }
  return {
    state: a.state,
    ecdaaKey: {
      handle: hex32(XTPM_ECDAA_KEY_HANDLE),
      present: inv.key.present,
      ...(inv.key.publicKey ? { publicKey: toHex(inv.key.publicKey) } : {}),
    },
    nv,
    gid: a.gid ?? null,
    basename: inv.nv.basename.data ? new TextDecoder().decode(inv.nv.basename.data) : null,
    rootId: a.rootId ?? null,
    credentialVerifies: a.credentialVerifies,
    credentialBoundToKey: a.credentialBoundToKey,
    problems: a.problems,
  };
}
