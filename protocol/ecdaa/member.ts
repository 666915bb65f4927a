// ECDAA member with a software secret key (xaptum/ecdaa 1.0.0 member_keypair, credential and
// signature; ECDAA-FP256BN.md "Hashes"): join request, credential check, signing with and
// without basename. A TPM-held key signs through tpm/ instead and yields the same Signature.
//
// Random draws follow the reference's order so recorded draws replay byte for byte:
// join request k, n; signature l, k, n (see hash.ts randomScalar for the draw layout).
import type { Rng } from '../util/rng.ts';
import { G1, type G1Point } from './curve.ts';
import { P2_LINES, isPairingProductOne, prepareG2 } from './pairing.ts';
import { hashToG1, hashToScalar, randomScalar } from './hash.ts';
import { encodeG1 } from './encoding.ts';
import { commitmentOf, schnorrResponse, signatureChallenge, signatureChallengePrime } from './schnorr.ts';
import type {
  Credential,
  CredentialSignature,
  GroupPublicKey,
  JoinRequest,
  Signature,
} from './structures.ts';

const P1 = G1.BASE;

/** Q = sk * P1. */
export function memberPublicKey(secretKey: bigint): G1Point {
  return P1.multiply(secretKey);
}

/** Join request: Q plus a Schnorr proof of sk bound to the issuer's nonce. Draws k, then n. */
export function createJoinRequest(secretKey: bigint, nonce: Uint8Array, rng: Rng): JoinRequest {
  const Q = memberPublicKey(secretKey);
  const k = randomScalar(rng);
  const E = P1.multiply(k);
  const cPrime = signatureChallengePrime({ E, S: P1, W: Q, message: nonce });
  const n = randomScalar(rng);
  const c = signatureChallenge(n, cPrime);
  return { Q, c, s: schnorrResponse(k, c, secretKey), n };
}

export function verifyJoinRequest(request: JoinRequest, nonce: Uint8Array): boolean {
  const { Q, c, s, n } = request;
  if (Q.is0()) return false;
  const E = commitmentOf(P1, s, Q, c);
  if (E.is0()) return false;
  const cPrime = signatureChallengePrime({ E, S: P1, W: Q, message: nonce });
  return signatureChallenge(n, cPrime) === c;
}

/**
 * Checks a credential from the issuer: the Schnorr proof that B and D share the discrete log
 * l*y (c = H(s*P1 - c*B | s*Q - c*D | P1 | B | Q | D)), then e(A, Y) = e(B, P2) and
 * e(C, P2) = e(A + D, X).
 */
export function verifyCredential(
  cred: Credential,
  credSig: CredentialSignature,
  Q: G1Point,
  gpk: GroupPublicKey,
): boolean {
  const { A, B, C, D } = cred;
  if (A.is0() || B.is0() || C.is0() || D.is0() || Q.is0()) return false;
  const U = commitmentOf(P1, credSig.s, B, credSig.c);
  const V = commitmentOf(Q, credSig.s, D, credSig.c);
  if (U.is0() || V.is0()) return false;
  const c = hashToScalar(encodeG1(U), encodeG1(V), encodeG1(P1), encodeG1(B), encodeG1(Q), encodeG1(D));
  if (c !== credSig.c) return false;
  const yLines = prepareG2(gpk.Y);
  const xLines = prepareG2(gpk.X);
  return (
    isPairingProductOne([
      [A, yLines],
      [B.negate(), P2_LINES],
    ]) &&
    isPairingProductOne([
      [C, P2_LINES],
      [A.add(D).negate(), xLines],
    ])
  );
}

/** R, S, T, W = l*A, l*B, l*C, l*D: an unlinkable copy of the credential. */
export function randomizeCredential(
  cred: Credential,
  l: bigint,
): { R: G1Point; S: G1Point; T: G1Point; W: G1Point } {
  return { R: cred.A.multiply(l), S: cred.B.multiply(l), T: cred.C.multiply(l), W: cred.D.multiply(l) };
}

/** The pseudonym K = sk * hashToG1(basename). */
export function pseudonymOf(secretKey: bigint, basename: Uint8Array): G1Point {
  return hashToG1(basename).point.multiply(secretKey);
}

/**
 * ecdaa_signature_sign with a software key. Draws l (randomisation), k (commitment), n (nonce),
 * in that order. An empty or absent basename signs without pseudonym (356-byte form).
 */
export function signWithSecretKey(o: {
  message: Uint8Array;
  basename?: Uint8Array;
  secretKey: bigint;
  credential: Credential;
  rng: Rng;
}): Signature {
  const { message, secretKey, credential, rng } = o;
  const l = randomScalar(rng);
  const { R, S, T, W } = randomizeCredential(credential, l);
  const k = randomScalar(rng);
  const E = S.multiply(k);
  let cPrime: bigint;
  let K: G1Point | undefined;
  if (o.basename !== undefined && o.basename.length > 0) {
    const B = hashToG1(o.basename).point;
    K = B.multiply(secretKey);
    const L = B.multiply(k);
    cPrime = signatureChallengePrime({ E, S, W, L, B, K, basename: o.basename, message });
  } else {
    cPrime = signatureChallengePrime({ E, S, W, message });
  }
  const n = randomScalar(rng);
  const c = signatureChallenge(n, cPrime);
  const s = schnorrResponse(k, c, secretKey);
  const sig: Signature = { c, s, R, S, T, W, n };
  if (K !== undefined) sig.K = K;
  return sig;
}
