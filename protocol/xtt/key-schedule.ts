// XTT 0.12 key schedule and transcript hashes exactly as libxtt 0.12.0 computes them (vectors
// README, "The handshake, in the order the reference computes it"):
//   inner             = hash_ext(ClientInit || SIAA[0:38])
//   HandshakeKeyHash  = hash_ext(inner || server_cookie)
//   handshake_secret  = prf<64>(64 zero bytes, X25519 shared)            (no length prefix)
//   key/iv            = prf<N>(handshake_secret, HandshakeKeyHash || label) (no length prefix)
//   ServerSigHash     = hash_ext(ClientInit || SIAA[0:168] || certificate)
//   ClientLongtermSigHash / ClientDAASigHash: the reference's truncated transcript (discrepancy 5):
//     hash(uint16(314) || inner || cookie[0] || certificate || signature_s || ICA[0:16])   316 bytes
//     hash(uint16(378) || inner || cookie[0] || certificate || signature_s || ICA[0:80])   380 bytes
//   Every peer must reproduce the truncation or the reference rejects its signatures.
import { CryptoError } from '../errors.ts';
import { concatBytes, u16be } from '../util/bytes.ts';
import {
  AEAD_IV_LENGTH,
  AEAD_KEY_LENGTH,
  COOKIE_LENGTH,
  HASH_LENGTH,
  LABEL_CLIENT_IV,
  LABEL_CLIENT_KEY,
  LABEL_SERVER_IV,
  LABEL_SERVER_KEY,
  P256_SIGNATURE_LENGTH,
  SERVER_CERTIFICATE_LENGTH,
  X25519_LENGTH,
} from './constants.ts';
import type { Rng } from '../util/rng.ts';
import {
  opensslX25519Derive,
  opensslX25519PrivateKey,
  opensslX25519PublicKey,
  opensslX25519PublicKeyOf,
} from './openssl-primitives.ts';
import type { SuiteOps } from './suite-ops.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * X25519 public key for a raw 32-byte private draw (clamped inside X25519, like libsodium). On
 * OpenSSL (openssl-primitives.ts): the private key stays a raw draw so the vectors replay it.
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== X25519_LENGTH) throw new RangeError('X25519 private key must be 32 bytes');
  return opensslX25519PublicKey(privateKey);
}

function checkedShared(derive: () => Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = derive();
  } catch (cause) {
    throw new CryptoError('X25519', 'peer key share gives an all-zero shared secret', { cause });
  }
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new CryptoError('X25519', 'peer key share gives an all-zero shared secret');
  return shared;
}

/**
 * crypto_scalarmult: rejects an all-zero shared secret (low-order peer key). OpenSSL throws on one;
 * the zero check stays so the rule does not rest on that library behaviour.
 */
export function x25519Shared(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  if (privateKey.length !== X25519_LENGTH || peerPublicKey.length !== X25519_LENGTH) {
    throw new CryptoError('X25519', 'X25519 keys must be 32 bytes');
  }
  return checkedShared(() => opensslX25519Derive(opensslX25519PrivateKey(privateKey), peerPublicKey));
}

/** A handshake's ephemeral X25519 key: its public share, and one use for the shared secret. */
export interface X25519Ephemeral {
  readonly publicKey: Uint8Array;
  /** x25519Shared with this key; same checks. */
  shared(peerPublicKey: Uint8Array): Uint8Array;
}

/**
 * Draws an ephemeral X25519 key: 32 bytes from `rng` (the system RNG in production; the vector
 * tests replay the reference's draws), wiped as soon as OpenSSL holds the key, which is freed and
 * cleared by OpenSSL when collected. Never generateKeyPairSync: see openssl-primitives.ts on the
 * Node 20 deadlock between a generated key's JWK export and its generation job.
 */
export function x25519Ephemeral(rng: Rng): X25519Ephemeral {
  const draw = rng.bytes(X25519_LENGTH);
  const key = opensslX25519PrivateKey(draw);
  draw.fill(0);
  return {
    publicKey: opensslX25519PublicKeyOf(key),
    shared: (peer) => {
      if (peer.length !== X25519_LENGTH) throw new CryptoError('X25519', 'X25519 keys must be 32 bytes');
      return checkedShared(() => opensslX25519Derive(key, peer));
    },
  };
}

