// A batch = one ECDAA group (xaptum/ecdaa 1.0 issuer, protocol/ecdaa): creating it (issuer key pair
// with its proof, group public key, basename, gid = SHA-256(gpk ‖ basename) as the reference tools
// compute it) and opening it with every cryptographic consistency check, on top of batch-store.ts.
//
// Opening checks, in order, each failure naming the file and field: the store's layout rules, the GPK
// and issuer public key decode (points on the curve, in the group), the GPK inside ipk.bin equals
// gpk.bin, the issuer's Schnorr proof verifies, the issuer secret key matches the public key
// (x·P2 = X, y·P2 = Y), and the manifest's gid equals SHA-256(gpk ‖ basename).
import { join } from 'node:path';
import {
  createIssuer,
  decodeGroupPublicKey,
  decodeIssuerPublicKey,
  decodeIssuerSecretKey,
  encodeGroupPublicKey,
  encodeIssuerPublicKey,
  encodeIssuerSecretKey,
  G2,
  groupId,
  verifyIssuerPublicKey,
  type GroupPublicKey,
  type IssuerPublicKey,
  type IssuerSecretKey,
} from '../protocol/ecdaa/index.ts';
import { equalBytes, toHex, wipe } from '../protocol/util/bytes.ts';
import type { Rng } from '../protocol/util/rng.ts';
import {
  BATCH_FILES,
  readBatch,
  writeNewBatch,
  type BatchManifest,
  type StoredBatch,
} from './batch-store.ts';
import { basenameCommitInputs } from '../tpm/ecdaa-signer.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';

/** The reference's sample basename (xtt data/basename.bin, traces NV 0x1410007). */
export const DEFAULT_BASENAME = 'BASENAME';

export interface CreateBatchOptions {
  dir: string;
  name: string;
  size: number;
  basename: Uint8Array;
  rng: Rng;
  now?: Date;
}

export interface OpenedBatch {
  dir: string;
  manifest: BatchManifest;
  gpk: GroupPublicKey;
  gpkBytes: Uint8Array;
  basename: Uint8Array;
  ipk: IssuerPublicKey;
  /** Present only when opened with the secret (provisioning). Wipe with closeBatch. */
  isk: IssuerSecretKey | undefined;
  iskBytes: Uint8Array | undefined;
}

export function createBatch(o: CreateBatchOptions): OpenedBatch {
  // A basename whose hash lands in [r, p) gives a point the TPM computes differently (see
  // tpm/ecdaa-signer.ts): devices could never sign with it. Probability about 2^-46, checked anyway.
  try {
    basenameCommitInputs(o.basename);
  } catch (cause) {
    throw new FactoryError(
      FactoryErrorCode.BAD_VALUE,
      'this basename cannot be signed with by a TPM; choose another',
      {
        field: 'basename',
        cause,
      },
    );
  }
  const { secretKey, publicKey } = createIssuer(o.rng);
  const gpkBytes = encodeGroupPublicKey(publicKey.gpk);
  const iskBytes = encodeIssuerSecretKey(secretKey);
  const gid = toHex(groupId(gpkBytes, o.basename));
  let manifest: BatchManifest;
  try {
    manifest = writeNewBatch(
      o.dir,
      {
        issuerSecretKey: iskBytes,
        issuerPublicKey: encodeIssuerPublicKey(publicKey),
        gpk: gpkBytes,
        basename: o.basename,
      },
      { name: o.name, size: o.size, gid, created: (o.now ?? new Date()).toISOString() },
    );
  } finally {
    wipe(iskBytes);
  }
  return {
    dir: o.dir,
    manifest,
    gpk: publicKey.gpk,
    gpkBytes,
    basename: o.basename,
    ipk: publicKey,
    isk: undefined,
    iskBytes: undefined,
  };
}

function decodeIn<T>(path: string, field: string, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
  try {
    return decode(bytes);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new FactoryError(FactoryErrorCode.BATCH_CORRUPT, `${path}: ${field}: ${why}`, {
      file: path,
      field,
      cause,
    });
  }
}

function inconsistent(path: string, field: string, reason: string): FactoryError {
  return new FactoryError(FactoryErrorCode.BATCH_CORRUPT, `${path}: ${field}: ${reason}`, {
    file: path,
    field,
  });
}

/** Opens and checks a batch. `withSecret` also loads and checks the issuer secret key. */
export function openBatch(dir: string, opts: { withSecret: boolean }): OpenedBatch {
  const stored: StoredBatch = readBatch(dir, { withSecret: opts.withSecret });
  const { keys, manifest } = stored;
  const p = (name: string): string => join(dir, name);
  const gpk = decodeIn(p(BATCH_FILES.gpk), 'gpk', keys.gpk, (b) => decodeGroupPublicKey(b));
  const ipk = decodeIn(p(BATCH_FILES.issuerPublicKey), 'ipk', keys.issuerPublicKey, decodeIssuerPublicKey);
  if (!equalBytes(encodeGroupPublicKey(ipk.gpk), keys.gpk)) {
    throw inconsistent(p(BATCH_FILES.issuerPublicKey), 'gpk', `differs from ${BATCH_FILES.gpk}`);
  }
  if (!verifyIssuerPublicKey(ipk)) {
    throw inconsistent(
      p(BATCH_FILES.issuerPublicKey),
      'proof',
      'the issuer proof of knowledge does not verify',
    );
  }
  const gid = toHex(groupId(keys.gpk, keys.basename));
  if (gid !== manifest.gid) {
    throw inconsistent(
      p(BATCH_FILES.manifest),
      'gid',
      `is ${manifest.gid}, but SHA-256(gpk ‖ basename) is ${gid}`,
    );
  }
  let isk: IssuerSecretKey | undefined;
  if (opts.withSecret) {
    isk = decodeIn(p(BATCH_FILES.issuerSecretKey), 'isk', keys.issuerSecretKey, decodeIssuerSecretKey);
    if (!G2.BASE.multiply(isk.x).equals(gpk.X) || !G2.BASE.multiply(isk.y).equals(gpk.Y)) {
      throw inconsistent(
        p(BATCH_FILES.issuerSecretKey),
        'isk',
        `is not the secret key of ${BATCH_FILES.gpk}`,
      );
    }
  }
  return {
    dir,
    manifest,
    gpk,
    gpkBytes: keys.gpk,
    basename: keys.basename,
    ipk,
    isk,
    iskBytes: opts.withSecret ? keys.issuerSecretKey : undefined,
  };
}

/** Drops the secret key material of an opened batch (best effort, see wipe()). */
export function closeBatch(b: OpenedBatch): void {
  wipe(b.iskBytes);
  b.isk = undefined;
  b.iskBytes = undefined;
}
