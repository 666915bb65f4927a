// `xtt-factory provision`: one device TPM joins the batch, laid out exactly as the reference
// factory leaves it (traces README "Operation sequence 1"; tpm/nv-layout.ts): ECDAA key persisted at
// 0x81800000; GPK 0x1410000, credential 0x1410001, credential signature 0x1410002, basename 0x1410007,
// root XTT certificate 0x1410009, each an owner-defined ordinary index with attributes 0x00060006.
//
// Step order, chosen so that a provisioning killed at any point is completed or reported on the next
// run, never a silently broken device (see device-state.ts):
//   1 reserve-nv   define every NV index first (no data). A TPM without NV room fails here, and the
//                  indices defined by this run are removed again: the TPM is left as it was.
//   2 persist-key  create the ECDAA key and persist it (or reuse the key an interrupted run persisted).
//   3 join         issuer nonce -> TPM proves possession of the key (Commit + Sign, tpm/ecdaa-join.ts)
//                  -> issuer checks the proof and issues credential + credential signature -> the
//                  credential is verified (verifyCredential) -> the batch manifest counts it, under its
//                  lock. A second credential for the same key (resume, --force) counts as a reissue.
//   4 write-*      basename, gpk, root certificate, credential signature, and the credential LAST: a
//                  written credential is the completion marker.
//   5 final check  re-read everything and require state "provisioned" with this batch's gid.
// Re-running on a provisioned TPM changes nothing unless --force, which removes our objects
// (credential first) and the key, then provisions afresh.
import { sha256 } from '@noble/hashes/sha2.js';
import {
  issueCredential,
  encodeCredential,
  encodeCredentialSignature,
  encodeG1,
  verifyCredential,
} from '../protocol/ecdaa/index.ts';
import { ZtpError } from '../protocol/errors.ts';
import { decodeRootCertificate } from '../protocol/xtt/certificates.ts';
import { equalBytes, toHex } from '../protocol/util/bytes.ts';
import type { Rng } from '../protocol/util/rng.ts';
import { TpmError, TPM_RC_NV_SPACE } from '../tpm/errors.ts';
import { createEcdaaKey, readEcdaaKey } from '../tpm/ecdaa-key.ts';
import { createTpmJoinRequest } from '../tpm/ecdaa-join.ts';
import { evictPersistent } from '../tpm/handles.ts';
import {
  defineNvObject,
  NV_INDEX,
  removeNvObject,
  writeNvObject,
  XTPM_ECDAA_KEY_HANDLE,
} from '../tpm/nv-layout.ts';
import { runPreflight, type PreflightReport } from '../tpm/preflight.ts';
import type { Tpm } from '../tpm/tpm.ts';
import type { OpenedBatch } from './batch.ts';
import { hasRoomFor, readManifest, recordCredential } from './batch-store.ts';
import {
  assessInventory,
  hex32,
  OBJECT_SIZES,
  PROVISIONED_OBJECTS,
  readInventory,
  type DeviceAssessment,
  type DeviceStateKind,
  type ProvisionedObject,
  type TpmInventory,
} from './device-state.ts';
import { FactoryError, FactoryErrorCode, PartialProvisionError } from './errors.ts';

export const PROVISION_STEPS = [
  'reserve-nv',
  'persist-key',
  'join',
  ...PROVISIONED_OBJECTS.map((o) => `write-${o}` as const),
] as const;
export type ProvisionStep = (typeof PROVISION_STEPS)[number];

export interface ProvisionOptions {
  tpm: Tpm;
  /** Opened with its secret key (openBatch(dir, { withSecret: true })). */
  batch: OpenedBatch;
  /** The 81-byte root XTT certificate the device will trust (already decoded and checked). */
  rootCertificate: Uint8Array;
  force: boolean;
  rng: Rng;
  /** Called after each completed step (progress output; tests stop the process here). */
  afterStep?: (step: ProvisionStep) => void | Promise<void>;
}

export interface ProvisionReport {
  /** provisioned: from empty; resumed: completed an interrupted run; reprovisioned: --force. */
  outcome: 'provisioned' | 'resumed' | 'reprovisioned';
  before: DeviceStateKind;
  steps: ProvisionStep[];
  gid: string;
  /** Hex SHA-256 of the member public key: the key's entry in the batch manifest. */
  member: string;
  publicKey: string;
  credentialIsNew: boolean;
  issued: number;
  preflight: PreflightReport;
}

export const memberId = (publicKey: Uint8Array): string => toHex(sha256(publicKey));

function contents(
  o: OpenedBatch,
  rootCertificate: Uint8Array,
): Record<'basename' | 'gpk' | 'rootXttCert', Uint8Array> {
  return { basename: o.basename, gpk: o.gpkBytes, rootXttCert: rootCertificate };
}

function sizeOf(name: ProvisionedObject, o: OpenedBatch): number {
  return name === 'basename' ? o.basename.length : OBJECT_SIZES[name];
}

