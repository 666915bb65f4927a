// ECDAA signature verification (xaptum/ecdaa 1.0.0 ecdaa_signature_verify; ECDAA-FP256BN.md
// "Hashes"): recompute the Schnorr challenge, then check e(R, Y) = e(S, P2) and
// e(T, P2) = e(R + W, X), then the revocation lists.
//
// Deviation for speed, not for semantics: the two pairing equations are checked as one product
// e(R, Y) * e(rho*T - S, P2) * e(-rho*(R + W), X) = 1 with a fresh random 128-bit rho
// (3 Miller loops over precomputed G2 lines, 1 final exponentiation). All inputs lie in
// order-r groups (G1 has cofactor 1, G2 points are subgroup-checked when decoded), so a
// signature failing either equation passes with probability at most 2^-128.
// The multi-scalar products and the pairing check run on WebAssembly (ops.ts WASM_OPS);
// verifySignatureWith takes NOBLE_OPS, the reference the tests compare verdicts against.
import { CryptoError } from '../errors.ts';
import { bytesToBigInt, toHex } from '../util/bytes.ts';
import { systemRng, type Rng } from '../util/rng.ts';
import type { G1Point } from './curve.ts';
import { hashToG1 } from './hash.ts';
import { WASM_OPS, type CurveOps } from './ops.ts';
import { P2_LINES, prepareG2, type G2Lines } from './pairing.ts';
import { isScalar, signatureChallenge, signatureChallengePrime } from './schnorr.ts';
import type { GroupPublicKey, Signature } from './structures.ts';

export interface PreparedGroupPublicKey {
  gpk: GroupPublicKey;
  /** Miller-loop line tables of the fixed G2 points, computed once. */
  lines: { P2: G2Lines; X: G2Lines; Y: G2Lines };
  /** hashToG1(basename) per basename seen (a group has few basenames). */
  basenamePoints: Map<string, G1Point>;
}

/**
 * Validates the GPK once (non-zero, on the twist, in the order-r subgroup: decodeGroupPublicKey
 * already guarantees this, points built in code may not) and precomputes its line tables.
 * Throws CryptoError ECDAA_GPK for an invalid key.
 */
export function prepareGroupPublicKey(gpk: GroupPublicKey): PreparedGroupPublicKey {
  for (const [name, Q] of [
    ['X', gpk.X],
    ['Y', gpk.Y],
  ] as const) {
    if (Q.is0() || !isValidPoint(Q)) {
      throw new CryptoError('ECDAA_GPK', `prepareGroupPublicKey: gpk.${name} is not a valid G2 point`);
    }
  }
  return {
    gpk,
    lines: { P2: P2_LINES, X: prepareG2(gpk.X), Y: prepareG2(gpk.Y) },
    basenamePoints: new Map(),
  };
}

export interface RevocationLists {
  secretKeys?: bigint[];
  pseudonyms?: G1Point[];
}

/**
 * Why a signature was rejected. 'invalid-point' only arises for Signature objects built in code
 * with points off the curve (decodeSignature never returns those).
 */
export type VerifyFailure =
  'challenge' | 'pairing' | 'infinity' | 'invalid-point' | 'revoked-key' | 'revoked-pseudonym' | 'basename';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

const BASENAME_CACHE_LIMIT = 64;

/** On-curve (and, for G2, subgroup) check; noble caches success per point object. */
function isValidPoint(P: { assertValidity(): void }): boolean {
  try {
    P.assertValidity();
    return true;
  } catch {
    return false;
  }
}

export function basenamePoint(pgpk: PreparedGroupPublicKey, basename: Uint8Array): G1Point {
  const key = toHex(basename);
  let B = pgpk.basenamePoints.get(key);
  if (B === undefined) {
    B = hashToG1(basename).point;
    if (pgpk.basenamePoints.size >= BASENAME_CACHE_LIMIT) pgpk.basenamePoints.clear();
    pgpk.basenamePoints.set(key, B);
  }
  return B;
}

