// X25519 (RFC 7748) and ECDSA P-256 (FIPS 186-4, over SHA-256) on Node's OpenSSL, for the
// handshake's hot path: @noble/curves in pure JS costs milliseconds per scalar multiplication, which
// bounded the server at a few dozen handshakes per second (bench/server.bench.ts). node:crypto is
// not an I/O module, so protocol/ stays sans-I/O.
// Results are byte-identical to the noble code they replace (X25519 and ECDSA verification are
// deterministic; test/unit/protocol/xtt/openssl-primitives.test.ts compares both on random inputs).
// ECDSA signing here draws k inside OpenSSL, so it is only used where nobody replays k: the vector
// tests keep ecdsa-p256.ts's explicit-k path (see signP256 there).
// Raw keys enter OpenSSL as JWK where possible (public keys, X25519 private keys, and P-256
// private keys with their public point: OpenSSL 3's DER decoders cost 0.3-0.9 ms a key, its JWK
// import microseconds) and through a fixed PKCS#8 prefix otherwise: an ECPrivateKey without the
// optional public key for P-256 (RFC 5915; OpenSSL derives the point).
// Public P-256 points are checked by OpenSSL to be on the curve.
//
// No key here comes from generateKeyPair/generateKeyPairSync. On Node 20 a generated key shares one
// mutex with the key-generation job that made it; the job's destructor takes that mutex, and the
// JWK exporters (ExportJWKEdKey, ExportJWKEcKey) hold it while they allocate strings. When that
// allocation triggers a garbage collection that finalizes the (already finished) job, the main
// thread waits forever on a lock it holds (gdb: ExportJWKEdKey -> String::NewFromOneByte -> GC ->
// ~KeyGenJob -> uv_mutex_lock). A key imported from a raw draw has a mutex of its own that no job
// ever takes, so exporting it cannot deadlock. test/unit/architecture keeps generateKeyPair out of
// the tree; test/unit/protocol/xtt/x25519-soak.test.ts runs the handshake's sequence thousands of
// times in a child process under a timeout; bench/x25519-soak.bench.ts a million times.
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto';

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

// Node's JWK import of an OKP private key reads only `d` (and derives the public key from it);
// `x` must be present as a string, so it carries this placeholder, never the real public key.
const X25519_JWK_X_PLACEHOLDER = b64u(new Uint8Array(32));

/**
 * An X25519 private KeyObject from a raw 32-byte draw (any 32 bytes; X25519 clamps). The draw stays
 * the caller's to wipe; the base64url text handed to OpenSSL is the one copy JavaScript cannot
 * wipe (it is garbage as soon as this returns).
 */
export function opensslX25519PrivateKey(privateKey: Uint8Array): KeyObject {
  return createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'X25519', d: b64u(privateKey), x: X25519_JWK_X_PLACEHOLDER },
  });
}

/** The 32-byte public key of an X25519 KeyObject (private or public) made by this module. */
export function opensslX25519PublicKeyOf(key: KeyObject): Uint8Array {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const { x } = publicKey.export({ format: 'jwk' });
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

/**
 * Imported P-256 public keys by the array that held them, with a copy of its bytes. Importing costs
 * as much as verifying (OpenSSL checks the point: EC_KEY_check_key), and the same array
 * comes back: a client's root keys in every handshake, and a key checked by isValidP256PublicKey and
 * then used to verify. An entry is used only while the array still holds the same bytes, and goes
 * with the array.
 */
const importedP256 = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A P-256 public KeyObject from 04 || x || y; throws when the point is not on the curve. */
export function opensslP256PublicKey(publicKey: Uint8Array): KeyObject {
  const known = importedP256.get(publicKey);
  if (known && sameBytes(known.bytes, publicKey)) return known.key;
  const key = createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: b64u(publicKey.subarray(1, 33)), y: b64u(publicKey.subarray(33)) },
  });
  importedP256.set(publicKey, { bytes: publicKey.slice(), key });
  return key;
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
