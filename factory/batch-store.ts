// The on-disk batch directory: one directory per DAA group.
//
//   issuer-secret.key  encoded issuer secret key, mode 0600, written once, never printed
//   ipk.bin            issuer public key with its proof of knowledge
//   gpk.bin            group public key, 258 B (X ‖ Y), the bytes the devices and the QR label carry
//   basename.bin       the basename the devices sign with
//   manifest.json      name, size, gid (hex), created, issued count and one record per credential
//   manifest.lock      present only while a process updates the manifest (O_EXCL lock file)
//
// This file knows the layout and the file-system rules only: files are created with O_EXCL, the
// manifest is written last (a directory without it is an incomplete batch, reported as such), and every
// manifest update is read-modify-write under the lock (batch-lock.ts), written to a temporary file,
// fsynced and renamed over the old one (fs-atomic.ts), so two concurrent provisionings count correctly
// and a crash leaves either the old or the new manifest. Loading is strict; a corrupt batch is reported
// with the file and field, never rewritten. The cryptographic consistency (gid, issuer proof) is checked by batch.ts.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withBatchLock, LOCK_FILE } from './batch-lock.ts';
import { writeAtomic, writeNewFile } from '../common/fs-atomic.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';
import { QR_GPK_LENGTH, QR_MAX_BASENAME_LENGTH, QR_MAX_NAME_LENGTH } from '../protocol/qr-payload.ts';

export const BATCH_FILES = {
  issuerSecretKey: 'issuer-secret.key',
  issuerPublicKey: 'ipk.bin',
  gpk: 'gpk.bin',
  basename: 'basename.bin',
  manifest: 'manifest.json',
  lock: LOCK_FILE,
} as const;

export const MANIFEST_FORMAT = 'xtt-factory-batch/1';

/** One issued credential. `member` identifies the device key (SHA-256 of its public point), not the device. */
export interface CredentialRecord {
  member: string;
  issuedAt: string;
  /** How many further credentials were issued to the same key (resumed or forced provisioning). */
  reissues: number;
}

export interface BatchManifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  size: number;
  gid: string;
  created: string;
  issued: number;
  credentials: CredentialRecord[];
}

export interface BatchKeyFiles {
  issuerSecretKey: Uint8Array;
  issuerPublicKey: Uint8Array;
  gpk: Uint8Array;
  basename: Uint8Array;
}

export interface StoredBatch {
  dir: string;
  keys: BatchKeyFiles;
  manifest: BatchManifest;
}

const HEX64 = /^[0-9a-f]{64}$/;

function corrupt(file: string, field: string, reason: string, cause?: unknown): FactoryError {
  return new FactoryError(FactoryErrorCode.BATCH_CORRUPT, `${file}: ${field}: ${reason}`, {
    file,
    field,
    ...(cause === undefined ? {} : { cause }),
  });
}

function encodeManifest(m: BatchManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n');
}

