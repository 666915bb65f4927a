// The server's key material on disk, in the XTT 0.12 reference formats (protocol/xtt/certificates.ts;
// file names as the reference tool's examples): root_cert.bin (81 B, given to devices),
// root_keys.asn1.bin (121 B SEC1, 0600; only when `init` made the root, move it offline after),
// server_certificate.bin (169 B, root-signed), server_keys.asn1.bin (121 B SEC1, 0600).
// `init` creates them (common/xtt-root.ts, as xtt-factory does) or imports existing ones, checking
// that they belong together before writing.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMissingPath, MissingFileError } from '../../common/cli.ts';
import { writeNewFile } from '../../common/fs-atomic.ts';
import { ZtpError } from '../../protocol/errors.ts';
import { equalBytes } from '../../protocol/util/bytes.ts';
import type { Rng } from '../../protocol/util/rng.ts';
import { createRoot, createServerCertificate, XTT_KEY_FILES } from '../../common/xtt-root.ts';
import {
  decodeP256KeyFile,
  decodeRootCertificate,
  encodeP256KeyFile,
  verifyServerCertificate,
  type P256KeyPair,
} from '../../protocol/xtt/certificates.ts';

/** The state directory's key files (common/xtt-root.ts: the reference tool's names, as the factory's). */
export const KEY_FILES = XTT_KEY_FILES;

/** Key material problems: missing or unreadable files (KEYS_MISSING), mismatches (KEYS_INVALID). */
export class KeyMaterialError extends ZtpError {
  readonly file: string;
  constructor(
    code: 'KEYS_MISSING' | 'KEYS_INVALID' | 'KEYS_EXIST',
    file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
  }
}

export interface ServerKeyMaterial {
  rootCertificate: Uint8Array;
  serverCertificate: Uint8Array;
  /** Secret: the caller wipes serverKeys.privateKey when done. */
  serverKeys: P256KeyPair;
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new KeyMaterialError('KEYS_MISSING', path, 'cannot read', { cause });
  }
}

/** A file named on the command line (`init --import`): one that does not exist is not found. */
function readNamedInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (cause) {
    if (isMissingPath(cause)) throw new MissingFileError(path, 'file', { cause });
    throw new KeyMaterialError('KEYS_INVALID', path, `cannot read (${(cause as Error).message})`, { cause });
  }
}

function decodeAs<T>(path: string, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
  try {
    return decode(bytes);
  } catch (cause) {
    throw new KeyMaterialError('KEYS_INVALID', path, (cause as Error).message, { cause });
  }
}

/** Checks that the three files form a working server identity under the root. */
export function checkKeyMaterial(m: ServerKeyMaterial, names: Record<'root' | 'cert' | 'key', string>): void {
  const root = decodeAs(names.root, m.rootCertificate, decodeRootCertificate);
  const cert = decodeAs(names.cert, m.serverCertificate, (b) => verifyServerCertificate(b, [root]));
  if (!equalBytes(cert.publicKey, m.serverKeys.publicKey)) {
    throw new KeyMaterialError('KEYS_INVALID', names.key, 'server key does not match the server certificate');
  }
}

function refuseExisting(dir: string, names: string[]): void {
  for (const n of names) {
    if (existsSync(join(dir, n)))
      throw new KeyMaterialError('KEYS_EXIST', join(dir, n), 'exists; refusing to overwrite');
  }
}

/** Creates a root and a server certificate under it. Returns the written paths (no secrets). */
export function createKeyMaterial(dir: string, rng: Rng): Record<keyof typeof KEY_FILES, string> {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  refuseExisting(dir, Object.values(KEY_FILES));
  const root = createRoot(rng);
  let server: ReturnType<typeof createServerCertificate> | undefined;
  try {
    server = createServerCertificate(root, rng);
    const material = {
      rootCertificate: root.certificateBytes,
      serverCertificate: server.certificateBytes,
      serverKeys: server.keys,
    };
    checkKeyMaterial(material, { root: 'root', cert: 'server certificate', key: 'server key' });
    const paths = Object.fromEntries(Object.entries(KEY_FILES).map(([k, f]) => [k, join(dir, f)])) as Record<
      keyof typeof KEY_FILES,
      string
    >;
    const rootKeyFile = encodeP256KeyFile(root.keys);
    const serverKeyFile = encodeP256KeyFile(material.serverKeys);
    try {
      writeNewFile(paths.rootKeys, rootKeyFile, 0o600);
      writeNewFile(paths.serverKeys, serverKeyFile, 0o600);
    } finally {
      rootKeyFile.fill(0);
      serverKeyFile.fill(0);
    }
    writeNewFile(paths.rootCertificate, material.rootCertificate, 0o644);
    writeNewFile(paths.serverCertificate, material.serverCertificate, 0o644);
    return paths;
  } finally {
    root.keys.privateKey.fill(0);
    server?.keys.privateKey.fill(0);
  }
}

/** Imports existing root certificate, server certificate and server key files after checking them. */
export function importKeyMaterial(
  dir: string,
  from: { rootCertificate: string; serverCertificate: string; serverKeys: string },
): Record<'rootCertificate' | 'serverCertificate' | 'serverKeys', string> {
  const rootCertificate = readNamedInput(from.rootCertificate);
  const serverCertificate = readNamedInput(from.serverCertificate);
  const keyFile = readNamedInput(from.serverKeys);
  try {
    const serverKeys = decodeAs(from.serverKeys, keyFile, decodeP256KeyFile);
    try {
      checkKeyMaterial(
        { rootCertificate, serverCertificate, serverKeys },
        { root: from.rootCertificate, cert: from.serverCertificate, key: from.serverKeys },
      );
    } finally {
      serverKeys.privateKey.fill(0);
    }
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    refuseExisting(dir, [KEY_FILES.rootCertificate, KEY_FILES.serverCertificate, KEY_FILES.serverKeys]);
    const paths = {
      rootCertificate: join(dir, KEY_FILES.rootCertificate),
      serverCertificate: join(dir, KEY_FILES.serverCertificate),
      serverKeys: join(dir, KEY_FILES.serverKeys),
    };
    writeNewFile(paths.serverKeys, keyFile, 0o600);
    writeNewFile(paths.rootCertificate, rootCertificate, 0o644);
    writeNewFile(paths.serverCertificate, serverCertificate, 0o644);
    return paths;
  } finally {
    keyFile.fill(0);
  }
}

/** Loads and checks the server's material from `dir` (for `start`). Refuses a world-readable key. */
export function loadKeyMaterial(dir: string): ServerKeyMaterial {
  const keyPath = join(dir, KEY_FILES.serverKeys);
  if (existsSync(keyPath) && (statSync(keyPath).mode & 0o077) !== 0) {
    throw new KeyMaterialError('KEYS_INVALID', keyPath, 'is readable by group or others; chmod 600 it');
  }
  const rootCertificate = readInput(join(dir, KEY_FILES.rootCertificate));
  const serverCertificate = readInput(join(dir, KEY_FILES.serverCertificate));
  const keyFile = readInput(keyPath);
  try {
    const serverKeys = decodeAs(keyPath, keyFile, decodeP256KeyFile);
    const m = { rootCertificate, serverCertificate, serverKeys };
    checkKeyMaterial(m, { root: KEY_FILES.rootCertificate, cert: KEY_FILES.serverCertificate, key: keyPath });
    return m;
  } finally {
    keyFile.fill(0);
  }
}
