// The root of trust the devices check the server against, in the reference's formats (vectors README
// "Static inputs and certificate formats"), as `xtt genkeypair`, `xtt genrootcert` and
// `xtt genservercert` (xaptum/xtt 0.12 tool) write them:
//   root_keys.asn1.bin / server_keys.asn1.bin  121-byte SEC1 DER ECPrivateKey (P-256), mode 0600
//   root_cert.bin                              81 B: root_id (16 random bytes) ‖ root public key (65)
//   server_certificate.bin                     169 B: reserved (24) ‖ root_id ‖ server public key ‖
//                                              root signature (ECDSA-P256-SHA256 over the first 105 B)
// Making the root and the server certificate, and the file names, are common/xtt-root.ts's (shared
// with enf-server init); this file adds the files and the checks between them (the key file's public
// key must be the certificate's, the server certificate must verify).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeP256KeyFile,
  decodeRootCertificate,
  encodeP256KeyFile,
  type P256KeyPair,
  type RootCertificate,
} from '../protocol/xtt/certificates.ts';
import { DEFAULT_SERVER_CERT_RESERVED, SERVER_CERT_RESERVED_LENGTH } from '../protocol/xtt/constants.ts';
import { equalBytes, wipe } from '../protocol/util/bytes.ts';
import { createRoot, createServerCertificate, XTT_KEY_FILES, type RootMaterial } from '../common/xtt-root.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';
import { writeNewFile } from '../common/fs-atomic.ts';

/** File names of the reference tool's examples (common/xtt-root.ts). */
export const ROOT_FILES = {
  keys: XTT_KEY_FILES.rootKeys,
  certificate: XTT_KEY_FILES.rootCertificate,
} as const;
export const SERVER_FILES = {
  keys: XTT_KEY_FILES.serverKeys,
  certificate: XTT_KEY_FILES.serverCertificate,
} as const;

export { createRoot, createServerCertificate, type RootMaterial };

/** Parses --reserved: exactly 24 bytes of text (the reference's default is XAPTUMSERVER000199991231). */
export function parseReserved(text: string | undefined): Uint8Array {
  const bytes = new TextEncoder().encode(text ?? DEFAULT_SERVER_CERT_RESERVED);
  if (bytes.length !== SERVER_CERT_RESERVED_LENGTH) {
    throw new FactoryError(
      FactoryErrorCode.BAD_VALUE,
      `--reserved must be exactly ${SERVER_CERT_RESERVED_LENGTH} bytes, got ${bytes.length}`,
      {
        field: 'reserved',
      },
    );
  }
  return bytes;
}

function prepareOutDir(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const n of names) {
    if (existsSync(join(dir, n))) {
      throw new FactoryError(
        FactoryErrorCode.EXISTS,
        `${join(dir, n)} already exists; refusing to overwrite`,
        { file: join(dir, n) },
      );
    }
  }
}

/** A file the command line names (or that must be in a named directory): absent is not found. */
function readFile(path: string, what: string): Uint8Array {
  if (!existsSync(path))
    throw new FactoryError(FactoryErrorCode.NOT_FOUND, `${path}: no such ${what}`, { file: path });
  return new Uint8Array(readFileSync(path));
}

function decodeFile<T>(path: string, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
  try {
    return decode(bytes);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new FactoryError(FactoryErrorCode.BATCH_CORRUPT, `${path}: ${why}`, { file: path, cause });
  }
}

/** Writes a new root into `dir` (key file 0600 first, certificate second); refuses to overwrite. */
export function writeRoot(dir: string, root: RootMaterial): { keys: string; certificate: string } {
  const paths = { keys: join(dir, ROOT_FILES.keys), certificate: join(dir, ROOT_FILES.certificate) };
  prepareOutDir(dir, [ROOT_FILES.keys, ROOT_FILES.certificate]);
  const keyFile = encodeP256KeyFile(root.keys);
  try {
    writeNewFile(paths.keys, keyFile, 0o600);
  } finally {
    wipe(keyFile);
  }
  writeNewFile(paths.certificate, root.certificateBytes, 0o644);
  return paths;
}

/** Reads a root certificate file (81 B) strictly. */
export function readRootCertificate(path: string): { certificate: RootCertificate; bytes: Uint8Array } {
  const bytes = readFile(path, 'root certificate');
  return { certificate: decodeFile(path, bytes, decodeRootCertificate), bytes };
}

/** Reads a root directory: key file and certificate, and checks that they belong together. */
export function readRoot(dir: string): RootMaterial {
  const keysPath = join(dir, ROOT_FILES.keys);
  const keys = decodeFile(keysPath, readFile(keysPath, 'root key file'), decodeP256KeyFile);
  const { certificate, bytes } = readRootCertificate(join(dir, ROOT_FILES.certificate));
  if (!equalBytes(keys.publicKey, certificate.publicKey)) {
    throw new FactoryError(
      FactoryErrorCode.BATCH_CORRUPT,
      `${join(dir, ROOT_FILES.certificate)}: public_key: is not the key in ${ROOT_FILES.keys}`,
      {
        file: join(dir, ROOT_FILES.certificate),
        field: 'public_key',
      },
    );
  }
  return { keys, certificate, certificateBytes: bytes };
}

/** Writes the server key file (0600) and certificate into `dir`; refuses to overwrite. */
export function writeServerCertificate(
  dir: string,
  server: { keys: P256KeyPair; certificateBytes: Uint8Array },
): { keys: string; certificate: string } {
  const paths = { keys: join(dir, SERVER_FILES.keys), certificate: join(dir, SERVER_FILES.certificate) };
  prepareOutDir(dir, [SERVER_FILES.keys, SERVER_FILES.certificate]);
  const keyFile = encodeP256KeyFile(server.keys);
  try {
    writeNewFile(paths.keys, keyFile, 0o600);
  } finally {
    wipe(keyFile);
  }
  writeNewFile(paths.certificate, server.certificateBytes, 0o644);
  return paths;
}