/** inner = hash_ext(ClientInit (70) || SIAA[0:38]) */
export function handshakeKeyHashInner(
  ops: SuiteOps,
  clientInit: Uint8Array,
  siaaUnencrypted: Uint8Array,
): Uint8Array {
  return ops.hashExt(concatBytes(clientInit, siaaUnencrypted.subarray(0, 38)));
}

/** HandshakeKeyHash = hash_ext(inner (64) || server_cookie (130)) */
export function handshakeKeyHash(ops: SuiteOps, inner: Uint8Array, cookie: Uint8Array): Uint8Array {
  if (inner.length !== HASH_LENGTH || cookie.length !== COOKIE_LENGTH)
    throw new RangeError('HandshakeKeyHash inputs');
  return ops.hashExt(concatBytes(inner, cookie));
}

export interface HandshakeKeys {
  clientKey: Uint8Array;
  clientIv: Uint8Array;
  serverKey: Uint8Array;
  serverIv: Uint8Array;
}

export function deriveHandshakeKeys(ops: SuiteOps, shared: Uint8Array, keyHash: Uint8Array): HandshakeKeys {
  const secret = ops.prf(new Uint8Array(HASH_LENGTH), shared, HASH_LENGTH);
  try {
    const prf = (label: string, n: number): Uint8Array =>
      ops.prf(secret, concatBytes(keyHash, ascii(label)), n);
    return {
      clientKey: prf(LABEL_CLIENT_KEY, AEAD_KEY_LENGTH),
      clientIv: prf(LABEL_CLIENT_IV, AEAD_IV_LENGTH),
      serverKey: prf(LABEL_SERVER_KEY, AEAD_KEY_LENGTH),
      serverIv: prf(LABEL_SERVER_IV, AEAD_IV_LENGTH),
    };
  } finally {
    secret.fill(0);
  }
}

/** The handshake secret alone (exposed for the vector tests). */
export function handshakeSecret(ops: SuiteOps, shared: Uint8Array): Uint8Array {
  return ops.prf(new Uint8Array(HASH_LENGTH), shared, HASH_LENGTH);
}

export function wipeHandshakeKeys(k: HandshakeKeys): void {
  k.clientKey.fill(0);
  k.clientIv.fill(0);
  k.serverKey.fill(0);
  k.serverIv.fill(0);
}

/** ServerSigHash = hash_ext(ClientInit || SIAA[0:168] || certificate (plaintext)) */
export function serverSigHash(
  ops: SuiteOps,
  clientInit: Uint8Array,
  siaaUnencrypted: Uint8Array,
  certificate: Uint8Array,
): Uint8Array {
  return ops.hashExt(concatBytes(clientInit, siaaUnencrypted, certificate));
}

function truncatedClientTranscript(
  ops: SuiteOps,
  total: number,
  inner: Uint8Array,
  cookie: Uint8Array,
  certificate: Uint8Array,
  signatureS: Uint8Array,
  icaUnencrypted: Uint8Array,
): Uint8Array {
  if (
    inner.length !== HASH_LENGTH ||
    cookie.length !== COOKIE_LENGTH ||
    certificate.length !== SERVER_CERTIFICATE_LENGTH ||
    signatureS.length !== P256_SIGNATURE_LENGTH
  ) {
    throw new RangeError('client transcript inputs');
  }
  const head = concatBytes(u16be(total - 2), inner, cookie.subarray(0, 1), certificate, signatureS);
  const icaPart = total - head.length;
  if (icaUnencrypted.length < icaPart)
    throw new RangeError('client transcript needs more of Identity_ClientAttest');
  return ops.hash(concatBytes(head, icaUnencrypted.subarray(0, icaPart)));
}

/** The 316-byte ClientLongtermSigHash input the reference hashes (ICA[0:16] at the end). */
export function clientLongtermSigHash(
  ops: SuiteOps,
  inner: Uint8Array,
  cookie: Uint8Array,
  certificate: Uint8Array,
  signatureS: Uint8Array,
  icaUnencrypted: Uint8Array,
): Uint8Array {
  return truncatedClientTranscript(ops, 316, inner, cookie, certificate, signatureS, icaUnencrypted);
}

/** The 380-byte ClientDAASigHash input the reference hashes (ICA[0:80] at the end). */
export function clientDaaSigHash(
  ops: SuiteOps,
  inner: Uint8Array,
  cookie: Uint8Array,
  certificate: Uint8Array,
  signatureS: Uint8Array,
  icaUnencrypted: Uint8Array,
): Uint8Array {
  return truncatedClientTranscript(ops, 380, inner, cookie, certificate, signatureS, icaUnencrypted);
}
