// The TPM half of an ECDAA Schnorr proof, shared by signing and joining (TCG TPM 2.0 Library
// Part 1, C.4 "ECDAA"; xaptum/ecdaa 1.0 libecdaa-tpm schnorr_sign_TPM): TPM2_Commit(P1, s2, y2)
// gives E = r*P1 (and K = d*P2, L = r*P2 with a basename point), the host hashes c' over them,
// TPM2_Sign(digest c', scheme ECDAA, count = the commit counter) gives the TPM nonce n and
// s = r + H(n || c')*d. Like the reference, a nonce shorter than 32 bytes restarts the pair (the
// host hashes n as 32 bytes, the TPM as it is): up to 9 attempts in total.
import { bigIntToBytes, bytesToBigInt } from '../protocol/util/bytes.ts';
import { decodeG1, type G1Point } from '../protocol/ecdaa/index.ts';
import { commit } from './commands/commit.ts';
import { TpmLayerError } from './errors.ts';
import { sign } from './commands/sign.ts';
import { TPM_ALG } from './constants.ts';
import { isEmptyPoint, pointToSec1, type EccPoint } from './marshal.ts';
import type { Tpm } from './tpm.ts';

export const MAX_COMMIT_ATTEMPTS = 9;

export class EcdaaTpmError extends TpmLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TPM_ECDAA', message, options);
  }
}

/** A G1 point as the TPM2B_ECC_POINT the TPM expects: each coordinate padded to 32 bytes. */
export function g1ToTpm(P: G1Point): EccPoint {
  const { x, y } = P.toAffine();
  return { x: bigIntToBytes(x, 32), y: bigIntToBytes(y, 32) };
}

/** A TPM-returned point checked to lie on FP256BN (decodeG1 rejects anything else). */
export function tpmToG1(p: EccPoint, field: string): G1Point {
  return decodeG1(pointToSec1(p), field);
}

/** s*P - c*X: the commitment a verifier recomputes (public values only). */
export function commitmentOf(P: G1Point, s: bigint, X: G1Point, c: bigint): G1Point {
  return P.multiplyUnsafe(s).subtract(X.multiplyUnsafe(c));
}

export interface CommitOutput {
  readonly E: G1Point;
  readonly K?: G1Point;
  readonly L?: G1Point;
}

export interface SchnorrResult {
  readonly commit: CommitOutput;
  readonly cPrime: bigint;
  /** TPM nonce n (32 bytes as a scalar) and response s. */
  readonly n: bigint;
  readonly s: bigint;
}

/**
 * Runs Commit then Sign on the key at `keyHandle`. `challenge` computes c' from the commit output.
 * With `p2` (s2, y2) the TPM also returns K and L, which must then be present.
 */
export async function tpmSchnorr(
  tpm: Tpm,
  keyHandle: number,
  P1: G1Point,
  p2: { s2: Uint8Array; y2: Uint8Array } | undefined,
  challenge: (c: CommitOutput) => bigint,
): Promise<SchnorrResult> {
  const empty = new Uint8Array(0);
  for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
    const out = await tpm.run(commit(keyHandle, g1ToTpm(P1), p2?.s2 ?? empty, p2?.y2 ?? empty));
    const E = tpmToG1(out.E, 'Commit.E');
    let result: CommitOutput = { E };
    if (p2) {
      if (isEmptyPoint(out.K) || isEmptyPoint(out.L))
        throw new EcdaaTpmError('TPM2_Commit returned no K or L');
      result = { E, K: tpmToG1(out.K, 'Commit.K'), L: tpmToG1(out.L, 'Commit.L') };
    }
    const cPrime = challenge(result);
    const sig = await tpm.run(
      sign(keyHandle, bigIntToBytes(cPrime, 32), {
        scheme: TPM_ALG.TPM_ALG_ECDAA,
        hashAlg: TPM_ALG.TPM_ALG_SHA256,
        count: out.counter,
      }),
    );
    if (sig.sigAlg !== TPM_ALG.TPM_ALG_ECDAA)
      throw new EcdaaTpmError(`TPM2_Sign answered scheme ${sig.sigAlg}`);
    if (sig.r.length !== 32) continue;
    if (sig.s.length > 32) throw new EcdaaTpmError(`TPM2_Sign returned a ${sig.s.length}-byte s`);
    return { commit: result, cPrime, n: bytesToBigInt(sig.r), s: bytesToBigInt(sig.s) };
  }
  throw new EcdaaTpmError(`no 32-byte TPM nonce in ${MAX_COMMIT_ATTEMPTS} Commit/Sign attempts`);
}
