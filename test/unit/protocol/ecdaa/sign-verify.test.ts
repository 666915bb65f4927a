// Member signing and single-signature verification (protocol/ecdaa/member.ts, verifier.ts) on a
// group made by our issuer: success with and without basename, and each failure reason:
// bit flips across the encoding, wrong message, wrong or missing basename, swapped GPK halves,
// identity points, revoked secret key, revoked pseudonym.
import test from 'ava';
import { DecodeError } from '../../../../protocol/errors.ts';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { makeGroup, seededRng, utf8 } from './_fixtures.ts';

const group = makeGroup('sign-verify', 2);
const [alice, bob] = group.members as [(typeof group.members)[0], (typeof group.members)[0]];
const rng = seededRng('sign-verify/sign');
const message = utf8('attest this');
const basename = utf8('BASENAME');
const sig = E.signWithSecretKey({
  message,
  basename,
  secretKey: alice.secretKey,
  credential: alice.credential,
  rng,
});
const sigNoBsn = E.signWithSecretKey({
  message,
  secretKey: alice.secretKey,
  credential: alice.credential,
  rng,
});

test('signatures with and without basename verify', (t) => {
  t.deepEqual(E.verifySignature(sig, message, basename, group.pgpk), { ok: true });
  t.deepEqual(E.verifySignature(sigNoBsn, message, undefined, group.pgpk), { ok: true });
  t.is(E.encodeSignature(sig).length, E.SIGNATURE_WITH_BASENAME_LENGTH);
  t.is(E.encodeSignature(sigNoBsn).length, E.SIGNATURE_LENGTH);
  t.is(sigNoBsn.K, undefined);
});

test('pseudonyms link per basename and member, never across', (t) => {
  const again = E.signWithSecretKey({
    message,
    basename,
    secretKey: alice.secretKey,
    credential: alice.credential,
    rng,
  });
  t.true(again.K!.equals(sig.K!), 'same member, same basename: same pseudonym');
  t.false(again.R.equals(sig.R), 'credential re-randomised');
  const other = E.signWithSecretKey({
    message,
    basename: utf8('other'),
    secretKey: alice.secretKey,
    credential: alice.credential,
    rng,
  });
  t.false(other.K!.equals(sig.K!));
  const bobs = E.signWithSecretKey({
    message,
    basename,
    secretKey: bob.secretKey,
    credential: bob.credential,
    rng,
  });
  t.false(bobs.K!.equals(sig.K!));
  t.true(sig.K!.equals(E.pseudonymOf(alice.secretKey, basename)));
});

test('wrong message, wrong basename, missing or unexpected basename fail', (t) => {
  t.deepEqual(E.verifySignature(sig, utf8('attest thiS'), basename, group.pgpk), {
    ok: false,
    reason: 'challenge',
  });
  t.deepEqual(E.verifySignature(sig, message, utf8('BASENAMF'), group.pgpk), {
    ok: false,
    reason: 'challenge',
  });
  t.deepEqual(E.verifySignature(sig, message, undefined, group.pgpk), { ok: false, reason: 'basename' });
  t.deepEqual(E.verifySignature(sigNoBsn, message, basename, group.pgpk), { ok: false, reason: 'basename' });
});

test('a signature does not verify under another group or with X and Y swapped', (t) => {
  const other = makeGroup('sign-verify/other', 0);
  t.deepEqual(E.verifySignature(sig, message, basename, other.pgpk), { ok: false, reason: 'pairing' });
  const swapped = E.prepareGroupPublicKey({ X: group.ipk.gpk.Y, Y: group.ipk.gpk.X });
  t.deepEqual(E.verifySignature(sig, message, basename, swapped), { ok: false, reason: 'pairing' });
});

test('a forged credential (T not x*(R+W)) passes the challenge but fails the pairing check', (t) => {
  const forged = { ...sig, T: sig.T.add(E.G1.BASE) };
  t.deepEqual(E.verifySignature(forged, message, basename, group.pgpk), { ok: false, reason: 'pairing' });
  const forged2 = { ...sig, R: sig.R.double() };
  t.deepEqual(E.verifySignature(forged2, message, basename, group.pgpk), { ok: false, reason: 'pairing' });
});

