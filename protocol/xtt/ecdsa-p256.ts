// ECDSA P-256 as the reference's AMCL ECP_NIST256_SP_DSA / VP_DSA use it (vectors README,
// "Primitives"): SHA-256 over the message bytes (XTT's messages are 64-byte transcript hashes, so
// SHA-256 of SHA-512/BLAKE2b), k = a 32-byte random draw reduced mod n (no RFC 6979), no low-s
// normalisation, signature = raw r || s. Explicit k is what lets tests replay the recorded draws.
// Verification, and signing when k comes from the system RNG (nobody can replay it), run on Node's
// OpenSSL (openssl-primitives.ts), a small fraction of the CPU of the pure-JS path; the explicit-k
// path below stays pure JS for the vector tests.
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from '../errors.ts';
import { bigIntToBytes, bytesToBigInt, concatBytes } from '../util/bytes.ts';
import { systemRng, type Rng } from '../util/rng.ts';
import { P256_PUBLIC_KEY_LENGTH, P256_SIGNATURE_LENGTH } from './constants.ts';
import {
  opensslP256PrivateKey,
  opensslP256PublicKey,
  opensslSignP256,
  opensslVerifyP256,
} from './openssl-primitives.ts';

const Point = p256.Point;
const Fn = Point.Fn;
export const P256_ORDER: bigint = Fn.ORDER;

/** A P-256 private scalar from a 32-byte draw: big-endian, reduced mod n, no rejection sampling. */
export function p256ScalarFromDraw(draw: Uint8Array): bigint {
  if (draw.length !== 32) throw new RangeError('P-256 draw must be 32 bytes');
  return bytesToBigInt(draw) % P256_ORDER;
}

/** Draws a private key like the reference (`xtt genkeypair`, client context init): 32 bytes mod n. */
export function generateP256PrivateKey(rng: Rng): Uint8Array {
  for (;;) {
    const d = p256ScalarFromDraw(rng.bytes(32));
    if (d !== 0n) return bigIntToBytes(d, 32);
  }
}

/** Uncompressed public key 04 || x || y for a 32-byte big-endian private key. */
export function p256PublicKey(privateKey: Uint8Array): Uint8Array {
  const d = privateScalar(privateKey);
  return Point.BASE.multiply(d).toBytes(false);
}

function privateScalar(privateKey: Uint8Array): bigint {
  if (privateKey.length !== 32) throw new CryptoError('P256_KEY', 'private key must be 32 bytes');
  const d = bytesToBigInt(privateKey);
  if (d === 0n || d >= P256_ORDER) throw new CryptoError('P256_KEY', 'private key out of range');
  return d;
}

/**
 * Signs SHA-256(message) with an explicit nonce k (32-byte draw mod n). Returns r || s, or null in
 * the negligible case that k, r or s is zero (the caller draws a new k, as AMCL does).
 */
export function signP256WithK(
  privateKey: Uint8Array,
  message: Uint8Array,
  kDraw: Uint8Array,
): Uint8Array | null {
  const d = privateScalar(privateKey);
  const k = p256ScalarFromDraw(kDraw);
  if (k === 0n) return null;
  const r = Fn.create(Point.BASE.multiply(k).toAffine().x);
  if (r === 0n) return null;
  const e = Fn.create(bytesToBigInt(sha256(message)));
  const s = Fn.mul(Fn.inv(k), Fn.add(e, Fn.mul(r, d)));
  if (s === 0n) return null;
  return concatBytes(bigIntToBytes(r, 32), bigIntToBytes(s, 32));
}

/**
 * ECDSA P-256 signature with k drawn from rng (one 32-byte draw per attempt). With `systemRng` the
 * draw of k is left to OpenSSL (uniform in [1, n-1]); such a k could not be replayed anyway.
 */
export function signP256(privateKey: Uint8Array, message: Uint8Array, rng: Rng): Uint8Array {
  if (rng === systemRng) {
    privateScalar(privateKey);
    return opensslSignP256(opensslP256PrivateKey(privateKey), message);
  }
  for (;;) {
    const sig = signP256WithK(privateKey, message, rng.bytes(32));
    if (sig) return sig;
  }
}

/** Verifies raw r || s over SHA-256(message); accepts high s (the reference never normalises). */
export function verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (
    publicKey.length !== P256_PUBLIC_KEY_LENGTH ||
    publicKey[0] !== 0x04 || // the JWK import only sees x and y
    signature.length !== P256_SIGNATURE_LENGTH
  )
    return false;
  try {
    return opensslVerifyP256(publicKey, message, signature);
  } catch {
    // Malformed points or out-of-range r/s are a failed verification, not a crash.
    return false;
  }
}

/**
 * True when the bytes are an uncompressed point on P-256 (not the identity). Checked by OpenSSL's
 * import (EC_KEY_set_public_key_affine_coordinates: coordinates below p, the point on the curve),
 * whose key a later verifyP256 of the same array reuses (openssl-primitives.ts).
 */
export function isValidP256PublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== P256_PUBLIC_KEY_LENGTH || publicKey[0] !== 0x04) return false;
  try {
    opensslP256PublicKey(publicKey);
    return true;
  } catch {
    return false;
  }
}
