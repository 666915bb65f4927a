// ECDAA issuer (xaptum/ecdaa 1.0.0 issuer_keypair and credential_generate;
// ECDAA-FP256BN.md "Hashes"): group creation with the Schnorr proof of x and y, issuer key
// verification, and credential issuance answering a member's join request.
// Random draws in the reference's order: x, y, rx, ry (createIssuer); l, r (issueCredential).
import { CryptoError } from '../errors.ts';
import type { Rng } from '../util/rng.ts';
import { Fr, G1, G2 } from './curve.ts';
import { encodeG1, encodeG2 } from './encoding.ts';
import { hashToScalar, randomScalar } from './hash.ts';
import { verifyJoinRequest } from './member.ts';
import { schnorrResponse } from './schnorr.ts';
import type {
  Credential,
  CredentialSignature,
  IssuerPublicKey,
  IssuerSecretKey,
  JoinRequest,
} from './structures.ts';

const P1 = G1.BASE;
const P2 = G2.BASE;

function issuerChallenge(Ux: typeof P2, Uy: typeof P2, X: typeof P2, Y: typeof P2): bigint {
  return hashToScalar(encodeG2(Ux), encodeG2(Uy), encodeG2(P2), encodeG2(X), encodeG2(Y));
}

export function createIssuer(rng: Rng): { secretKey: IssuerSecretKey; publicKey: IssuerPublicKey } {
  const x = randomScalar(rng);
  const y = randomScalar(rng);
  const X = P2.multiply(x);
  const Y = P2.multiply(y);
  const rx = randomScalar(rng);
  const ry = randomScalar(rng);
  const c = issuerChallenge(P2.multiply(rx), P2.multiply(ry), X, Y);
  return {
    secretKey: { x, y },
    publicKey: { gpk: { X, Y }, c, sx: schnorrResponse(rx, c, x), sy: schnorrResponse(ry, c, y) },
  };
}

/** Checks the issuer's proof of knowledge of x and y: c = H(sx*P2 - c*X | sy*P2 - c*Y | P2 | X | Y). */
export function verifyIssuerPublicKey(ipk: IssuerPublicKey): boolean {
  const { gpk, c, sx, sy } = ipk;
  if (gpk.X.is0() || gpk.Y.is0()) return false;
  const Ux = P2.multiplyUnsafe(sx).subtract(gpk.X.multiplyUnsafe(c));
  const Uy = P2.multiplyUnsafe(sy).subtract(gpk.Y.multiplyUnsafe(c));
  if (Ux.is0() || Uy.is0()) return false;
  return issuerChallenge(Ux, Uy, gpk.X, gpk.Y) === c;
}

/**
 * Answers a join request: A = l*P1, B = y*A, D = (l*y)*Q, C = x*(A + D), and the proof that B and
 * D share the discrete log l*y. Throws CryptoError ECDAA_JOIN_PROOF if the member's proof fails.
 */
export function issueCredential(
  isk: IssuerSecretKey,
  request: JoinRequest,
  nonce: Uint8Array,
  rng: Rng,
): { credential: Credential; credentialSignature: CredentialSignature } {
  if (!verifyJoinRequest(request, nonce)) {
    throw new CryptoError('ECDAA_JOIN_PROOF', 'issueCredential: the join request proof does not verify');
  }
  const { Q } = request;
  const l = randomScalar(rng);
  const ly = Fr.mul(l, isk.y);
  const A = P1.multiply(l);
  const B = A.multiply(isk.y);
  const D = Q.multiply(ly);
  const C = A.add(D).multiply(isk.x);
  const r = randomScalar(rng);
  const U = P1.multiply(r);
  const V = Q.multiply(r);
  const c = hashToScalar(encodeG1(U), encodeG1(V), encodeG1(P1), encodeG1(B), encodeG1(Q), encodeG1(D));
  return { credential: { A, B, C, D }, credentialSignature: { c, s: schnorrResponse(r, c, ly) } };
}