/** Why a partial provisioning cannot be resumed for this batch (empty list: it can). */
function resumeConflicts(inv: TpmInventory, batch: OpenedBatch, rootCertificate: Uint8Array): string[] {
  const want = contents(batch, rootCertificate);
  const out: string[] = [];
  for (const name of ['basename', 'gpk', 'rootXttCert'] as const) {
    const o = inv.nv[name];
    if (o.written && !equalBytes(o.data ?? new Uint8Array(0), want[name])) {
      out.push(`NV ${hex32(o.index)} (${name}) holds other data than this batch and root would write`);
    }
  }
  return out;
}

/** Removes our objects, the credential first so the device never looks complete meanwhile, then the key. */
async function wipeDevice(tpm: Tpm): Promise<void> {
  for (const name of [...PROVISIONED_OBJECTS].reverse()) await removeNvObject(tpm, NV_INDEX_OF[name]);
  await evictPersistent(tpm, XTPM_ECDAA_KEY_HANDLE);
}

const NV_INDEX_OF: Record<ProvisionedObject, number> = NV_INDEX;

function isNvSpace(err: unknown): boolean {
  return err instanceof TpmError && err.baseCode === TPM_RC_NV_SPACE;
}

function refuse(a: DeviceAssessment, batch: OpenedBatch, rootCertificate: Uint8Array): never {
  if (a.state === 'provisioned') {
    const same = a.gid === batch.manifest.gid;
    const rootId = toHex(rootCertificate.subarray(0, 16));
    const root = a.rootId === rootId ? '' : ` with root ${a.rootId ?? '?'} (this run's root is ${rootId})`;
    throw new FactoryError(
      FactoryErrorCode.ALREADY_PROVISIONED,
      same
        ? `TPM is already provisioned for batch "${batch.manifest.name}" (gid ${a.gid})${root}; nothing changed (--force re-provisions)`
        : `TPM is already provisioned for another group (gid ${a.gid ?? '?'})${root}; nothing changed (--force re-provisions)`,
    );
  }
  throw new FactoryError(
    FactoryErrorCode.TPM_FOREIGN_STATE,
    `TPM state is "${a.state}": ${a.problems.join('; ')}; nothing changed (--force removes these objects and re-provisions)`,
  );
}

/**
 * Provisions one TPM (see the step order above). A failure after the TPM was changed says so and how
 * to finish: the next run resumes. A failure before (preflight, no room, full batch) changed nothing.
 */
export async function provisionDevice(o: ProvisionOptions): Promise<ProvisionReport> {
  const steps: ProvisionStep[] = [];
  try {
    return await provisionSteps(o, steps);
  } catch (err) {
    const last = steps.at(-1);
    const rolledBack = err instanceof FactoryError && err.code === FactoryErrorCode.TPM_UNSUITABLE;
    if (last === undefined || rolledBack || !(err instanceof ZtpError)) throw err;
    const hint = ` (stopped after step ${last}: the TPM is partially provisioned; run provision again to complete it)`;
    if (err instanceof FactoryError) {
      throw new FactoryError(err.code as FactoryErrorCode, err.message + hint, {
        cause: err,
        ...(err.file === undefined ? {} : { file: err.file }),
        ...(err.field === undefined ? {} : { field: err.field }),
      });
    }
    throw new PartialProvisionError(err, hint);
  }
}

