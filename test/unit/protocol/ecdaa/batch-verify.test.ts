// Batch verification (protocol/ecdaa/batch-verify.ts): all-good batches pass; a bad signature
// hidden among good ones is identified exactly (bisection) while the good ones are accepted;
// two forgeries crafted to cancel under equal weights are still caught (random coefficients);
// revocation lists apply per signature.
import test from 'ava';
import fc from 'fast-check';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { makeGroup, seededRng, utf8 } from './_fixtures.ts';

const group = makeGroup('batch', 3);
const rng = seededRng('batch/sign');
const basename = utf8('BASENAME');

function items(n: number): { signature: E.Signature; message: Uint8Array; basename?: Uint8Array }[] {
  return Array.from({ length: n }, (_, i) => {
    const m = group.members[i % group.members.length]!;
    const message = utf8(`message ${i}`);
    const withBsn = i % 4 !== 3;
    const signature = E.signWithSecretKey({
      message,
      ...(withBsn ? { basename } : {}),
      secretKey: m.secretKey,
      credential: m.credential,
      rng,
    });
    return withBsn ? { signature, message, basename } : { signature, message };
  });
}

const good = items(12);
const verifyRng = seededRng('batch/verify');

test('an empty batch and an all-good batch', (t) => {
  t.deepEqual(E.batchVerify([], group.pgpk, { rng: verifyRng }), []);
  t.deepEqual(
    E.batchVerify(good, group.pgpk, { rng: verifyRng }),
    good.map(() => true),
  );
});

test('one signature failing only the pairing equations among 11 good ones is found', (t) => {
  const batch = good.map((x) => ({ ...x }));
  batch[7] = { ...batch[7]!, signature: { ...batch[7]!.signature, T: batch[7]!.signature.T.add(E.G1.BASE) } };
  const verdicts = E.batchVerify(batch, group.pgpk, { rng: verifyRng });
  t.deepEqual(
    verdicts,
    batch.map((_, i) => i !== 7),
  );
  t.false(E.verifySignature(batch[7]!.signature, batch[7]!.message, batch[7]!.basename, group.pgpk).ok);
});

test('bad challenges, wrong messages and pairing failures in one batch', (t) => {
  const batch = good.map((x) => ({ ...x }));
  batch[0] = { ...batch[0]!, message: utf8('tampered') };
  batch[5] = { ...batch[5]!, signature: { ...batch[5]!.signature, S: batch[5]!.signature.S.double() } };
  batch[11] = { ...batch[11]!, signature: { ...batch[11]!.signature, R: batch[11]!.signature.R.double() } };
  const verdicts = E.batchVerify(batch, group.pgpk, { rng: verifyRng });
  t.deepEqual(
    verdicts,
    batch.map((_, i) => ![0, 5, 11].includes(i)),
  );
});

test('two forgeries whose errors cancel with equal weights are still rejected', (t) => {
  // T1 + D and T2 - D: the sum of the pairing equations holds, each one alone fails.
  const D = E.G1.BASE.multiply(12345n);
  const batch = good.slice(0, 4).map((x) => ({ ...x }));
  batch[1] = { ...batch[1]!, signature: { ...batch[1]!.signature, T: batch[1]!.signature.T.add(D) } };
  batch[2] = { ...batch[2]!, signature: { ...batch[2]!.signature, T: batch[2]!.signature.T.subtract(D) } };
  const verdicts = E.batchVerify(batch, group.pgpk, { rng: verifyRng });
  t.deepEqual(verdicts, [true, false, false, true]);
});

test('revocation lists apply per signature in a batch', (t) => {
  const revokedKey = group.members[1]!.secretKey;
  const verdicts = E.batchVerify(good, group.pgpk, {
    rng: verifyRng,
    revocations: {
      secretKeys: [revokedKey],
      pseudonyms: [E.pseudonymOf(group.members[2]!.secretKey, basename)],
    },
  });
  const expected = good.map((x, i) => {
    const member = i % 3;
    if (member === 1) return false;
    if (member === 2 && x.basename !== undefined) return false;
    return true;
  });
  t.deepEqual(verdicts, expected);
});

test('any pattern of bad signatures is identified exactly (property, batch of 8)', (t) => {
  const base = good.slice(0, 8);
  const bad = base.map((x) => ({
    ...x,
    signature: { ...x.signature, T: x.signature.T.add(E.G1.BASE) },
  }));
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (isBad) => {
      const batch = base.map((x, i) => (isBad[i] ? bad[i]! : x));
      t.deepEqual(
        E.batchVerify(batch, group.pgpk, { rng: verifyRng }),
        isBad.map((b) => !b),
      );
    }),
    {
      numRuns: 6,
      examples: [
        [[true, true, true, true, true, true, true, true]],
        [[true, false, false, false, false, false, false, true]],
      ],
    },
  );
});
