// The FP256BN pairing and group arithmetic (protocol/ecdaa/curve.ts, pairing.ts): bilinearity,
// e^r = 1, non-degeneracy (the checks that catch wrong correction lines or a wrong final
// exponentiation), the multi-Miller-loop product, GLV scalar multiplication and the G2
// subgroup test. Pairings cost ~10 ms, so property runs are small.
import test from 'ava';
import fc from 'fast-check';
import { BN_U, Fp2F, Fr } from '../../../../protocol/ecdaa/curve.ts';
import * as E from '../../../../protocol/ecdaa/index.ts';

const scalar = fc.bigInt({ min: 1n, max: E.CURVE_ORDER - 1n });
const P1 = E.G1.BASE;
const P2 = E.G2.BASE;
const e11 = E.pairing(P1, P2);

test('the pairing is non-degenerate and e(P1, P2)^r = 1', (t) => {
  t.false(E.GT.eql(e11, E.GT.ONE));
  t.true(E.GT.eql(E.GT.pow(e11, E.CURVE_ORDER), E.GT.ONE));
});

test('bilinearity: e(aP, bQ) = e(P, Q)^(ab) = e(abP, Q) = e(P, abQ)', (t) => {
  fc.assert(
    fc.property(scalar, scalar, (a, b) => {
      const ab = Fr.mul(a, b);
      const lhs = E.pairing(P1.multiply(a), P2.multiply(b));
      t.true(E.GT.eql(lhs, E.GT.pow(e11, ab)));
      t.true(E.GT.eql(lhs, E.pairing(P1.multiply(ab), P2)));
      t.true(E.GT.eql(lhs, E.pairing(P1, P2.multiply(ab))));
    }),
    { numRuns: 4 },
  );
});

test('additivity in each argument and e(P, Q)^r = 1 for random points', (t) => {
  fc.assert(
    fc.property(scalar, scalar, scalar, (a, b, c) => {
      const P = P1.multiply(a);
      const Q = P2.multiply(b);
      const R = P1.multiply(c);
      const lhs = E.pairing(P.add(R), Q);
      t.true(E.GT.eql(lhs, E.GT.mul(E.pairing(P, Q), E.pairing(R, Q))));
      t.true(E.GT.eql(E.GT.pow(lhs, E.CURVE_ORDER), E.GT.ONE));
    }),
    { numRuns: 3 },
  );
});

test('multi-Miller-loop with one final exponentiation equals the product of pairings', (t) => {
  const a = 0x1234567890abcdefn;
  const Q = P2.multiply(a);
  const lines = E.prepareG2(Q);
  const f = E.finalExponentiate(
    E.multiMillerLoop([
      [P1, lines],
      [P1.multiply(a).negate(), E.P2_LINES],
      [E.G1.ZERO, lines],
    ]),
  );
  t.true(E.GT.eql(f, E.GT.ONE), 'e(P1, aP2) * e(-aP1, P2) = 1');
  const g = E.finalExponentiate(E.multiMillerLoop([[P1, lines]]));
  t.true(E.GT.eql(g, E.pairing(P1, Q)));
});

test('the identity pairs to 1', (t) => {
  t.true(E.GT.eql(E.pairing(E.G1.ZERO, P2), E.GT.ONE));
  t.true(E.GT.eql(E.pairing(P1, E.G2.ZERO), E.GT.ONE));
});

test('GLV (variable-time) and constant-time G1 multiplication agree for any scalar', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: E.CURVE_ORDER - 1n }), (k) => {
      const P = P1.multiply(0xabcdefn);
      const viaGlv = P.multiplyUnsafe(k);
      t.true(k === 0n ? viaGlv.is0() : viaGlv.equals(P.multiply(k)));
    }),
    { numRuns: 200 },
  );
});

test('G1 and G2 generators have order r', (t) => {
  t.true(
    P1.multiplyUnsafe(E.CURVE_ORDER - 1n)
      .add(P1)
      .is0(),
  );
  t.true(
    P2.multiplyUnsafe(E.CURVE_ORDER - 1n)
      .add(P2)
      .is0(),
  );
});

test('the G2 subgroup check rejects twist points outside the order-r subgroup', (t) => {
  // Find a point on E': y^2 = x^3 + 3(1+i) by try-and-increment; its order is almost surely
  // not r (the twist has cofactor 2p - r), so decoding it must fail with a subgroup error.
  const b = { c0: 3n, c1: 3n };
  for (let x0 = 1n; ; x0++) {
    const x = { c0: x0, c1: 1n };
    const rhs = Fp2F.add(Fp2F.mul(Fp2F.sqr(x), x), b);
    let y;
    try {
      y = Fp2F.sqrt(rhs);
    } catch {
      continue;
    }
    const Q = E.G2.fromAffine({ x, y });
    t.false(Q.isTorsionFree());
    t.false(
      Q.multiplyUnsafe(E.CURVE_ORDER - 1n)
        .add(Q)
        .is0(),
      'really not of order r',
    );
    const err = t.throws(() => E.decodeG2(E.encodeG2(Q), 'Q'));
    t.regex(err.message, /subgroup/);
    return;
  }
});

test('the final exponentiation is the generic one raised to 2u(6u^2+3u+1), coprime to r', (t) => {
  // Pins the hard-part chain exactly (not merely "some power"): a wrong chain that happened to
  // stay bilinear would still fail here.
  const u = BN_U;
  const m = 2n * u * (6n * u * u + 3n * u + 1n);
  const mr = ((m % E.CURVE_ORDER) + E.CURVE_ORDER) % E.CURVE_ORDER;
  t.not(mr, 0n);
  const f = E.multiMillerLoop([[E.G1.BASE.multiply(5n), E.P2_LINES]]);
  const generic = (E.FIELD_PRIME ** 12n - 1n) / E.CURVE_ORDER;
  t.true(E.GT.eql(E.finalExponentiate(f), E.GT.pow(f, generic * mr)));
  t.false(E.GT.eql(E.finalExponentiate(f), E.GT.pow(f, generic)));
});
