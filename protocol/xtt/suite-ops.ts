// Per-suite primitives exactly as libxtt 0.12.0 calls libsodium (vectors README, "Primitives, exactly
// as the reference uses them"): hash = SHA-512 or unkeyed BLAKE2b-512; prf<N> = HMAC-SHA-512
// truncated to N bytes, or BLAKE2b keyed with K and digest length N (not a truncation); AEAD =
// ChaCha20-Poly1305 IETF or AES-256-GCM with a 16-byte tag appended, nonce = iv XOR u32be(seq).
// Deviation from draft-xaptum-xtt: no prf_ext length prefix anywhere (discrepancies 3 and 4).
// SHA-512, HMAC-SHA-512 and unkeyed BLAKE2b-512 run on node:crypto (OpenSSL; several per handshake
// on the server's main thread); keyed BLAKE2b with a chosen digest length, which OpenSSL does not
// offer through Node, stays on @noble/hashes.
import { createCipheriv, createDecipheriv, createHash, createHmac, type CipherGCMTypes } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import { CryptoError } from '../errors.ts';
import { concatBytes, u16be } from '../util/bytes.ts';
import {
  AEAD_IV_LENGTH,
  AEAD_KEY_LENGTH,
  AEAD_TAG_LENGTH,
  HASH_LENGTH,
  type SuiteSpec,
} from './constants.ts';

export type HashName = 'sha512' | 'blake2b';
export type AeadName = 'chacha20-poly1305' | 'aes-256-gcm';

export interface SuiteOps {
  readonly suite: SuiteSpec;
  readonly name: string;
  readonly hashName: HashName;
  readonly aeadName: AeadName;
  hash(x: Uint8Array): Uint8Array;
  /** hash(uint16_be(len(x)) || x) */
  hashExt(x: Uint8Array): Uint8Array;
  prf(key: Uint8Array, x: Uint8Array, outLen: number): Uint8Array;
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws CryptoError('AEAD_TAG') when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array;
}

function hashWith(name: HashName, x: Uint8Array): Uint8Array {
  // 'blake2b512' is BLAKE2b with digest length 64, no key: the same as libsodium's crypto_generichash(64)
  return new Uint8Array(
    createHash(name === 'sha512' ? 'sha512' : 'blake2b512')
      .update(x)
      .digest(),
  );
}

function prfWith(name: HashName, key: Uint8Array, x: Uint8Array, outLen: number): Uint8Array {
  if (outLen < 1 || outLen > HASH_LENGTH) throw new RangeError(`prf output length ${outLen}`);
  if (name === 'sha512') {
    const mac = createHmac('sha512', key).update(x).digest();
    try {
      return new Uint8Array(mac.subarray(0, outLen));
    } finally {
      mac.fill(0);
    }
  }
  return blake2b(x, { key, dkLen: outLen });
}

function aeadSeal(
  name: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  checkAeadParams(key, nonce);
  if (name === 'chacha20-poly1305') {
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    c.setAAD(ad, { plaintextLength: plaintext.length });
    return concatBytes(c.update(plaintext), c.final(), c.getAuthTag());
  }
  const c = createCipheriv('aes-256-gcm' satisfies CipherGCMTypes, key, nonce, {
    authTagLength: AEAD_TAG_LENGTH,
  });
  c.setAAD(ad);
  return concatBytes(c.update(plaintext), c.final(), c.getAuthTag());
}

function aeadOpen(
  name: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array {
  checkAeadParams(key, nonce);
  if (sealed.length < AEAD_TAG_LENGTH) throw new CryptoError('AEAD_TAG', 'ciphertext shorter than the tag');
  const ct = sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_LENGTH);
  try {
    if (name === 'chacha20-poly1305') {
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
      d.setAAD(ad, { plaintextLength: ct.length });
      d.setAuthTag(tag);
      return concatBytes(d.update(ct), d.final());
    }
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    d.setAAD(ad);
    d.setAuthTag(tag);
    return concatBytes(d.update(ct), d.final());
  } catch (cause) {
    throw new CryptoError('AEAD_TAG', `${name}: authentication tag does not verify`, { cause });
  }
}

function checkAeadParams(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_LENGTH) throw new RangeError(`AEAD key must be ${AEAD_KEY_LENGTH} bytes`);
  if (nonce.length !== AEAD_IV_LENGTH) throw new RangeError(`AEAD nonce must be ${AEAD_IV_LENGTH} bytes`);
}

function makeOps(suite: SuiteSpec, name: string, hashName: HashName, aeadName: AeadName): SuiteOps {
  return Object.freeze({
    suite,
    name,
    hashName,
    aeadName,
    hash: (x: Uint8Array) => hashWith(hashName, x),
    hashExt: (x: Uint8Array) => hashWith(hashName, concatBytes(u16be(x.length), x)),
    prf: (k: Uint8Array, x: Uint8Array, n: number) => prfWith(hashName, k, x, n),
    seal: (k: Uint8Array, n: Uint8Array, ad: Uint8Array, p: Uint8Array) => aeadSeal(aeadName, k, n, ad, p),
    open: (k: Uint8Array, n: Uint8Array, ad: Uint8Array, c: Uint8Array) => aeadOpen(aeadName, k, n, ad, c),
  });
}

const OPS: Record<SuiteSpec, SuiteOps> = {
  1: makeOps(1, 'XTT_X25519_LRSW_ECDSAP256_CHACHA20POLY1305_SHA512', 'sha512', 'chacha20-poly1305'),
  2: makeOps(2, 'XTT_X25519_LRSW_ECDSAP256_CHACHA20POLY1305_BLAKE2B', 'blake2b', 'chacha20-poly1305'),
  3: makeOps(3, 'XTT_X25519_LRSW_ECDSAP256_AES256GCM_SHA512', 'sha512', 'aes-256-gcm'),
  4: makeOps(4, 'XTT_X25519_LRSW_ECDSAP256_AES256GCM_BLAKE2B', 'blake2b', 'aes-256-gcm'),
};

export function suiteOps(suite: SuiteSpec): SuiteOps {
  return OPS[suite];
}

/** nonce = iv XOR (0x00 x 8 || uint32_be(seq)); each direction counts from 0. */
export function aeadNonce(iv: Uint8Array, seq: number): Uint8Array {
  if (iv.length !== AEAD_IV_LENGTH) throw new RangeError(`iv must be ${AEAD_IV_LENGTH} bytes`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new RangeError(`sequence ${seq}`);
  const out = iv.slice();
  out[8]! ^= (seq >>> 24) & 0xff;
  out[9]! ^= (seq >>> 16) & 0xff;
  out[10]! ^= (seq >>> 8) & 0xff;
  out[11]! ^= seq & 0xff;
  return out;
}
