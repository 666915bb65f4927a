// X25519 (RFC 7748) and ECDSA P-256 (FIPS 186-4, over SHA-256) on Node's OpenSSL, for the
// handshake's hot path: @noble/curves in pure JS costs milliseconds per scalar multiplication, which
// bounded the server at a few dozen handshakes per second (bench/server.bench.ts). node:crypto is
// not an I/O module, so protocol/ stays sans-I/O.
// Results are byte-identical to the noble code they replace (X25519 and ECDSA verification are
// deterministic; test/unit/protocol/xtt/openssl-primitives.test.ts compares both on random inputs).
// ECDSA signing here draws k inside OpenSSL, so it is only used where nobody replays k: the vector
// tests keep ecdsa-p256.ts's explicit-k path (see signP256 there).
// Raw keys enter OpenSSL as JWK where possible (public keys, and P-256 private keys with their
// public point: OpenSSL 3's DER decoders cost 0.3-0.9 ms a key, its JWK import microseconds) and
// through fixed PKCS#8 prefixes otherwise: X25519 (RFC 8410, id-X25519 1.3.101.110) and an
// ECPrivateKey without the optional public key for P-256 (RFC 5915; OpenSSL derives the point).
// Public P-256 points are checked by OpenSSL to be on the curve.
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
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

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

/**
 * An X25519 private KeyObject from a raw 32-byte draw (replayable: the vector tests). OpenSSL 3's
 * PKCS#8 decoder costs the better part of a millisecond; production keys come from
 * opensslX25519Generate instead.
 */
export function opensslX25519PrivateKey(privateKey: Uint8Array): KeyObject {
  const der = withPrefix(X25519_PKCS8_PREFIX, privateKey);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** A fresh X25519 key drawn by OpenSSL, and its public key. */
export function opensslX25519Generate(): { key: KeyObject; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  return { key: privateKey, publicKey: opensslX25519PublicKeyOf(privateKey) };
}

/** The 32-byte public key of an X25519 KeyObject (private or public). */
export function opensslX25519PublicKeyOf(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new TypeError('X25519 key without public part');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/** X25519 public key of a 32-byte private draw (clamped by X25519 itself). */
export function opensslX25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return opensslX25519PublicKeyOf(opensslX25519PrivateKey(privateKey));
}

/**
 * X25519(key, peerPublicKey). The peer's 32 bytes enter as a JWK (any 32 bytes are an X25519 public
 * key; the JWK import is ~30x cheaper than SPKI DER). OpenSSL refuses to return an all-zero result
 * (a low-order peer share) and throws; the caller maps that and re-checks for zeros itself.
 */
export function opensslX25519Derive(key: KeyObject, peerPublicKey: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'X25519', x: b64u(peerPublicKey) },
  });
  const shared = diffieHellman({ privateKey: key, publicKey });
  try {
    return new Uint8Array(shared);
  } finally {
    shared.fill(0);
  }
}

/** X25519(privateKey, peerPublicKey) for a raw private draw. */
export function opensslX25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  return opensslX25519Derive(opensslX25519PrivateKey(privateKey), peerPublicKey);
}

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

/** A P-256 private KeyObject from d and its public point 04 || x || y (the caller vouches they match). */
export function opensslP256KeyPair(privateKey: Uint8Array, publicKey: Uint8Array): KeyObject {
  return createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: b64u(privateKey),
      x: b64u(publicKey.subarray(1, 33)),
      y: b64u(publicKey.subarray(33)),
    },
  });
}

/** ECDSA over SHA-256(message) with k drawn by OpenSSL; raw r || s. */
export function opensslSignP256(key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
}
