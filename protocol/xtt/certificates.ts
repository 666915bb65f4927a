// The reference's certificate and key-file formats (vectors README, "Static inputs and certificate
// formats"; not in draft-xaptum-xtt, discrepancy 7):
//   root certificate   (81 B, unsigned, never on the wire) = root_id 16 || root public key 65
//   server certificate (169 B) = reserved 24 || root_id 16 || server public key 65 || root_signature 64
//     root_signature = ECDSA-P256-SHA256 by the root key over the first 105 bytes, raw r || s
//   key files (121 B) = SEC1 DER ECPrivateKey with the P-256 OID and the uncompressed public key.
import { DecodeError, ProtocolError } from '../errors.ts';
import { ByteReader, concatBytes, equalBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import {
  DEFAULT_SERVER_CERT_RESERVED,
  P256_PUBLIC_KEY_LENGTH,
  P256_SIGNATURE_LENGTH,
  ROOT_CERTIFICATE_LENGTH,
  ROOT_ID_LENGTH,
  SERVER_CERT_RESERVED_LENGTH,
  SERVER_CERTIFICATE_LENGTH,
  SERVER_CERTIFICATE_SIGNED_LENGTH,
} from './constants.ts';
import { isValidP256PublicKey, p256PublicKey, signP256, verifyP256 } from './ecdsa-p256.ts';

export interface RootCertificate {
  rootId: Uint8Array;
  publicKey: Uint8Array;
}

export interface ServerCertificate {
  reserved: Uint8Array;
  rootId: Uint8Array;
  publicKey: Uint8Array;
  rootSignature: Uint8Array;
}

export function encodeRootCertificate(c: RootCertificate): Uint8Array {
  if (c.rootId.length !== ROOT_ID_LENGTH) throw new RangeError('root_id must be 16 bytes');
  if (c.publicKey.length !== P256_PUBLIC_KEY_LENGTH) throw new RangeError('public key must be 65 bytes');
  return concatBytes(c.rootId, c.publicKey);
}

export function decodeRootCertificate(b: Uint8Array): RootCertificate {
  if (b.length !== ROOT_CERTIFICATE_LENGTH) {
    throw new DecodeError('RootCertificate', 0, `must be ${ROOT_CERTIFICATE_LENGTH} bytes, got ${b.length}`);
  }
  const r = new ByteReader(b, 'RootCertificate');
  const rootId = r.bytes(ROOT_ID_LENGTH, 'root_id').slice();
  const at = r.offset;
  const publicKey = r.bytes(P256_PUBLIC_KEY_LENGTH, 'public_key').slice();
  r.end();
  if (!isValidP256PublicKey(publicKey))
    throw new DecodeError('RootCertificate.public_key', at, 'not a P-256 point');
  return { rootId, publicKey };
}

export function encodeServerCertificate(c: ServerCertificate): Uint8Array {
  if (c.reserved.length !== SERVER_CERT_RESERVED_LENGTH) throw new RangeError('reserved must be 24 bytes');
  if (c.rootId.length !== ROOT_ID_LENGTH) throw new RangeError('root_id must be 16 bytes');
  if (c.publicKey.length !== P256_PUBLIC_KEY_LENGTH) throw new RangeError('public key must be 65 bytes');
  if (c.rootSignature.length !== P256_SIGNATURE_LENGTH)
    throw new RangeError('root signature must be 64 bytes');
  return concatBytes(c.reserved, c.rootId, c.publicKey, c.rootSignature);
}

/** Layout only; the public key is checked for curve membership. Trust comes from verifyServerCertificate. */
export function decodeServerCertificate(b: Uint8Array): ServerCertificate {
  if (b.length !== SERVER_CERTIFICATE_LENGTH) {
    throw new DecodeError(
      'ServerCertificate',
      0,
      `must be ${SERVER_CERTIFICATE_LENGTH} bytes, got ${b.length}`,
    );
  }
  const r = new ByteReader(b, 'ServerCertificate');
  const reserved = r.bytes(SERVER_CERT_RESERVED_LENGTH, 'reserved').slice();
  const rootId = r.bytes(ROOT_ID_LENGTH, 'root_id').slice();
  const at = r.offset;
  const publicKey = r.bytes(P256_PUBLIC_KEY_LENGTH, 'public_key').slice();
  const rootSignature = r.bytes(P256_SIGNATURE_LENGTH, 'root_signature').slice();
  r.end();
  if (!isValidP256PublicKey(publicKey))
    throw new DecodeError('ServerCertificate.public_key', at, 'not a P-256 point');
  return { reserved, rootId, publicKey, rootSignature };
}

/** What `xtt genservercert` does: the root signs reserved || root_id || server public key. */
export function issueServerCertificate(args: {
  rootId: Uint8Array;
  rootPrivateKey: Uint8Array;
  serverPublicKey: Uint8Array;
  reserved?: Uint8Array;
  rng: Rng;
}): Uint8Array {
  const reserved = args.reserved ?? new TextEncoder().encode(DEFAULT_SERVER_CERT_RESERVED);
  const signed = concatBytes(reserved, args.rootId, args.serverPublicKey);
  if (signed.length !== SERVER_CERTIFICATE_SIGNED_LENGTH) throw new RangeError('bad certificate field sizes');
  return concatBytes(signed, signP256(args.rootPrivateKey, signed, args.rng));
}

/**
 * Client-side acceptance: the root_id names a root we hold and the root signature over the first
 * 105 bytes verifies. (The reference tool compares root ids with strncmp; we compare all 16 bytes.)
 */
export function verifyServerCertificate(
  certificate: Uint8Array,
  roots: readonly RootCertificate[],
): ServerCertificate {
  const stage = 'ServerInitAndAttest';
  let cert: ServerCertificate;
  try {
    cert = decodeServerCertificate(certificate);
  } catch (cause) {
    throw new ProtocolError('BAD_SERVER_CERTIFICATE', stage, 'server certificate does not decode', { cause });
  }
  const root = roots.find((r) => equalBytes(r.rootId, cert.rootId));
  if (!root) throw new ProtocolError('UNKNOWN_ROOT', stage, 'server certificate names an unknown root_id');
  const signed = certificate.subarray(0, SERVER_CERTIFICATE_SIGNED_LENGTH);
  if (!verifyP256(root.publicKey, signed, cert.rootSignature)) {
    throw new ProtocolError(
      'BAD_ROOT_SIGNATURE',
      stage,
      'root signature on the server certificate does not verify',
    );
  }
  return cert;
}

// SEC1 ECPrivateKey, the exact 121-byte layout the reference writes:
// 30 77 02 01 01 04 20 <priv 32> a0 0a 06 08 2a8648ce3d030107 a1 44 03 42 00 <pub 65>
const DER_PREFIX = Uint8Array.from([0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
const DER_MIDDLE = Uint8Array.from([
  0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0xa1, 0x44, 0x03, 0x42, 0x00,
]);
export const P256_KEY_FILE_LENGTH = 121;

export interface P256KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function encodeP256KeyFile(k: P256KeyPair): Uint8Array {
  if (k.privateKey.length !== 32 || k.publicKey.length !== P256_PUBLIC_KEY_LENGTH) {
    throw new RangeError('P-256 key pair sizes');
  }
  return concatBytes(DER_PREFIX, k.privateKey, DER_MIDDLE, k.publicKey);
}

/** Strict: exactly the reference's layout, and the public key must belong to the private key. */
export function decodeP256KeyFile(b: Uint8Array): P256KeyPair {
  const r = new ByteReader(b, 'P256KeyFile');
  expectBytes(r, DER_PREFIX, 'header');
  const privateKey = r.bytes(32, 'private_key').slice();
  expectBytes(r, DER_MIDDLE, 'parameters');
  const at = r.offset;
  const publicKey = r.bytes(P256_PUBLIC_KEY_LENGTH, 'public_key').slice();
  r.end();
  let derived: Uint8Array;
  try {
    derived = p256PublicKey(privateKey);
  } catch (cause) {
    throw new DecodeError('P256KeyFile.private_key', 7, 'not a valid P-256 scalar', { cause });
  }
  if (!equalBytes(derived, publicKey)) {
    throw new DecodeError('P256KeyFile.public_key', at, 'does not match the private key');
  }
  return { privateKey, publicKey };
}

function expectBytes(r: ByteReader, expected: Uint8Array, field: string): void {
  const at = r.offset;
  const got = r.bytes(expected.length, field);
  if (!equalBytes(got, expected)) throw new DecodeError(`P256KeyFile.${field}`, at, 'unexpected DER bytes');
}
