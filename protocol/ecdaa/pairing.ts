// Optimal-ate pairing on FP256BN (ECDAA-FP256BN.md "Curve", pitfalls 1 and 2), built with
// @noble/curves' blsBasic pairing builder, plus the multi-Miller-loop helpers the verifier uses
// (precomputed G2 line tables, one shared final exponentiation).
//
// Why this differs from noble's bn254:
// - u < 0, so the loop runs over |6u+2| and the result is conjugated (noble's xNegative). The
//   conjugation also flips the two correction lines, so they must be built as
//   "add -psi(Q), then add +psi^2(Q)" (bn254 with u > 0 uses "+psi(Q), then -psi^2(Q)").
//   With bn254's lines the map is not bilinear; test/unit/protocol/ecdaa/pairing.test.ts checks.
// - The hard part of the final exponentiation is bn254's chain with f^(-u) = f^|u| in place of
//   f^(-x). The result is the generic pairing raised to a fixed exponent coprime to r, which is
//   still a non-degenerate bilinear pairing (and verification only compares against 1).
import { blsBasic } from '@noble/curves/abstract/bls.js';
import type { BlsPostPrecomputePointAddFn } from '@noble/curves/abstract/bls.js';
import {
  BN_U_ABS,
  Fp,
  Fp12F,
  Fp2F,
  Fp6F,
  Fr,
  G1,
  G2,
  installFinalExponentiation,
  psi,
  type Fp12,
  type Fp2,
  type G1Point,
  type G2Point,
} from './curve.ts';

// Signed (NAF) digits of |u|, most significant first: 18 non-zero digits instead of 22 bits.
export const U_NAF: readonly number[] = (() => {
  const digits: number[] = [];
  for (let a = BN_U_ABS; a > 0n; a >>= 1n) {
    if ((a & 1n) === 0n) digits.push(0);
    else if ((a & 3n) === 3n) {
      digits.push(-1);
      a += 1n;
    } else digits.push(1);
  }
  return digits.reverse();
})();

// f^(-u) = f^|u| (u < 0) for f in the cyclotomic subgroup, where f^-1 is the conjugate.
function powMinusU(f: Fp12): Fp12 {
  const fInv = Fp12F.conjugate(f);
  let z = f; // leading NAF digit is 1
  for (let i = 1; i < U_NAF.length; i++) {
    z = Fp12F._cyclotomicSquare(z);
    const d = U_NAF[i];
    if (d === 1) z = Fp12F.mul(z, f);
    else if (d === -1) z = Fp12F.mul(z, fInv);
  }
  return z;
}

function finalExponentiate(f: Fp12): Fp12 {
  // Easy part: f^((p^6 - 1)(p^2 + 1)).
  const r0 = Fp12F.mul(Fp12F.conjugate(f), Fp12F.inv(f));
  const r = Fp12F.mul(Fp12F.frobeniusMap(r0, 2), r0);
  // Hard part (p^4 - p^2 + 1)/r, Fuentes-Castaneda et al. chain as in noble's bn254.
  const y1 = Fp12F._cyclotomicSquare(powMinusU(r));
  const y2 = Fp12F.mul(Fp12F._cyclotomicSquare(y1), y1);
  const y4 = powMinusU(y2);
  const y6 = powMinusU(Fp12F._cyclotomicSquare(y4));
  const y8 = Fp12F.mul(Fp12F.mul(Fp12F.conjugate(y6), y4), Fp12F.conjugate(y2));
  const y9 = Fp12F.mul(y8, y1);
  return Fp12F.mul(
    Fp12F.frobeniusMap(Fp12F.mul(Fp12F.conjugate(r), y9), 3),
    Fp12F.mul(
      Fp12F.frobeniusMap(y8, 2),
      Fp12F.mul(Fp12F.frobeniusMap(y9, 1), Fp12F.mul(Fp12F.mul(y8, y4), r)),
    ),
  );
}
installFinalExponentiation(finalExponentiate);

// Correction lines after the loop, mirrored for u < 0 (see the file comment).
function postPrecompute(
  Rx: Fp2,
  Ry: Fp2,
  Rz: Fp2,
  Qx: Fp2,
  Qy: Fp2,
  pointAdd: BlsPostPrecomputePointAddFn,
): void {
  const q = psi(Qx, Qy);
  ({ Rx, Ry, Rz } = pointAdd(Rx, Ry, Rz, q[0], Fp2F.neg(q[1])));
  const q2 = psi(q[0], q[1]);
  pointAdd(Rx, Ry, Rz, q2[0], q2[1]);
}

const bn = blsBasic({ Fp, Fr, Fp2: Fp2F, Fp6: Fp6F, Fp12: Fp12F }, G1, G2, {
  ateLoopSize: 6n * BN_U_ABS - 2n, // |6u + 2|
  xNegative: true,
  twistType: 'multiplicative',
  postPrecompute,
});
// blsBasic sets a width-4 table on the G1 generator; the generator is used in every proof, so
// give it a wider one.
G1.BASE.precompute(8);

/** Precomputed Miller-loop line coefficients for one fixed G2 point. */
export type G2Lines = ReturnType<typeof bn.utils.calcPairingPrecomputes>;

/** Line table of a valid, non-zero G2 point (compute once per fixed point, e.g. GPK X and Y). */
export function prepareG2(Q: G2Point): G2Lines {
  return bn.utils.calcPairingPrecomputes(Q);
}

/** Line table of the G2 generator P2. */
export const P2_LINES: G2Lines = prepareG2(G2.BASE);

/**
 * Product of Miller loops f_{P_i, Q_i} (one shared squaring chain), without the final
 * exponentiation. Terms whose G1 point is the identity contribute 1 and are skipped.
 */
export function multiMillerLoop(terms: readonly (readonly [G1Point, G2Lines])[]): Fp12 {
  const pairs: [G2Lines, bigint, bigint][] = [];
  const live = terms.filter(([P]) => !P.is0());
  const affine = live.map(([P]) => P.toAffine());
  for (let i = 0; i < live.length; i++) {
    const a = affine[i]!;
    pairs.push([live[i]![1], a.x, a.y]);
  }
  return bn.millerLoopBatch(pairs); // no final exponentiation by default
}

export { finalExponentiate };

/** True when the product of pairings e(P_i, Q_i) equals 1 in GT. */
export function isPairingProductOne(terms: readonly (readonly [G1Point, G2Lines])[]): boolean {
  return Fp12F.eql(finalExponentiate(multiMillerLoop(terms)), Fp12F.ONE);
}

/** The reduced pairing e(P, Q); 1 when either point is the identity. */
export function pairing(P: G1Point, Q: G2Point): Fp12 {
  if (P.is0() || Q.is0()) return Fp12F.ONE;
  return bn.pairing(P, Q, true);
}

export const GT = Fp12F;
