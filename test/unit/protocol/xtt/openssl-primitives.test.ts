// protocol/xtt/openssl-primitives.ts and its callers (key-schedule.ts X25519, ecdsa-p256.ts verify
// and system-RNG signing): OpenSSL gives the same bytes and the same accept/reject decisions as the
// pure-JS @noble/curves code it replaced (the vectors only cover a few honest inputs), and low-order
// X25519 shares are refused both by OpenSSL itself and by our all-zero check. suite-ops.ts's
// SHA-512, HMAC-SHA-512 and unkeyed BLAKE2b-512 on node:crypto equal noble-hashes too.
import test from 'ava';
import fc from 'fast-check';
import { x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { CryptoError } from '../../../../protocol/errors.ts';
import { bigIntToBytes, bytesToBigInt, concatBytes, toHex } from '../../../../protocol/util/bytes.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import {
  P256_ORDER,
  generateP256PrivateKey,
  isValidP256PublicKey,
  p256PublicKey,
  signP256,
  verifyP256,
} from '../../../../protocol/xtt/ecdsa-p256.ts';
import { x25519Ephemeral, x25519PublicKey, x25519Shared } from '../../../../protocol/xtt/key-schedule.ts';
import { opensslX25519, opensslX25519PublicKey } from '../../../../protocol/xtt/openssl-primitives.ts';
import { suiteOps } from '../../../../protocol/xtt/suite-ops.ts';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const P = 2n ** 255n - 19n;
const le = (n: bigint): Uint8Array => bigIntToBytes(n, 32).reverse();

test('X25519 public keys equal noble for any 32-byte draw', (t) => {
  fc.assert(
    fc.property(bytes32, (d) => toHex(x25519PublicKey(d)) === toHex(x25519.getPublicKey(d))),
    { numRuns: 200 },
  );
  t.pass();
});

test('X25519 shared secrets equal noble, also for non-canonical peer shares (high bit, u >= p)', (t) => {
  const agree = (d: Uint8Array, u: Uint8Array): boolean =>
    toHex(x25519Shared(d, u)) === toHex(x25519.getSharedSecret(d, u));
  fc.assert(
    fc.property(bytes32, bytes32, (d, u) => agree(d, u)),
    { numRuns: 200 },
  );
  const d = systemRng.bytes(32);
  const u = x25519PublicKey(systemRng.bytes(32));
  const high = u.slice();
  high[31]! |= 0x80; // RFC 7748: the top bit is ignored
  t.true(agree(d, high));
  t.is(toHex(x25519Shared(d, high)), toHex(x25519Shared(d, u)));
  t.true(agree(d, le(P + 9n))); // non-canonical 9 = the base point
  t.is(toHex(x25519Shared(d, le(P + 9n))), toHex(x25519PublicKey(d)));
});

// The points of order 1, 2, 4 and 8 on Curve25519 and their non-canonical encodings (u + p).
const LOW_ORDER_U: [string, bigint][] = [
  ['0', 0n],
  ['1', 1n],
  ['order-8 a', 325606250916557431795983626356110631294008115727848805560023387167927233504n],
  ['order-8 b', 39382357235489614581723060781553021112529911719440698176882885853963445705823n],
  ['p-1', P - 1n],
  ['p', P],
  ['p+1', P + 1n],
];

for (const [name, u] of LOW_ORDER_U) {
  test(`X25519 low-order share u=${name}: OpenSSL throws, x25519Shared refuses`, (t) => {
    const d = systemRng.bytes(32);
    const share = le(u);
    // What noble says about the same input: all-zero (it throws on that too).
    t.throws(() => x25519.getSharedSecret(d, share));
    t.throws(() => opensslX25519(d, share));
    const e = t.throws(() => x25519Shared(d, share), { instanceOf: CryptoError });
    t.is(e?.code, 'X25519');
  });
}

test('X25519 ephemeral keys: system-RNG and replayed draws agree with noble', (t) => {
  const draw = systemRng.bytes(32);
  const replayed = x25519Ephemeral({ bytes: () => draw.slice() });
  t.is(toHex(replayed.publicKey), toHex(x25519.getPublicKey(draw)));
  const generated = x25519Ephemeral(systemRng);
  const a = replayed.shared(generated.publicKey);
  t.is(toHex(a), toHex(generated.shared(replayed.publicKey)));
  t.is(toHex(a), toHex(x25519.getSharedSecret(draw, generated.publicKey)));
  t.not(toHex(x25519Ephemeral(systemRng).publicKey), toHex(generated.publicKey));
  for (const eph of [replayed, generated]) {
    for (const [, u] of LOW_ORDER_U) t.throws(() => eph.shared(le(u)), { instanceOf: CryptoError });
    t.throws(() => eph.shared(new Uint8Array(31)), { instanceOf: CryptoError });
  }
});

test('X25519 refuses wrong key sizes before OpenSSL sees them', (t) => {
  t.throws(() => x25519Shared(systemRng.bytes(31), systemRng.bytes(32)), { instanceOf: CryptoError });
  t.throws(() => x25519Shared(systemRng.bytes(32), systemRng.bytes(33)), { instanceOf: CryptoError });
  t.throws(() => x25519PublicKey(systemRng.bytes(33)), { instanceOf: RangeError });
  t.is(opensslX25519PublicKey(new Uint8Array(32)).length, 32);
});

const nobleVerify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => {
  try {
    return p256.verify(sig, msg, pub, { lowS: false, prehash: true, format: 'compact' });
  } catch {
    return false;
  }
};

