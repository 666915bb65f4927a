// The two operations verification spends its time in, behind one small interface so both
// implementations run the same verification code:
// - WASM_OPS: FP256BN arithmetic in WebAssembly (wasm/backend.ts), used by verifySignature and
//   batchVerify;
// - NOBLE_OPS: @noble/curves (curve.ts, pairing.ts), the reference the property tests compare the
//   WebAssembly results and verdicts against.
// Both take public inputs only (variable time).
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { G1, type G1Point } from './curve.ts';
import { isPairingProductOne, type G2Lines } from './pairing.ts';
import { g1MsmWasm, isPairingProductOneWasm } from './wasm/backend.ts';

export interface CurveOps {
  /** sum_i k_i P_i for public scalars 0 <= k_i < r. */
  msm(points: readonly G1Point[], scalars: readonly bigint[]): G1Point;
  /** True when prod_i e(P_i, Q_i) = 1 over the prepared line tables of the Q_i. */
  isPairingProductOne(terms: readonly (readonly [G1Point, G2Lines])[]): boolean;
}

export const WASM_OPS: CurveOps = { msm: g1MsmWasm, isPairingProductOne: isPairingProductOneWasm };

export const NOBLE_OPS: CurveOps = {
  msm: (points, scalars) => {
    const live = points.map((P, i) => [P, scalars[i]!] as const).filter(([P, k]) => !P.is0() && k !== 0n);
    if (live.length === 0) return G1.ZERO;
    return mulAddUnsafe(
      G1,
      live.map(([P]) => P),
      live.map(([, k]) => k),
    );
  },
  isPairingProductOne,
};
