// Strict codecs of protocol/ecdaa (encoding.ts, structures.ts): round trips (fast-check), and
// every rejection branch: wrong length (short and trailing bytes), bad prefix, coordinate >= p,
// off-curve, infinity, G2 outside the subgroup or with swapped halves, scalar >= r; each
// failure is a DecodeError naming the field and the offset.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { bigIntToBytes, concatBytes } from '../../../../protocol/util/bytes.ts';
import { makeGroup, utf8 } from './_fixtures.ts';

const nonZero = fc.bigInt({ min: 1n, max: E.CURVE_ORDER - 1n });

function decodeFails(t: ExecutionContext, fn: () => unknown, field: string | RegExp, offset?: number): void {
  const err = t.throws(fn, { instanceOf: DecodeError }) as DecodeError;
  if (typeof field === 'string') t.is(err.field, field);
  else t.regex(err.field, field);
  if (offset !== undefined) t.is(err.offset, offset);
  t.is(err.code, 'DECODE');
}

test('G1 / scalar round trips', (t) => {
  fc.assert(
    fc.property(nonZero, (k) => {
      const P = E.G1.BASE.multiply(k);
      const b = E.encodeG1(P);
      t.is(b.length, E.G1_LENGTH);
      t.true(E.decodeG1(b).equals(P));
      t.is(E.decodeScalar(E.encodeScalar(k)), k);
    }),
    { numRuns: 30 },
  );
});

test('G2 round trips', (t) => {
  fc.assert(
    fc.property(nonZero, (k) => {
      const Q = E.G2.BASE.multiply(k);
      const b = E.encodeG2(Q);
      t.is(b.length, E.G2_LENGTH);
      t.true(E.decodeG2(b).equals(Q));
    }),
    { numRuns: 5 },
  );
});

test('G1 decoder rejects bad length, prefix, coordinate >= p, off-curve and infinity', (t) => {
  const good = E.encodeG1(E.G1.BASE.multiply(7n));
  decodeFails(t, () => E.decodeG1(good.subarray(0, 64), 'P'), 'P', 0);
  decodeFails(t, () => E.decodeG1(concatBytes(good, new Uint8Array(1)), 'P'), 'P', 0);
  decodeFails(t, () => E.decodeG1(new Uint8Array(0), 'P'), 'P');
  for (const prefix of [0x00, 0x02, 0x03, 0x05]) {
    const b = good.slice();
    b[0] = prefix;
    decodeFails(t, () => E.decodeG1(b, 'P'), 'P', 0);
  }
  const bigX = concatBytes(new Uint8Array([4]), bigIntToBytes(E.FIELD_PRIME, 32), good.subarray(33));
  decodeFails(t, () => E.decodeG1(bigX, 'P', 100), 'P', 101);
  const bigY = concatBytes(good.subarray(0, 33), bigIntToBytes(E.FIELD_PRIME + 2n, 32));
  decodeFails(t, () => E.decodeG1(bigY, 'P'), 'P', 33);
  const offCurve = good.slice();
  offCurve[64] = offCurve[64]! ^ 1;
  decodeFails(t, () => E.decodeG1(offCurve, 'P'), 'P', 0);
  const infinity = new Uint8Array(65);
  infinity[0] = 4;
  decodeFails(t, () => E.decodeG1(infinity, 'P'), 'P', 0);
  t.throws(() => E.encodeG1(E.G1.ZERO), { instanceOf: RangeError });
});

test('G2 decoder rejects bad length, infinity, coordinate >= p, off-curve and swapped halves', (t) => {
  const good = E.encodeG2(E.G2.BASE.multiply(11n));
  decodeFails(t, () => E.decodeG2(good.subarray(0, 128), 'Q'), 'Q');
  decodeFails(t, () => E.decodeG2(concatBytes(good, new Uint8Array(1)), 'Q'), 'Q');
  const infinity = new Uint8Array(129);
  infinity[0] = 4;
  decodeFails(t, () => E.decodeG2(infinity, 'Q'), 'Q');
  const big = good.slice();
  big.set(bigIntToBytes(E.FIELD_PRIME, 32), 97);
  decodeFails(t, () => E.decodeG2(big, 'Q'), 'Q', 97);
  const off = good.slice();
  off[128] = off[128]! ^ 0x40;
  decodeFails(t, () => E.decodeG2(off, 'Q'), 'Q', 0);
  // x.re <-> x.im and y.re <-> y.im swapped (the other common G2 byte order).
  const swapped = concatBytes(
    good.subarray(0, 1),
    good.subarray(33, 65),
    good.subarray(1, 33),
    good.subarray(97, 129),
    good.subarray(65, 97),
  );
  decodeFails(t, () => E.decodeG2(swapped, 'Q'), 'Q', 0);
  t.throws(() => E.encodeG2(E.G2.ZERO), { instanceOf: RangeError });
});

test('scalar decoder: exact length and < r', (t) => {
  decodeFails(t, () => E.decodeScalar(new Uint8Array(31), 'k'), 'k');
  decodeFails(t, () => E.decodeScalar(new Uint8Array(33), 'k'), 'k');
  decodeFails(t, () => E.decodeScalar(bigIntToBytes(E.CURVE_ORDER, 32), 'k'), 'k');
  t.is(E.decodeScalar(bigIntToBytes(E.CURVE_ORDER - 1n, 32)), E.CURVE_ORDER - 1n);
  t.is(E.decodeScalar(new Uint8Array(32)), 0n);
  t.throws(() => E.encodeScalar(E.CURVE_ORDER), { instanceOf: RangeError });
  t.throws(() => E.encodeScalar(-1n), { instanceOf: RangeError });
});