/** Strict manifest validation: every field present with the right type, nothing unknown. */
export function parseManifest(text: string, file: string = BATCH_FILES.manifest): BatchManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw corrupt(file, '(json)', 'not valid JSON', cause);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw corrupt(file, '(root)', 'not an object');
  const o = raw as Record<string, unknown>;
  const known = ['format', 'name', 'size', 'gid', 'created', 'issued', 'credentials'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw corrupt(file, k, 'unknown field');
  if (o.format !== MANIFEST_FORMAT) throw corrupt(file, 'format', `expected "${MANIFEST_FORMAT}"`);
  if (typeof o.name !== 'string' || new TextEncoder().encode(o.name).length > QR_MAX_NAME_LENGTH) {
    throw corrupt(file, 'name', `must be a string of at most ${QR_MAX_NAME_LENGTH} UTF-8 bytes`);
  }
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 1)
    throw corrupt(file, 'size', 'must be an integer >= 1');
  if (typeof o.gid !== 'string' || !HEX64.test(o.gid))
    throw corrupt(file, 'gid', 'must be 64 lowercase hex digits');
  if (typeof o.created !== 'string' || Number.isNaN(Date.parse(o.created))) {
    throw corrupt(file, 'created', 'must be an ISO 8601 date');
  }
  if (!Number.isSafeInteger(o.issued) || (o.issued as number) < 0)
    throw corrupt(file, 'issued', 'must be an integer >= 0');
  if (!Array.isArray(o.credentials)) throw corrupt(file, 'credentials', 'must be an array');
  const credentials: CredentialRecord[] = [];
  const seen = new Set<string>();
  o.credentials.forEach((c: unknown, i: number) => {
    const at = `credentials[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw corrupt(file, at, 'not an object');
    const r = c as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (!['member', 'issuedAt', 'reissues'].includes(k)) throw corrupt(file, `${at}.${k}`, 'unknown field');
    if (typeof r.member !== 'string' || !HEX64.test(r.member))
      throw corrupt(file, `${at}.member`, 'must be 64 lowercase hex digits');
    if (seen.has(r.member)) throw corrupt(file, `${at}.member`, 'duplicate member key');
    seen.add(r.member);
    if (typeof r.issuedAt !== 'string' || Number.isNaN(Date.parse(r.issuedAt)))
      throw corrupt(file, `${at}.issuedAt`, 'must be an ISO 8601 date');
    if (!Number.isSafeInteger(r.reissues) || (r.reissues as number) < 0)
      throw corrupt(file, `${at}.reissues`, 'must be an integer >= 0');
    credentials.push({ member: r.member, issuedAt: r.issuedAt, reissues: r.reissues as number });
  });
  if (o.issued !== credentials.length) {
    throw corrupt(
      file,
      'issued',
      `says ${String(o.issued)} but ${credentials.length} credentials are recorded`,
    );
  }
  return {
    format: MANIFEST_FORMAT,
    name: o.name,
    size: o.size as number,
    gid: o.gid,
    created: o.created,
    issued: o.issued as number,
    credentials,
  };
}

/**
 * Write a new batch into `dir` (created if missing; an existing directory must be empty). The manifest
 * is written last, so an interrupted creation leaves a directory that loads as "incomplete".
 */
export function writeNewBatch(
  dir: string,
  keys: BatchKeyFiles,
  meta: { name: string; size: number; gid: string; created: string },
): BatchManifest {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new FactoryError(FactoryErrorCode.EXISTS, `${dir} exists and is not a directory`, { file: dir });
    const present = readdirSync(dir);
    if (present.length > 0) {
      const what = present.includes(BATCH_FILES.manifest) ? 'a batch' : `${present.length} entries`;
      throw new FactoryError(FactoryErrorCode.EXISTS, `${dir} already holds ${what}; refusing to overwrite`, {
        file: dir,
      });
    }
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
  if (keys.gpk.length !== QR_GPK_LENGTH) throw new RangeError(`gpk must be ${QR_GPK_LENGTH} bytes`);
  const manifest = parseManifest(
    JSON.stringify({ format: MANIFEST_FORMAT, ...meta, issued: 0, credentials: [] }),
    join(dir, BATCH_FILES.manifest),
  );
  writeNewFile(join(dir, BATCH_FILES.issuerSecretKey), keys.issuerSecretKey, 0o600);
  writeNewFile(join(dir, BATCH_FILES.issuerPublicKey), keys.issuerPublicKey, 0o644);
  writeNewFile(join(dir, BATCH_FILES.gpk), keys.gpk, 0o644);
  writeNewFile(join(dir, BATCH_FILES.basename), keys.basename, 0o644);
  writeAtomic(dir, BATCH_FILES.manifest, encodeManifest(manifest));
  return manifest;
}

function readRequired(dir: string, name: string): Uint8Array {
  const path = join(dir, name);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw corrupt(path, '(file)', existsSync(path) ? 'unreadable' : 'missing', cause);
  }
}

export function readManifest(dir: string): BatchManifest {
  const path = join(dir, BATCH_FILES.manifest);
  if (!existsSync(dir)) {
    throw new FactoryError(FactoryErrorCode.NOT_FOUND, `${dir}: no such batch directory`, { file: dir });
  }
  if (!existsSync(path)) {
    throw corrupt(path, '(file)', 'missing: not a batch, or an interrupted create-batch');
  }
  return parseManifest(new TextDecoder().decode(readRequired(dir, BATCH_FILES.manifest)), path);
}

/** Load a batch strictly. `withSecret: false` leaves the issuer secret key unread (label, inspect). */
export function readBatch(dir: string, opts: { withSecret?: boolean } = {}): StoredBatch {
  const manifest = readManifest(dir);
  const gpk = readRequired(dir, BATCH_FILES.gpk);
  if (gpk.length !== QR_GPK_LENGTH)
    throw corrupt(join(dir, BATCH_FILES.gpk), 'gpk', `${gpk.length} bytes, expected ${QR_GPK_LENGTH}`);
  const basename = readRequired(dir, BATCH_FILES.basename);
  if (basename.length < 1 || basename.length > QR_MAX_BASENAME_LENGTH) {
    throw corrupt(
      join(dir, BATCH_FILES.basename),
      'basename',
      `${basename.length} bytes, expected 1..${QR_MAX_BASENAME_LENGTH}`,
    );
  }
  const issuerPublicKey = readRequired(dir, BATCH_FILES.issuerPublicKey);
  let issuerSecretKey: Uint8Array = new Uint8Array(0);
  if (opts.withSecret !== false) {
    const path = join(dir, BATCH_FILES.issuerSecretKey);
    issuerSecretKey = readRequired(dir, BATCH_FILES.issuerSecretKey);
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw corrupt(
        path,
        'mode',
        `is ${mode.toString(8)}; the issuer secret key must not be readable by group or others (chmod 600)`,
      );
    }
  }
  return { dir, keys: { issuerSecretKey, issuerPublicKey, gpk, basename }, manifest };
}

export interface RecordResult {
  manifest: BatchManifest;
  /** False when the member key already had a credential (resumed or forced provisioning). */
  isNew: boolean;
}

/**
 * Count one issued credential for the member key `member` (hex SHA-256 of its public point), atomically.
 * Refuses (BATCH_FULL) when the batch has issued its declared size; a credential for an already-recorded
 * key does not use up the batch size, it counts as a reissue.
 */
export async function recordCredential(
  dir: string,
  member: string,
  now: Date = new Date(),
): Promise<RecordResult> {
  if (!HEX64.test(member)) throw new RangeError('member must be 64 lowercase hex digits');
  return withBatchLock(dir, () => {
    const manifest = readManifest(dir);
    const existing = manifest.credentials.find((c) => c.member === member);
    if (existing) {
      existing.reissues += 1;
    } else {
      if (manifest.issued >= manifest.size) {
        throw new FactoryError(
          FactoryErrorCode.BATCH_FULL,
          `batch "${manifest.name}" has issued all ${manifest.size} credentials`,
          {
            file: join(dir, BATCH_FILES.manifest),
            field: 'issued',
          },
        );
      }
      manifest.credentials.push({ member, issuedAt: now.toISOString(), reissues: 0 });
      manifest.issued = manifest.credentials.length;
    }
    writeAtomic(dir, BATCH_FILES.manifest, encodeManifest(manifest));
    return { manifest, isNew: existing === undefined };
  });
}

/** Whether the batch may issue a credential to `member` (read without the lock; recordCredential re-checks). */
export function hasRoomFor(manifest: BatchManifest, member: string): boolean {
  return manifest.issued < manifest.size || manifest.credentials.some((c) => c.member === member);
}
