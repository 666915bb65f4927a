// X25519 (RFC 7748) and ECDSA P-256 (FIPS 186-4, over SHA-256) on Node's OpenSSL, for the
// handshake's hot path: @noble/curves in pure JS costs milliseconds per scalar multiplication, which
// bounded the server at a few dozen handshakes per second (bench/server.bench.ts). node:crypto is
// not an I/O module, so protocol/ stays sans-I/O.
// Results are byte-identical to the noble code they replace (X25519 and ECDSA verification are
// deterministic; test/unit/protocol/xtt/openssl-primitives.test.ts compares both on random inputs).
// ECDSA signing here draws k inside OpenSSL, so it is only used where nobody replays k: the vector
// tests keep ecdsa-p256.ts's explicit-k path (see signP256 there).
// Raw keys enter OpenSSL through fixed DER prefixes: PKCS#8 / SPKI for X25519 (RFC 8410, id-X25519
// 1.3.101.110) and a PKCS#8 ECPrivateKey without the optional public key for P-256 (RFC 5915;
// OpenSSL derives the public point itself). Public P-256 points go in as JWK x, y, which OpenSSL
// checks to be on the curve.
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto';

const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const X25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
]);
// SEQUENCE { 0, SEQUENCE { id-ecPublicKey, prime256v1 }, OCTET STRING { ECPrivateKey { 1, d } } }
const P256_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
  0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
]);

/** prefix || key in a Buffer that the caller wipes (OpenSSL keeps its own copy). */
function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = Buffer.alloc(prefix.length + key.length);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}

function x25519PrivateKeyObject(privateKey: Uint8Array): KeyObject {
  const der = withPrefix(X25519_PKCS8_PREFIX, privateKey);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** X25519 public key of a 32-byte private draw (clamped by X25519 itself). */
export function opensslX25519PublicKey(privateKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(x25519PrivateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(X25519_SPKI_PREFIX.length));
}

/**
 * X25519(privateKey, peerPublicKey). OpenSSL refuses to return an all-zero result (a low-order peer
 * share) and throws; the caller maps that and re-checks for zeros itself.
 */
export function opensslX25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({
    key: withPrefix(X25519_SPKI_PREFIX, peerPublicKey),
    format: 'der',
    type: 'spki',
  });
  const shared = diffieHellman({ privateKey: x25519PrivateKeyObject(privateKey), publicKey });
  try {
    return new Uint8Array(shared);
  } finally {
    shared.fill(0);
  }
}

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

/** A P-256 public KeyObject from 04 || x || y; throws when the point is not on the curve. */
export function opensslP256PublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: b64u(publicKey.subarray(1, 33)), y: b64u(publicKey.subarray(33)) },
  });
}

/** ECDSA verification of raw r || s over SHA-256(message); high s accepted, r or s out of range rejected. */
export function opensslVerifyP256(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verify(
    'sha256',
    message,
    { key: opensslP256PublicKey(publicKey), dsaEncoding: 'ieee-p1363' },
    signature,
  );
}

/** A P-256 private KeyObject from a 32-byte big-endian scalar in [1, n-1] (checked by the caller). */
export function opensslP256PrivateKey(privateKey: Uint8Array): KeyObject {
  const der = withPrefix(P256_PKCS8_PREFIX, privateKey);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** ECDSA over SHA-256(message) with k drawn by OpenSSL; raw r || s. */
export function opensslSignP256(key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
}
