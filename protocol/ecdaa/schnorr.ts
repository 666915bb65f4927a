// The Schnorr-type proofs of xaptum/ecdaa 1.0.0 (libecdaa/schnorr), as hash inputs and
// challenge checks shared by member, issuer and verifier (ECDAA-FP256BN.md "Hashes"):
// - member signature: c' = H(E | S | W | L | B | K | basename | msg) or H(E | S | W | msg),
//   c = H(n | c'), s = k + c*sk;
// - join proof: the same with basepoint P1, public key Q, message = nonce, no basename;
// - credential proof: c = H(U | V | P1 | B | Q | D);
// - issuer proof: c = H(Ux | Uy | P2 | X | Y).
// All hashes are SHA-256 read big-endian and reduced mod r; points are encoded 04|x|y.
import { CURVE_ORDER, Fr, type G1Point } from './curve.ts';
import { encodeG1, encodeScalar } from './encoding.ts';
import { hashToScalar } from './hash.ts';

/** c' of a member signature (or join proof); B is the basename point hashToG1(basename). */
export function signatureChallengePrime(p: {
  E: G1Point;
  S: G1Point;
  W: G1Point;
  L?: G1Point;
  B?: G1Point;
  K?: G1Point;
  basename?: Uint8Array;
  message: Uint8Array;
}): bigint {
  const head = [encodeG1(p.E), encodeG1(p.S), encodeG1(p.W)];
  if (p.basename !== undefined && p.basename.length > 0) {
    if (p.L === undefined || p.B === undefined || p.K === undefined) {
      throw new TypeError('signatureChallengePrime: a basename needs L, B and K');
    }
    return hashToScalar(...head, encodeG1(p.L), encodeG1(p.B), encodeG1(p.K), p.basename, p.message);
  }
  return hashToScalar(...head, p.message);
}

/** c = H(n | c') mod r. */
export function signatureChallenge(n: bigint, cPrime: bigint): bigint {
  return hashToScalar(encodeScalar(n), encodeScalar(cPrime));
}

/** s = k + c*x mod r. */
export function schnorrResponse(k: bigint, c: bigint, x: bigint): bigint {
  return Fr.add(k, Fr.mul(c, x));
}

/** s*P - c*X, the verifier's recomputed commitment (public scalars: variable time is fine). */
export function commitmentOf(P: G1Point, s: bigint, X: G1Point, c: bigint): G1Point {
  return P.mulAddUnsafe(s, X.negate(), c);
}

export const isScalar = (x: bigint): boolean => x >= 0n && x < CURVE_ORDER;
