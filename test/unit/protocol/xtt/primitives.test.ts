// protocol/xtt/suite-ops.ts, ecdsa-p256.ts, key-schedule.ts: the properties the vectors cannot show
// alone: BLAKE2b prf<N> is not a truncation, nonce XOR, AEAD tag checks, ECDSA accepts high s and
// rejects malformed input, X25519 rejects low-order shares, transcript truncation lengths.
import test from 'ava';
import { p256 } from '@noble/curves/nist.js';
import { CryptoError } from '../../../../protocol/errors.ts';
import { bigIntToBytes, bytesToBigInt, concatBytes, toHex } from '../../../../protocol/util/bytes.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import {
  P256_ORDER,
  p256PublicKey,
  signP256,
  signP256WithK,
  verifyP256,
} from '../../../../protocol/xtt/ecdsa-p256.ts';
import {
  clientDaaSigHash,
  clientLongtermSigHash,
  x25519Shared,
} from '../../../../protocol/xtt/key-schedule.ts';
import { aeadNonce, suiteOps } from '../../../../protocol/xtt/suite-ops.ts';

test('prf: HMAC-SHA-512 truncates, BLAKE2b sets the digest length', (t) => {
  const key = systemRng.bytes(64);
  const x = systemRng.bytes(40);
  const sha = suiteOps(1);
  t.is(toHex(sha.prf(key, x, 32)), toHex(sha.prf(key, x, 64).subarray(0, 32)));
  const b2 = suiteOps(2);
  t.not(toHex(b2.prf(key, x, 32)), toHex(b2.prf(key, x, 64).subarray(0, 32)));
  t.throws(() => sha.prf(key, x, 65), { instanceOf: RangeError });
  t.is(toHex(sha.hashExt(x)), toHex(sha.hash(concatBytes(Uint8Array.of(0, 40), x))));
});

test('aeadNonce XORs the big-endian sequence into the last 4 bytes', (t) => {
  const iv = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff]);
  t.is(toHex(aeadNonce(iv, 0)), toHex(iv));
  t.is(toHex(aeadNonce(iv, 0x01020304)), '0102030405060708fefdfcfb');
  t.throws(() => aeadNonce(iv, -1), { instanceOf: RangeError });
  t.throws(() => aeadNonce(iv.subarray(1), 0), { instanceOf: RangeError });
});

for (const suite of [1, 3] as const) {
  test(`suite ${suite} AEAD: round trip; tag, AD and nonce are all checked`, (t) => {
    const ops = suiteOps(suite);
    const key = systemRng.bytes(32);
    const nonce = systemRng.bytes(12);
    const ad = systemRng.bytes(20);
    const pt = systemRng.bytes(100);
    const ct = ops.seal(key, nonce, ad, pt);
    t.is(ct.length, 116);
    t.is(toHex(ops.open(key, nonce, ad, ct)), toHex(pt));
    const bad = ct.slice();
    bad[115]! ^= 1;
    t.throws(() => ops.open(key, nonce, ad, bad), { instanceOf: CryptoError });
    t.throws(() => ops.open(key, nonce, ad.subarray(1), ct), { instanceOf: CryptoError });
    t.throws(() => ops.open(key, aeadNonce(nonce, 1), ad, ct), { instanceOf: CryptoError });
    t.throws(() => ops.open(key, nonce, ad, ct.subarray(0, 15)), { instanceOf: CryptoError });
    t.throws(() => ops.seal(key.subarray(1), nonce, ad, pt), { instanceOf: RangeError });
  });
}

test('ECDSA: explicit k matches the textbook; high s verifies (no normalisation); garbage does not', (t) => {
  const d = systemRng.bytes(32);
  d[0] = 0x11;
  const pub = p256PublicKey(d);
  const msg = systemRng.bytes(64);
  const sig = signP256(d, msg, systemRng);
  t.true(verifyP256(pub, msg, sig));
  // (r, n - s) is the other valid signature; a low-s-only verifier would reject one of the two.
  const s = bytesToBigInt(sig.subarray(32));
  const flipped = concatBytes(sig.subarray(0, 32), bigIntToBytes(P256_ORDER - s, 32));
  t.true(verifyP256(pub, msg, flipped));
  t.true(p256.verify(sig, msg, pub, { lowS: false }));
  const wrong = msg.slice();
  wrong[0]! ^= 1;
  t.false(verifyP256(pub, wrong, sig));
  t.false(verifyP256(pub, msg, new Uint8Array(64)));
  t.false(verifyP256(pub.subarray(1), msg, sig));
  t.false(verifyP256(new Uint8Array(65), msg, sig));
  t.is(signP256WithK(d, msg, new Uint8Array(32)), null);
  t.is(signP256WithK(d, msg, bigIntToBytes(P256_ORDER, 32)), null); // k = n -> 0 mod n
  t.throws(() => signP256WithK(new Uint8Array(32), msg, systemRng.bytes(32)), { instanceOf: CryptoError });
});

test('X25519 rejects low-order peer shares (all-zero shared secret)', (t) => {
  const priv = systemRng.bytes(32);
  t.throws(() => x25519Shared(priv, new Uint8Array(32)), { instanceOf: CryptoError });
  const one = new Uint8Array(32);
  one[0] = 1;
  t.throws(() => x25519Shared(priv, one), { instanceOf: CryptoError });
  t.throws(() => x25519Shared(priv, new Uint8Array(31)), { instanceOf: CryptoError });
});

test('client transcripts: only ICA[0:16] / ICA[0:80] are covered (reference truncation)', (t) => {
  const ops = suiteOps(1);
  const inner = systemRng.bytes(64);
  const cookie = systemRng.bytes(130);
  const cert = systemRng.bytes(169);
  const sigS = systemRng.bytes(64);
  const ica = systemRng.bytes(136);
  const lt = clientLongtermSigHash(ops, inner, cookie, cert, sigS, ica);
  const daa = clientDaaSigHash(ops, inner, cookie, cert, sigS, ica);
  const later = ica.slice();
  later[16]! ^= 1; // beyond the longterm transcript, inside the DAA one
  t.is(toHex(clientLongtermSigHash(ops, inner, cookie, cert, sigS, later)), toHex(lt));
  t.not(toHex(clientDaaSigHash(ops, inner, cookie, cert, sigS, later)), toHex(daa));
  const cookieTail = cookie.slice();
  cookieTail[5]! ^= 1; // only cookie[0] enters directly; the rest only through ICA's echo
  t.is(toHex(clientLongtermSigHash(ops, inner, cookieTail, cert, sigS, ica)), toHex(lt));
  t.throws(() => clientDaaSigHash(ops, inner, cookie, cert, sigS, ica.subarray(0, 79)), {
    instanceOf: RangeError,
  });
});
