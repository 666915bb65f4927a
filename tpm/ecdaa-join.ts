// The TPM side of the ECDAA join (xaptum/ecdaa 1.0 ecdaa_member_key_pair_TPM_generate; traces
// README "Operation sequence 1", steps 7-8): TPM2_Commit with P1 = the FP256BN generator and empty
// s2/y2 (the TPM answers K and L as empty points of size 4), c' = H(E | P1 | Q | nonce) on the host,
// TPM2_Sign(c', ECDAA, count), c = H(n | c'). The result is the join request {Q, c, s, n} that the
// issuer checks with verifyJoinRequest before issuing the credential.
import {
  encodeJoinRequest,
  G1,
  signatureChallenge,
  signatureChallengePrime,
  type JoinRequest,
} from '../protocol/ecdaa/index.ts';
import { CryptoError } from '../protocol/errors.ts';
import { commitmentOf, tpmSchnorr, tpmToG1 } from './ecdaa-commit.ts';
import { readEcdaaKey } from './ecdaa-key.ts';
import { XTPM_ECDAA_KEY_HANDLE } from './nv-layout.ts';
import type { Tpm } from './tpm.ts';

export interface TpmJoinRequest {
  readonly request: JoinRequest;
  /** encodeJoinRequest(request): 161 bytes Q | c | s | n. */
  readonly encoded: Uint8Array;
}

export async function createTpmJoinRequest(
  tpm: Tpm,
  nonce: Uint8Array,
  keyHandle = XTPM_ECDAA_KEY_HANDLE,
): Promise<TpmJoinRequest> {
  const key = await readEcdaaKey(tpm, keyHandle);
  const Q = tpmToG1(key.outPublic.unique, 'ecdaaKey.unique');
  const P1 = G1.BASE;
  const r = await tpmSchnorr(tpm, keyHandle, P1, undefined, ({ E }) =>
    signatureChallengePrime({ E, S: P1, W: Q, message: nonce }),
  );
  const c = signatureChallenge(r.n, r.cPrime);
  // s*P1 - c*Q must give back E: catches a TPM that signed with another key or counter.
  if (!commitmentOf(P1, r.s, Q, c).equals(r.commit.E)) {
    // A proof that does not verify, like the issuer's own check (protocol/ecdaa/issuer.ts): the
    // factory reports both as a failed verification, not as a TPM that cannot be reached.
    throw new CryptoError(
      'ECDAA_JOIN_PROOF',
      'the TPM join proof does not verify against its own commitment',
    );
  }
  const request: JoinRequest = { Q, c, s: r.s, n: r.n };
  return { request, encoded: encodeJoinRequest(request) };
}
