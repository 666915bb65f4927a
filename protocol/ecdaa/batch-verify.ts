// Batch verification of ECDAA signatures of one group: each signature's
// Schnorr challenge is recomputed on its own (it needs E and L explicitly), then the pairing
// equations of all remaining signatures are checked at once by a random linear combination
//   e(sum a_i R_i, Y) * e(sum (b_i T_i - a_i S_i), P2) * e(-sum b_i (R_i + W_i), X) = 1
// with fresh independent 128-bit a_i, b_i: 3 Miller loops over the precomputed G2 lines and
// 1 final exponentiation for the whole batch, the G1 sums by one multi-scalar multiplication
// each (Straus over width-5 NAF, shared doubling chain). The arithmetic is a CurveOps (ops.ts):
// WebAssembly by default, noble as the reference.
//
// If the product is not 1, the set is split in halves and re-checked with fresh coefficients,
// down to single signatures, so exactly the bad ones are reported (a half that is known to hold
// the failure is not re-checked as a whole). A batch that
// contains a signature failing either pairing equation passes a check with probability at most
// 2^-127 (all points lie in order-r groups), so an invalid signature is never accepted in
// practice; revocation lists are applied per signature afterwards.
import type { Rng } from '../util/rng.ts';
import type { G1Point } from './curve.ts';
import { WASM_OPS, type CurveOps } from './ops.ts';
import type { Signature } from './structures.ts';
import {
  checkRevocations,
  checkSignatureProof,
  randomCoefficient,
  type PreparedGroupPublicKey,
  type RevocationLists,
} from './verifier.ts';

interface Pending {
  index: number;
  R: G1Point;
  S: G1Point;
  T: G1Point;
  RW: G1Point;
}

/** One combined pairing check over a subset (true when all its pairing equations hold). */
function pairingBatchHolds(items: Pending[], pgpk: PreparedGroupPublicKey, rng: Rng, ops: CurveOps): boolean {
  const rPts: G1Point[] = [];
  const rSc: bigint[] = [];
  const p2Pts: G1Point[] = [];
  const p2Sc: bigint[] = [];
  const xPts: G1Point[] = [];
  const xSc: bigint[] = [];
  for (const it of items) {
    const a = randomCoefficient(rng);
    const b = randomCoefficient(rng);
    rPts.push(it.R);
    rSc.push(a);
    p2Pts.push(it.T, it.S.negate());
    p2Sc.push(b, a);
    xPts.push(it.RW);
    xSc.push(b);
  }
  return ops.isPairingProductOne([
    [ops.msm(rPts, rSc), pgpk.lines.Y],
    [ops.msm(p2Pts, p2Sc), pgpk.lines.P2],
    [ops.msm(xPts, xSc).negate(), pgpk.lines.X],
  ]);
}

/**
 * Marks out[i] = true for the valid signatures of `items`. `knownBad` says the caller already
 * saw this set fail (a failing check is deterministic proof that it holds an invalid signature:
 * all-valid sets always pass), so the set itself is not re-checked and a single item is bad.
 */
function findValid(
  items: Pending[],
  pgpk: PreparedGroupPublicKey,
  rng: Rng,
  ops: CurveOps,
  out: boolean[],
  knownBad = false,
): void {
  if (items.length === 0) return;
  if (!knownBad && pairingBatchHolds(items, pgpk, rng, ops)) {
    for (const it of items) out[it.index] = true;
    return;
  }
  if (items.length === 1) return; // stays false
  const mid = items.length >> 1;
  const left = items.slice(0, mid);
  const right = items.slice(mid);
  if (pairingBatchHolds(left, pgpk, rng, ops)) {
    for (const it of left) out[it.index] = true;
    findValid(right, pgpk, rng, ops, out, true); // the failure must be on the right
  } else {
    findValid(left, pgpk, rng, ops, out, true);
    findValid(right, pgpk, rng, ops, out);
  }
}

/** Verdicts aligned with `items`: true exactly for the signatures that verify. */
export function batchVerify(
  items: { signature: Signature; message: Uint8Array; basename?: Uint8Array }[],
  pgpk: PreparedGroupPublicKey,
  opts: { rng: Rng; revocations?: RevocationLists; ops?: CurveOps },
): boolean[] {
  const ops = opts.ops ?? WASM_OPS;
  const out = items.map(() => false);
  const pending: Pending[] = [];
  items.forEach((item, index) => {
    const sig = item.signature;
    if (!checkSignatureProof(sig, item.message, item.basename, pgpk, ops).ok) return;
    pending.push({ index, R: sig.R, S: sig.S, T: sig.T, RW: sig.R.add(sig.W) });
  });
  findValid(pending, pgpk, opts.rng, ops, out);
  items.forEach((item, i) => {
    if (out[i] && !checkRevocations(item.signature, opts.revocations).ok) out[i] = false;
  });
  return out;
}
