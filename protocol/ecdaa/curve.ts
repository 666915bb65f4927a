// The FP256BN curve (TPM_ECC_BN_P256, ISO/IEC 15946-5 BN P256, AMCL "FP256BN") as used by
// xaptum/ecdaa 1.0.0, assembled from @noble/curves' abstract tower and weierstrass builders.
// Parameters: the project's reference notes ECDAA-FP256BN.md, section "Curve" (u, p, r, P2 and
// the GLV constants, as AMCL's FP256BN defines them).
//
// Deviations from noble's bn254 (the closest built-in curve), each with its reason:
// - The BN seed u is negative, so the final-exponentiation chain uses f^|u| where bn254 uses
//   f^(-x) (pairing.ts), and the Miller loop correction lines are mirrored (pairing.ts).
// - Fp2 = Fp[i]/(i^2+1) with sextic non-residue xi = 1+i, and the twist is M-type
//   (E': y^2 = x^3 + 3*xi), the same shape as bls12-381, so the psi endomorphism uses 1/xi.
// - G1 gets the GLV endomorphism; noble needs the reduced lattice basis with determinant +r
//   (the other orientation makes about half of all scalars fail to split).
import { Field } from '@noble/curves/abstract/modular.js';
import { psiFrobenius, tower12 } from '@noble/curves/abstract/tower.js';
import type { Fp2, Fp12 as NobleFp12 } from '@noble/curves/abstract/tower.js';
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import type { WeierstrassPoint, WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';

/** BN seed u (negative for FP256BN). */
export const BN_U = -0x6882f5c030b0a801n;
/** |u|, the exponent used by the cyclotomic exponentiations of the final exponentiation. */
export const BN_U_ABS = 0x6882f5c030b0a801n;
/** Base field prime p = 36u^4 + 36u^3 + 24u^2 + 6u + 1. */
export const FIELD_PRIME = 0xfffffffffffcf0cd46e5f25eee71a49f0cdc65fb12980a82d3292ddbaed33013n;
/** Group order r = 36u^4 + 36u^3 + 18u^2 + 6u + 1 (G1 cofactor 1). */
export const CURVE_ORDER = 0xfffffffffffcf0cd46e5f25eee71a49e0cdc65fb1299921af62d536cd10b500dn;
/** G2 cofactor 2p - r. */
export const G2_COFACTOR = 2n * FIELD_PRIME - CURVE_ORDER;
/** p mod r = 6u^2: psi acts on G2 as multiplication by this (the G2 subgroup test). */
const SIX_U_SQUARED = 6n * BN_U * BN_U;

// Cube roots of unity for GLV on G1: (x, y) -> (beta*x, y) equals [lambda](x, y).
export const GLV_BETA = 0xfffffffffffcf0cc0d5d111e5c618c39710e8e5d2104dd63f80d23b70b31780bn;
export const GLV_LAMBDA = 0xfffffffffffcf0cad3d42fddca5173cfd540b6bf2f77ceaa8f2534d938b81ff6n;
// Reduced basis of {(a, b) : a + b*lambda = 0 mod r}, ordered so that det = +r (noble's convention).
export const GLV_BASIS: [[bigint, bigint], [bigint, bigint]] = [
  [0xfffffffffffe78663af0036e1b054003n, -0xd105eb8061615001n],
  [0xd105eb8061615001n, 0xfffffffffffe78670bf5eeee7c669004n],
];

export const Fr = Field(CURVE_ORDER);

// Bootstrap binding: the final exponentiation closes over the finished Fp12 (see pairing.ts,
// which installs the real chain; tower12 only needs a callable here).
let finalExponentiateImpl: (f: NobleFp12) => NobleFp12 = () => {
  throw new Error('FP256BN final exponentiation not installed');
};
/** pairing.ts installs the final exponentiation once Fp12 exists. */
export function installFinalExponentiation(fn: (f: NobleFp12) => NobleFp12): void {
  finalExponentiateImpl = fn;
}

// b' = 3 * (1 + i) for the M-type twist.
const TWIST_B: Fp2 = { c0: 3n, c1: 3n };

const tower = tower12({
  ORDER: FIELD_PRIME,
  X_LEN: 63, // bit length of |u|, the only exponent given to _cyclotomicExp
  FP2_NONRESIDUE: [1n, 1n], // xi = 1 + i
  Fp2mulByB: (num: Fp2) => tower.Fp2.mul(num, TWIST_B),
  Fp12finalExponentiate: (num: NobleFp12) => finalExponentiateImpl(num),
});
export const Fp = tower.Fp;
export const Fp2F = tower.Fp2;
export const Fp6F = tower.Fp6;
export const Fp12F = tower.Fp12;

// psi for an M-type twist: untwist, Frobenius, twist; coefficients built from 1/xi.
const frob = psiFrobenius(Fp, Fp2F, Fp2F.div(Fp2F.ONE, Fp2F.NONRESIDUE));
export const psi = frob.psi;

export const G1 = weierstrass(
  { p: FIELD_PRIME, n: CURVE_ORDER, h: 1n, a: 0n, b: 3n, Gx: 1n, Gy: 2n },
  { Fp, Fn: Fr, endo: { beta: GLV_BETA, basises: GLV_BASIS } },
);

export const G2 = weierstrass(
  {
    p: Fp2F.ORDER,
    n: CURVE_ORDER,
    h: G2_COFACTOR,
    a: Fp2F.ZERO,
    b: TWIST_B,
    Gx: {
      c0: 0xfe0c3350b4c96c2028560f577c28913ace1c539a12bf843cd22616b689c09efbn,
      c1: 0x4ea66057738ac054db5ae1c637d813b924dd78e287d03589d269ed34a37e6a2bn,
    },
    Gy: {
      c0: 0x702046e7c542a3b376770d75124e3e51efcb24758d615848e909b481bedc27ffn,
      c1: 0x0554e3bcd388c29042eea649297eb29f8b4cbe80821a98b3e01281114aad049bn,
    },
  },
  {
    Fp: Fp2F,
    Fn: Fr,
    // psi(Q) == [p]Q == [6u^2]Q exactly on the order-r subgroup (Scott's test for BN curves).
    isTorsionFree: (c: WeierstrassPointCons<Fp2>, P: WeierstrassPoint<Fp2>) =>
      P.multiplyUnsafe(SIX_U_SQUARED).equals(frob.G2psi(c, P)),
  },
);

export type G1Point = WeierstrassPoint<bigint>;
export type G2Point = WeierstrassPoint<Fp2>;
export type Fp12 = NobleFp12;
export type { Fp2 };

// The generators are used in every proof; precompute their fixed-base tables once.
G1.BASE.precompute(8);