const group = makeGroup('encoding', 1);
const member = group.members[0]!;
const sigBsn = E.signWithSecretKey({
  message: utf8('m'),
  basename: utf8('b'),
  secretKey: member.secretKey,
  credential: member.credential,
  rng: { bytes: (n) => new Uint8Array(n).fill(7) },
});

function withoutK(sig: E.Signature): E.Signature {
  const { K: _K, ...rest } = sig;
  return rest;
}

const structures: { name: string; bytes: Uint8Array; decode: (b: Uint8Array) => unknown; length: number }[] =
  [
    {
      name: 'gpk',
      bytes: E.encodeGroupPublicKey(group.ipk.gpk),
      decode: (b) => E.decodeGroupPublicKey(b),
      length: E.GPK_LENGTH,
    },
    {
      name: 'issuerPublicKey',
      bytes: E.encodeIssuerPublicKey(group.ipk),
      decode: E.decodeIssuerPublicKey,
      length: E.ISSUER_PUBLIC_KEY_LENGTH,
    },
    {
      name: 'issuerSecretKey',
      bytes: E.encodeIssuerSecretKey(group.isk),
      decode: E.decodeIssuerSecretKey,
      length: E.ISSUER_SECRET_KEY_LENGTH,
    },
    {
      name: 'credential',
      bytes: E.encodeCredential(member.credential),
      decode: E.decodeCredential,
      length: E.CREDENTIAL_LENGTH,
    },
    {
      name: 'credentialSignature',
      bytes: E.encodeCredentialSignature({ c: 1n, s: 2n }),
      decode: E.decodeCredentialSignature,
      length: E.CREDENTIAL_SIGNATURE_LENGTH,
    },
    {
      name: 'joinRequest',
      bytes: E.encodeJoinRequest(
        E.createJoinRequest(member.secretKey, utf8('n'), { bytes: (n) => new Uint8Array(n).fill(9) }),
      ),
      decode: E.decodeJoinRequest,
      length: E.JOIN_REQUEST_LENGTH,
    },
    {
      name: 'signature',
      bytes: E.encodeSignature(sigBsn),
      decode: (b) => E.decodeSignature(b, { hasBasename: true }),
      length: E.SIGNATURE_WITH_BASENAME_LENGTH,
    },
    {
      name: 'signature',
      bytes: E.encodeSignature(withoutK(sigBsn)),
      decode: (b) => E.decodeSignature(b, { hasBasename: false }),
      length: E.SIGNATURE_LENGTH,
    },
  ];

test('structures have the reference lengths, round-trip, and reject short or trailing bytes', (t) => {
  for (const s of structures) {
    t.is(s.bytes.length, s.length, s.name);
    const again = s.decode(s.bytes);
    t.truthy(again);
    decodeFails(t, () => s.decode(s.bytes.subarray(0, s.length - 1)), s.name, s.length - 1);
    decodeFails(t, () => s.decode(concatBytes(s.bytes, new Uint8Array([0]))), s.name, s.length);
    decodeFails(t, () => s.decode(new Uint8Array(0)), s.name, 0);
  }
  t.is(
    toHexOf(E.encodeSignature(E.decodeSignature(structures[6]!.bytes, { hasBasename: true }))),
    toHexOf(structures[6]!.bytes),
  );
  t.is(E.MEMBER_SECRET_KEY_LENGTH, 32);
});

function toHexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

test('nested decode errors name the field and its absolute offset', (t) => {
  const sig = structures[6]!.bytes.slice();
  sig[130] = sig[130]! ^ 0xff; // inside S.x
  decodeFails(t, () => E.decodeSignature(sig, { hasBasename: true }), 'signature.S', 129);
  const sig2 = structures[6]!.bytes.slice();
  sig2.set(bigIntToBytes(E.CURVE_ORDER, 32), 324); // n >= r
  decodeFails(t, () => E.decodeSignature(sig2, { hasBasename: true }), 'signature.n', 324);
  const sig3 = structures[6]!.bytes.slice();
  sig3[356] = 0x02; // K prefix
  decodeFails(t, () => E.decodeSignature(sig3, { hasBasename: true }), 'signature.K', 356);
  const gpk = structures[0]!.bytes;
  const gpkBad = gpk.slice();
  gpkBad[134] = gpkBad[134]! ^ 1;
  decodeFails(t, () => E.decodeGroupPublicKey(gpkBad), 'gpk.Y', 129);
  const cred = structures[3]!.bytes.slice();
  cred.fill(0, 195, 260);
  decodeFails(t, () => E.decodeCredential(cred), 'credential.D', 195);
  const req = structures[5]!.bytes.slice();
  req.set(bigIntToBytes(E.CURVE_ORDER + 5n, 32), 97);
  decodeFails(t, () => E.decodeJoinRequest(req), 'joinRequest.s', 97);
  const isk = structures[2]!.bytes.slice();
  isk.fill(0xff, 32);
  decodeFails(t, () => E.decodeIssuerSecretKey(isk), 'issuerSecretKey.y', 32);
  const ipk = structures[1]!.bytes.slice();
  ipk.fill(0xff, 258, 290);
  decodeFails(t, () => E.decodeIssuerPublicKey(ipk), 'issuerPublicKey.c', 258);
});

test('non-byte inputs raise DecodeError, not TypeError', (t) => {
  const notBytes = '04' as unknown as Uint8Array;
  decodeFails(t, () => E.decodeG1(notBytes, 'P'), 'P');
  decodeFails(t, () => E.decodeG2(notBytes, 'Q'), 'Q');
  decodeFails(t, () => E.decodeScalar(notBytes, 'k'), 'k');
  decodeFails(t, () => E.decodeSignature(notBytes, { hasBasename: false }), 'signature');
});
