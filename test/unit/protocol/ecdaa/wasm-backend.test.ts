// The WebAssembly FP256BN arithmetic (protocol/ecdaa/wasm/) against the noble-based reference
// (curve.ts, pairing.ts, ops.ts NOBLE_OPS): Miller loop, final exponentiation, pairing-product
// checks, G1 multi-scalar multiplication (with the doubling, inverse and identity edge cases),
// and the verdicts of verifySignature / batchVerify on valid and altered signatures.
import test from 'ava';
import fc from 'fast-check';
import { Fp12F } from '../../../../protocol/ecdaa/curve.ts';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { NOBLE_OPS, WASM_OPS } from '../../../../protocol/ecdaa/ops.ts';
import { isPairingProductOne } from '../../../../protocol/ecdaa/pairing.ts';
import { verifySignatureWith } from '../../../../protocol/ecdaa/verifier.ts';
import {
  finalExponentiateWasm,
  g1MsmWasm,
  isPairingProductOneWasm,
  multiMillerLoopWasm,
} from '../../../../protocol/ecdaa/wasm/backend.ts';
import { makeGroup, seededRng, utf8 } from './_fixtures.ts';

const scalar = fc.bigInt({ min: 1n, max: E.CURVE_ORDER - 1n });
const g1 = scalar.map((k) => E.G1.BASE.multiply(k));
const g2Lines = [
  E.P2_LINES,
  E.prepareG2(E.G2.BASE.multiply(0x1234567n)),
  E.prepareG2(E.G2.BASE.multiply(E.CURVE_ORDER - 5n)),
];

test('Miller loop and final exponentiation equal noble, element for element', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(g1, fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 3 }),
      (raw) => {
        const terms = raw.map(([P, i]) => [P, g2Lines[i]!] as const);
        const ml = E.multiMillerLoop(terms);
        t.true(Fp12F.eql(multiMillerLoopWasm(terms), ml));
        t.true(Fp12F.eql(finalExponentiateWasm(ml), E.finalExponentiate(ml)));
      },
    ),
    { numRuns: 4 },
  );
});

test('pairing-product checks agree with noble: true for e(aP, Q) e(-P, aQ), false otherwise', (t) => {
  fc.assert(
    fc.property(g1, scalar, (P, a) => {
      const Q = E.G2.BASE.multiply(a);
      const holds = [
        [P.multiply(a), E.P2_LINES],
        [P.negate(), E.prepareG2(Q)],
      ] as const;
      t.true(isPairingProductOneWasm(holds));
      t.true(isPairingProductOne(holds));
      const fails = [holds[0], [P, holds[1][1]]] as const;
      t.false(isPairingProductOneWasm(fails));
      t.false(isPairingProductOne(fails));
    }),
    { numRuns: 3 },
  );
  // Identity terms contribute 1; an empty product is 1.
  t.true(isPairingProductOneWasm([[E.G1.ZERO, E.P2_LINES]]));
  t.true(isPairingProductOneWasm([]));
});

test('G1 multi-scalar multiplication equals noble, including 0, 1, r - 1, P + P and P - P', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(g1, fc.bigInt({ min: 0n, max: E.CURVE_ORDER - 1n })), { maxLength: 6 }),
      (raw) => {
        const points = raw.map(([P]) => P);
        const scalars = raw.map(([, k]) => k);
        t.true(g1MsmWasm(points, scalars).equals(NOBLE_OPS.msm(points, scalars)));
      },
    ),
    { numRuns: 30 },
  );
  const P = E.G1.BASE.multiply(987654321n);
  const cases: [E.G1Point[], bigint[]][] = [
    [[P], [1n]],
    [[P], [E.CURVE_ORDER - 1n]],
    [
      [P, P],
      [5n, 7n],
    ], // table and accumulator meet equal points: the doubling branch
    [
      [P, P.negate()],
      [3n, 3n],
    ], // P - P: the identity
    [
      [P, E.G1.ZERO],
      [2n, 9n],
    ],
    [[P], [0n]],
    [[], []],
  ];
  for (const [points, scalars] of cases)
    t.true(g1MsmWasm(points, scalars).equals(NOBLE_OPS.msm(points, scalars)));
  t.true(g1MsmWasm([P, P.negate()], [3n, 3n]).is0());
  t.throws(() => g1MsmWasm([P], [E.CURVE_ORDER]), { instanceOf: RangeError });
  t.throws(() => g1MsmWasm([P], [-1n]), { instanceOf: RangeError });
  t.throws(() => g1MsmWasm([P], []), { instanceOf: RangeError });
});

const group = makeGroup('wasm', 2);
const rng = seededRng('wasm/sign');
const basename = utf8('BASENAME');

function sign(message: Uint8Array, withBasename: boolean): E.Signature {
  const m = group.members[0]!;
  return E.signWithSecretKey({
    message,
    ...(withBasename ? { basename } : {}),
    secretKey: m.secretKey,
    credential: m.credential,
    rng,
  });
}

test('verifySignature verdicts equal the noble reference on valid and altered signatures', (t) => {
  const message = utf8('hello');
  const good = sign(message, true);
  const plain = sign(message, false);
  const other = sign(utf8('other'), true);
  const cases: [E.Signature, Uint8Array, Uint8Array | undefined][] = [
    [good, message, basename],
    [plain, message, undefined],
    [good, utf8('hellO'), basename], // challenge
    [{ ...good, T: other.T }, message, basename], // pairing
    [{ ...good, R: other.R, S: other.S, T: other.T, W: other.W }, message, basename], // challenge
    [{ ...good, s: (good.s + 1n) % E.CURVE_ORDER }, message, basename], // challenge
    [{ ...good, K: other.K!.add(E.G1.BASE) }, message, basename], // challenge (L)
    [good, message, undefined], // basename mismatch
  ];
  const verdicts = cases.map(([sig, m, b]) => verifySignatureWith(WASM_OPS, sig, m, b, group.pgpk));
  const reference = cases.map(([sig, m, b]) => verifySignatureWith(NOBLE_OPS, sig, m, b, group.pgpk));
  t.deepEqual(verdicts, reference);
  t.deepEqual(
    verdicts.map((v) => (v.ok ? 'ok' : v.reason)),
    ['ok', 'ok', 'challenge', 'pairing', 'challenge', 'challenge', 'challenge', 'basename'],
  );
});

test('batchVerify on wasm finds exactly the bad signatures, like the noble reference', (t) => {
  const items = Array.from({ length: 7 }, (_, i) => {
    const message = utf8(`batch ${i}`);
    return { signature: sign(message, true), message, basename };
  });
  const bad = [...items];
  bad[2] = { ...bad[2]!, signature: { ...bad[2]!.signature, T: bad[3]!.signature.T } };
  bad[5] = { ...bad[5]!, message: utf8('tampered') };
  const expected = [true, true, false, true, true, false, true];
  t.deepEqual(E.batchVerify(bad, group.pgpk, { rng: seededRng('wasm/verify') }), expected);
  t.deepEqual(E.batchVerify(bad, group.pgpk, { rng: seededRng('wasm/verify'), ops: NOBLE_OPS }), expected);
  t.deepEqual(
    E.batchVerify(items, group.pgpk, { rng: seededRng('wasm/verify') }),
    items.map(() => true),
  );
});