test('ECDSA verification decides as noble: honest, high-s, tampered message, signature or key', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.nat({ max: 64 + 64 + 64 }),
      (msg, flip) => {
        const d = generateP256PrivateKey(systemRng);
        const pub = p256PublicKey(d);
        const sig = signP256(d, msg, systemRng);
        const s = bytesToBigInt(sig.subarray(32));
        const high = concatBytes(sig.subarray(0, 32), bigIntToBytes(P256_ORDER - s, 32));
        const m2 = msg.slice();
        const s2 = sig.slice();
        const k2 = pub.slice();
        // one bit flipped somewhere in message, signature or key x/y
        if (flip < 64) m2[flip]! ^= 1;
        else if (flip < 128) s2[flip - 64]! ^= 1;
        else k2[1 + ((flip - 128) % 64)]! ^= 1;
        return (
          verifyP256(pub, msg, sig) &&
          nobleVerify(pub, msg, sig) &&
          verifyP256(pub, msg, high) &&
          nobleVerify(pub, msg, high) &&
          verifyP256(k2, m2, s2) === nobleVerify(k2, m2, s2) &&
          !verifyP256(k2, m2, s2)
        );
      },
    ),
    { numRuns: 60 },
  );
  t.pass();
});

test('ECDSA verification rejects out-of-range r, s and malformed keys without throwing', (t) => {
  const d = generateP256PrivateKey(systemRng);
  const pub = p256PublicKey(d);
  const msg = systemRng.bytes(64);
  const sig = signP256(d, msg, systemRng);
  const r = sig.subarray(0, 32);
  const s = sig.subarray(32);
  const n = bigIntToBytes(P256_ORDER, 32);
  t.false(verifyP256(pub, msg, concatBytes(new Uint8Array(32), s)));
  t.false(verifyP256(pub, msg, concatBytes(r, new Uint8Array(32))));
  t.false(verifyP256(pub, msg, concatBytes(n, s)));
  t.false(verifyP256(pub, msg, concatBytes(r, n)));
  t.false(verifyP256(pub, msg, new Uint8Array(64).fill(0xff)));
  const compressedTag = pub.slice();
  compressedTag[0] = 0x02;
  t.false(verifyP256(compressedTag, msg, sig)); // only the uncompressed 04 form is a key here
  const offCurve = pub.slice();
  offCurve[64]! ^= 1;
  t.false(verifyP256(offCurve, msg, sig));
  t.false(verifyP256(new Uint8Array(65), msg, sig));
});

test('a key array whose bytes changed is imported again; isValidP256PublicKey decides as noble', (t) => {
  const a = generateP256PrivateKey(systemRng);
  const b = generateP256PrivateKey(systemRng);
  const msg = systemRng.bytes(64);
  const sigA = signP256(a, msg, systemRng);
  const sigB = signP256(b, msg, systemRng);
  const key = p256PublicKey(a);
  t.true(isValidP256PublicKey(key));
  t.true(verifyP256(key, msg, sigA));
  key.set(p256PublicKey(b)); // the same array now holds another key: OpenSSL's import of A is not reused
  t.false(verifyP256(key, msg, sigA));
  t.true(verifyP256(key, msg, sigB));
  key[64]! ^= 1; // and now a point off the curve
  t.false(isValidP256PublicKey(key));
  t.false(verifyP256(key, msg, sigB));
  const nobleValid = (k: Uint8Array): boolean => {
    try {
      p256.Point.fromBytes(k).assertValidity();
      return true;
    } catch {
      return false;
    }
  };
  const fieldPrime = bigIntToBytes(p256.Point.Fp.ORDER, 32);
  const pub = p256PublicKey(b);
  t.false(isValidP256PublicKey(concatBytes(pub.subarray(0, 1), fieldPrime, pub.subarray(33))));
  fc.assert(
    fc.property(fc.nat({ max: 64 * 8 - 1 }), (bit) => {
      const k = pub.slice();
      k[1 + (bit >> 3)]! ^= 1 << (bit & 7);
      return isValidP256PublicKey(k) === nobleValid(k) && isValidP256PublicKey(pub);
    }),
    { numRuns: 100 },
  );
});

test('system-RNG signatures verify under noble; the replayable path still signs from the given rng', (t) => {
  const d = generateP256PrivateKey(systemRng);
  const pub = p256PublicKey(d);
  const msg = systemRng.bytes(64);
  const a = signP256(d, msg, systemRng);
  const b = signP256(d, msg, systemRng);
  t.true(nobleVerify(pub, msg, a));
  t.not(toHex(a), toHex(b)); // fresh k each time
  const k = systemRng.bytes(32);
  const replay = { bytes: () => k.slice() };
  t.is(toHex(signP256(d, msg, replay)), toHex(signP256(d, msg, replay)));
  t.throws(() => signP256(new Uint8Array(32), msg, systemRng), { instanceOf: CryptoError });
  t.throws(() => signP256(bigIntToBytes(P256_ORDER, 32), msg, systemRng), { instanceOf: CryptoError });
});

test('suite hash and prf on node:crypto equal noble-hashes for any input and length', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 700 }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.integer({ min: 1, max: 64 }),
      (x, key, n) =>
        toHex(suiteOps(1).hash(x)) === toHex(sha512(x)) &&
        toHex(suiteOps(2).hash(x)) === toHex(blake2b(x, { dkLen: 64 })) &&
        toHex(suiteOps(1).prf(key, x, n)) === toHex(hmac(sha512, key, x).subarray(0, n)) &&
        toHex(suiteOps(2).prf(key, x, n)) === toHex(blake2b(x, { key, dkLen: n })),
    ),
    { numRuns: 200 },
  );
  t.pass();
});