async function provisionSteps(o: ProvisionOptions, steps: ProvisionStep[]): Promise<ProvisionReport> {
  const { tpm, batch, rootCertificate, rng } = o;
  if (!batch.isk) throw new RangeError('provisionDevice needs the batch opened with its secret key');
  try {
    decodeRootCertificate(rootCertificate);
  } catch (cause) {
    throw new FactoryError(
      FactoryErrorCode.BAD_VALUE,
      'the root certificate is not an 81-byte XTT root certificate',
      {
        field: 'rootCertificate',
        cause,
      },
    );
  }
  const done = async (s: ProvisionStep): Promise<void> => {
    steps.push(s);
    await o.afterStep?.(s);
  };

  const preflight = await runPreflight(tpm);
  // Foreign objects at our indices are judged below (they need --force), everything else is fatal.
  const fatal = preflight.checks.filter((c) => c.status === 'fail' && c.name !== 'nv-indices');
  if (fatal.length > 0) {
    throw new FactoryError(
      FactoryErrorCode.TPM_UNSUITABLE,
      `preflight failed: ${fatal.map((c) => `${c.name}: ${c.reason}`).join('; ')}; nothing changed`,
    );
  }

  let inv = await readInventory(tpm);
  const before = assessInventory(inv);
  let outcome: ProvisionReport['outcome'] = 'provisioned';
  if (before.state === 'partial') {
    const conflicts = resumeConflicts(inv, batch, rootCertificate);
    if (conflicts.length > 0 && !o.force)
      refuse({ ...before, problems: [...before.problems, ...conflicts] }, batch, rootCertificate);
    outcome = conflicts.length > 0 ? 'reprovisioned' : 'resumed';
  } else if (before.state !== 'empty') {
    if (!o.force) refuse(before, batch, rootCertificate);
    outcome = 'reprovisioned';
  }
  // Refuse a full batch before touching the TPM (recordCredential re-checks under the lock). A
  // resumed run reuses the persisted key; --force makes a new key, hence a new member.
  const reusedKey = outcome === 'reprovisioned' ? undefined : inv.key.publicKey;
  const manifest = readManifest(batch.dir);
  if (!(reusedKey ? hasRoomFor(manifest, memberId(reusedKey)) : manifest.issued < manifest.size)) {
    throw new FactoryError(
      FactoryErrorCode.BATCH_FULL,
      `batch "${manifest.name}" has issued all ${manifest.size} credentials; nothing changed`,
    );
  }
  if (outcome === 'reprovisioned') {
    await wipeDevice(tpm);
    inv = await readInventory(tpm);
  }

  // 1 reserve-nv
  const definedNow: number[] = [];
  try {
    for (const name of PROVISIONED_OBJECTS) {
      const cur = inv.nv[name];
      const size = sizeOf(name, batch);
      // Written basename/gpk/root passed resumeConflicts, so a size mismatch is only ever an unwritten
      // index or an old credential signature: safe to redefine.
      if (cur.defined && cur.size === size) continue;
      if (cur.defined) await removeNvObject(tpm, cur.index);
      await defineNvObject(tpm, cur.index, size);
      definedNow.push(cur.index);
    }
  } catch (err) {
    for (const index of definedNow) await removeNvObject(tpm, index);
    if (isNvSpace(err)) {
      const need = PROVISIONED_OBJECTS.reduce((n, name) => n + sizeOf(name, batch), 0);
      throw new FactoryError(
        FactoryErrorCode.TPM_UNSUITABLE,
        `TPM has no NV room for the provisioning objects (${PROVISIONED_OBJECTS.length} indices, ${need} bytes); nothing changed`,
        { cause: err },
      );
    }
    throw err;
  }
  await done('reserve-nv');

  // 2 persist-key
  let key;
  try {
    key = inv.key.publicKey ? await readEcdaaKey(tpm) : await createEcdaaKey(tpm);
  } catch (err) {
    for (const index of definedNow) await removeNvObject(tpm, index);
    if (isNvSpace(err)) {
      throw new FactoryError(
        FactoryErrorCode.TPM_UNSUITABLE,
        `TPM has no room to persist the ECDAA key at ${hex32(XTPM_ECDAA_KEY_HANDLE)}; nothing changed`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  await done('persist-key');

  // 3 join: the issuer's nonce, the TPM's proof of possession, the issuer's credential.
  const nonce = rng.bytes(32);
  const { request } = await createTpmJoinRequest(tpm, nonce);
  if (!equalBytes(encodeG1(request.Q), key.publicKey)) {
    throw new FactoryError(
      FactoryErrorCode.VERIFY_FAILED,
      'the join request is not for the persisted ECDAA key',
    );
  }
  let issued;
  try {
    issued = issueCredential(batch.isk, request, nonce, rng);
  } catch (cause) {
    if (cause instanceof ZtpError)
      throw new FactoryError(FactoryErrorCode.VERIFY_FAILED, `join: ${cause.message}`, { cause });
    throw cause;
  }
  if (!verifyCredential(issued.credential, issued.credentialSignature, request.Q, batch.gpk)) {
    throw new FactoryError(
      FactoryErrorCode.VERIFY_FAILED,
      'the issued credential does not verify against the batch GPK',
    );
  }
  const member = memberId(key.publicKey);
  const recorded = await recordCredential(batch.dir, member);
  await done('join');

  // 4 writes, credential last.
  const data: Record<ProvisionedObject, Uint8Array> = {
    ...contents(batch, rootCertificate),
    credentialSignature: encodeCredentialSignature(issued.credentialSignature),
    credential: encodeCredential(issued.credential),
  };
  for (const name of PROVISIONED_OBJECTS) {
    const cur = inv.nv[name];
    const already = cur.written && cur.data !== undefined && equalBytes(cur.data, data[name]);
    if (!already) await writeNvObject(tpm, NV_INDEX_OF[name], data[name]);
    await done(`write-${name}`);
  }

  // 5 the same completion check inspect and the next run use.
  const after = assessInventory(await readInventory(tpm));
  if (after.state !== 'provisioned' || after.gid !== batch.manifest.gid) {
    throw new FactoryError(
      FactoryErrorCode.VERIFY_FAILED,
      `after provisioning the TPM is "${after.state}": ${after.problems.join('; ')}`,
    );
  }
  return {
    outcome,
    before: before.state,
    steps,
    gid: batch.manifest.gid,
    member,
    publicKey: toHex(key.publicKey),
    credentialIsNew: recorded.isNew,
    issued: recorded.manifest.issued,
    preflight,
  };
}
