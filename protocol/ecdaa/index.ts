// Public API of protocol/ecdaa: ECDAA (LRSW-DAA) on FP256BN, byte-compatible with
// xaptum/ecdaa 1.0.0. See README.md in this folder for formats and usage.
export {
  CURVE_ORDER,
  FIELD_PRIME,
  G1,
  G2,
  type Fp12,
  type Fp2,
  type G1Point,
  type G2Point,
} from './curve.ts';
export {
  pairing,
  finalExponentiate,
  multiMillerLoop,
  prepareG2,
  P2_LINES,
  GT,
  type G2Lines,
} from './pairing.ts';
export {
  G1_LENGTH,
  G2_LENGTH,
  SCALAR_LENGTH,
  decodeG1,
  decodeG2,
  decodeScalar,
  encodeG1,
  encodeG2,
  encodeScalar,
} from './encoding.ts';
export {
  CREDENTIAL_LENGTH,
  CREDENTIAL_SIGNATURE_LENGTH,
  GPK_LENGTH,
  ISSUER_PUBLIC_KEY_LENGTH,
  ISSUER_SECRET_KEY_LENGTH,
  JOIN_REQUEST_LENGTH,
  MEMBER_SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  SIGNATURE_WITH_BASENAME_LENGTH,
  decodeCredential,
  decodeCredentialSignature,
  decodeGroupPublicKey,
  decodeIssuerPublicKey,
  decodeIssuerSecretKey,
  decodeJoinRequest,
  decodeSignature,
  encodeCredential,
  encodeCredentialSignature,
  encodeGroupPublicKey,
  encodeIssuerPublicKey,
  encodeIssuerSecretKey,
  encodeJoinRequest,
  encodeSignature,
  type Credential,
  type CredentialSignature,
  type GroupPublicKey,
  type IssuerPublicKey,
  type IssuerSecretKey,
  type JoinRequest,
  type Signature,
} from './structures.ts';
export { groupId, hashToG1, hashToScalar, randomScalar, RANDOM_SCALAR_DRAW } from './hash.ts';
export { signatureChallenge, signatureChallengePrime } from './schnorr.ts';
export { createIssuer, issueCredential, verifyIssuerPublicKey } from './issuer.ts';
export {
  createJoinRequest,
  memberPublicKey,
  pseudonymOf,
  randomizeCredential,
  signWithSecretKey,
  verifyCredential,
  verifyJoinRequest,
} from './member.ts';
export {
  prepareGroupPublicKey,
  verifySignature,
  type PreparedGroupPublicKey,
  type RevocationLists,
  type VerifyFailure,
  type VerifyResult,
} from './verifier.ts';
export { batchVerify } from './batch-verify.ts';