test('identity points are rejected without throwing', (t) => {
  for (const k of ['R', 'S', 'T', 'W', 'K'] as const) {
    const bad = { ...sig, [k]: E.G1.ZERO };
    t.deepEqual(E.verifySignature(bad, message, basename, group.pgpk), { ok: false, reason: 'infinity' }, k);
  }
});

test('bit flips across the 421-byte encoding never yield a valid signature', (t) => {
  const bytes = E.encodeSignature(sig);
  let decodeErrors = 0;
  let rejected = 0;
  for (let off = 0; off < bytes.length; off += 9) {
    const b = bytes.slice();
    b[off] = b[off]! ^ (1 << (off % 8));
    let decoded: E.Signature;
    try {
      decoded = E.decodeSignature(b, { hasBasename: true });
    } catch (err) {
      t.true(err instanceof DecodeError, `offset ${off}`);
      decodeErrors++;
      continue;
    }
    const res = E.verifySignature(decoded, message, basename, group.pgpk);
    t.false(res.ok, `offset ${off}`);
    rejected++;
  }
  t.true(decodeErrors > 0 && rejected > 0, `${decodeErrors} decode errors, ${rejected} rejected`);
});

test('revocation: listed secret key or pseudonym', (t) => {
  const bySk = { secretKeys: [bob.secretKey, alice.secretKey] };
  t.deepEqual(E.verifySignature(sig, message, basename, group.pgpk, bySk), {
    ok: false,
    reason: 'revoked-key',
  });
  t.deepEqual(E.verifySignature(sigNoBsn, message, undefined, group.pgpk, bySk), {
    ok: false,
    reason: 'revoked-key',
  });
  const byNym = { pseudonyms: [E.pseudonymOf(alice.secretKey, basename)] };
  t.deepEqual(E.verifySignature(sig, message, basename, group.pgpk, byNym), {
    ok: false,
    reason: 'revoked-pseudonym',
  });
  const others = { secretKeys: [bob.secretKey], pseudonyms: [E.pseudonymOf(bob.secretKey, basename)] };
  t.deepEqual(E.verifySignature(sig, message, basename, group.pgpk, others), { ok: true });
});

test('randomScalar uses 64 of 65 drawn bytes, bit-reversed, big-endian, mod r', (t) => {
  const draw = new Uint8Array(65);
  draw[63] = 0x01; // bit-reversed: 0x80 in the least significant byte
  draw[64] = 0xff; // unused
  t.is(E.randomScalar({ bytes: (n) => (t.is(n, 65), draw.slice()) }), 0x80n);
  const ones = new Uint8Array(65).fill(0xff);
  t.is(E.randomScalar({ bytes: () => ones.slice() }), ((1n << 512n) - 1n) % E.CURVE_ORDER);
});

test('hashToScalar and signatureChallenge are SHA-256 mod r over the concatenation', (t) => {
  t.is(E.hashToScalar(utf8('ab'), utf8('c')), E.hashToScalar(utf8('abc')));
  const c = E.signatureChallenge(5n, 7n);
  t.is(c, E.hashToScalar(E.encodeScalar(5n), E.encodeScalar(7n)));
  t.true(c < E.CURVE_ORDER);
});

test('points built in code off the curve are rejected, and so is an invalid GPK', (t) => {
  const { x, y } = sig.T.toAffine();
  const offCurve = E.G1.fromAffine({ x, y: (y + 1n) % E.FIELD_PRIME });
  t.deepEqual(E.verifySignature({ ...sig, T: offCurve }, message, basename, group.pgpk), {
    ok: false,
    reason: 'invalid-point',
  });
  const q = E.G2.BASE.toAffine();
  const badQ = E.G2.fromAffine({ x: q.x, y: { c0: q.y.c1, c1: q.y.c0 } });
  const err = t.throws(() => E.prepareGroupPublicKey({ X: badQ, Y: group.ipk.gpk.Y }));
  t.is((err as { code?: string }).code, 'ECDAA_GPK');
  t.throws(() => E.prepareGroupPublicKey({ X: group.ipk.gpk.X, Y: E.G2.ZERO }));
});