/** A fresh non-zero 128-bit coefficient for random linear combinations. */
export function randomCoefficient(rng: Rng): bigint {
  for (;;) {
    const x = bytesToBigInt(rng.bytes(16));
    if (x !== 0n) return x;
  }
}

/**
 * Everything but the pairing equations: shape, identity points, basename consistency, scalar
 * ranges and the Schnorr challenge. Shared by single and batch verification.
 */
export function checkSignatureProof(
  sig: Signature,
  message: Uint8Array,
  basename: Uint8Array | undefined,
  pgpk: PreparedGroupPublicKey,
  ops: CurveOps = WASM_OPS,
): VerifyResult {
  const { c, s, R, S, T, W, n, K } = sig;
  if (R.is0() || S.is0() || T.is0() || W.is0() || (K !== undefined && K.is0())) {
    return { ok: false, reason: 'infinity' };
  }
  if (![R, S, T, W, ...(K === undefined ? [] : [K])].every(isValidPoint)) {
    return { ok: false, reason: 'invalid-point' };
  }
  const hasBasename = basename !== undefined && basename.length > 0;
  if (hasBasename !== (K !== undefined)) return { ok: false, reason: 'basename' };
  if (!isScalar(c) || !isScalar(s) || !isScalar(n)) return { ok: false, reason: 'challenge' };
  // E = s*S - c*W and L = s*B - c*K (the Schnorr commitments), one multi-scalar product each.
  const E = ops.msm([S, W.negate()], [s, c]);
  if (E.is0()) return { ok: false, reason: 'challenge' };
  let cPrime: bigint;
  if (hasBasename) {
    const B = basenamePoint(pgpk, basename);
    const L = ops.msm([B, K!.negate()], [s, c]);
    if (L.is0()) return { ok: false, reason: 'challenge' };
    cPrime = signatureChallengePrime({ E, S, W, L, B, K: K!, basename, message });
  } else {
    cPrime = signatureChallengePrime({ E, S, W, message });
  }
  if (signatureChallenge(n, cPrime) !== c) return { ok: false, reason: 'challenge' };
  return { ok: true };
}

/** Revocation checks: W = sk_i * S for a listed secret key, or K equal to a listed pseudonym. */
export function checkRevocations(sig: Signature, revocations: RevocationLists | undefined): VerifyResult {
  for (const sk of revocations?.secretKeys ?? []) {
    if (isScalar(sk) && sk !== 0n && sig.S.multiplyUnsafe(sk).equals(sig.W)) {
      return { ok: false, reason: 'revoked-key' };
    }
  }
  if (sig.K !== undefined) {
    for (const K of revocations?.pseudonyms ?? []) {
      if (K.equals(sig.K)) return { ok: false, reason: 'revoked-pseudonym' };
    }
  }
  return { ok: true };
}

export function verifySignature(
  sig: Signature,
  message: Uint8Array,
  basename: Uint8Array | undefined,
  pgpk: PreparedGroupPublicKey,
  revocations?: RevocationLists,
): VerifyResult {
  return verifySignatureWith(WASM_OPS, sig, message, basename, pgpk, revocations);
}

/** verifySignature on the given arithmetic (the tests run it on NOBLE_OPS, the reference). */
export function verifySignatureWith(
  ops: CurveOps,
  sig: Signature,
  message: Uint8Array,
  basename: Uint8Array | undefined,
  pgpk: PreparedGroupPublicKey,
  revocations?: RevocationLists,
): VerifyResult {
  const proof = checkSignatureProof(sig, message, basename, pgpk, ops);
  if (!proof.ok) return proof;
  const rho = randomCoefficient(systemRng);
  const { R, S, T, W } = sig;
  const ok = ops.isPairingProductOne([
    [R, pgpk.lines.Y],
    [ops.msm([T, S.negate()], [rho, 1n]), pgpk.lines.P2],
    [ops.msm([R, W], [rho, rho]).negate(), pgpk.lines.X],
  ]);
  if (!ok) return { ok: false, reason: 'pairing' };
  return checkRevocations(sig, revocations);
}
