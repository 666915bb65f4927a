// ECDAA signing with the TPM-held member key (xaptum/ecdaa 1.0 ecdaa_signature_TPM_sign; traces
// README "Operation sequence 2", step 4), producing the reference's signature: 421 bytes
// c | s | R | S | T | W | n | K with a basename, 356 bytes without.
//   1. the host draws l and randomises the credential: R, S, T, W = l*A, l*B, l*C, l*D;
//   2. with a basename: (P2, i) = hashToG1(basename), s2 = LE32(i) || basename (the reference
//      memcpy's a host-endian int32; surprise 3), y2 = P2's even y;
//   3. TPM2_Commit(P1 = S, s2, y2) -> E = r*S, K = d*P2, L = r*P2, counter;
//   4. c' = H(E | S | W | L | P2 | K | basename | message) (or H(E | S | W | message));
//   5. TPM2_Sign(c', ECDAA, count = counter) -> n, s; c = H(n | c').
// The TPM computes P2's x as SHA-256(s2) mod p, protocol/ecdaa (like the reference) mod r: the two
// differ only for hashes in [r, 2^256), probability about 2^-46; such a basename is refused.
// Before returning, s*S - c*W = E is checked on the host, so a wrong key or stale credential fails
// here rather than at the server.
import { sha256 } from '@noble/hashes/sha2.js';
import {
  decodeCredential,
  decodeGroupPublicKey,
  encodeSignature,
  FIELD_PRIME,
  groupId,
  hashToG1,
  randomizeCredential,
  randomScalar,
  signatureChallenge,
  signatureChallengePrime,
  type Credential,
  type G1Point,
  type Signature,
} from '../protocol/ecdaa/index.ts';
import { bigIntToBytes, bytesToBigInt, concatBytes } from '../protocol/util/bytes.ts';
import { systemRng, type Rng } from '../protocol/util/rng.ts';
import { commitmentOf, EcdaaTpmError, tpmSchnorr } from './ecdaa-commit.ts';
import { readDeviceObjects, XTPM_ECDAA_KEY_HANDLE } from './nv-layout.ts';
import type { DaaSigner } from '../protocol/xtt/signers.ts';
import type { Tpm } from './tpm.ts';

export interface TpmDaaSignerConfig {
  /** 258-byte group public key (NV 0x1410000). */
  readonly gpk: Uint8Array;
  /** 260-byte credential A | B | C | D (NV 0x1410001). */
  readonly credential: Uint8Array;
  /** Basename (NV 0x1410007); empty signs without pseudonym (356 bytes). */
  readonly basename: Uint8Array;
  readonly keyHandle?: number;
  readonly rng?: Rng;
}

function le32(i: number): Uint8Array {
  return new Uint8Array([i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, (i >>> 24) & 0xff]);
}

/** P2 and the Commit inputs s2, y2 for a basename, exactly as the reference builds them. */
export function basenameCommitInputs(basename: Uint8Array): { B: G1Point; s2: Uint8Array; y2: Uint8Array } {
  const { point: B, counter } = hashToG1(basename);
  const s2 = concatBytes(le32(counter), basename);
  const { x, y } = B.toAffine();
  if (bytesToBigInt(sha256(s2)) % FIELD_PRIME !== x) {
    throw new EcdaaTpmError(
      'basename hashes to a point the TPM computes differently (hash above the group order)',
    );
  }
  return { B, s2, y2: bigIntToBytes(y, 32) };
}

/** Satisfies protocol/xtt's DaaSigner with the member key inside the TPM. */
export class TpmDaaSigner implements DaaSigner {
  readonly gid: Uint8Array;
  readonly basename: Uint8Array;
  private readonly credential: Credential;
  private readonly keyHandle: number;
  private readonly rng: Rng;
  private readonly p2: { B: G1Point; s2: Uint8Array; y2: Uint8Array } | undefined;

  constructor(
    private readonly tpm: Tpm,
    cfg: TpmDaaSignerConfig,
  ) {
    decodeGroupPublicKey(cfg.gpk);
    this.credential = decodeCredential(cfg.credential);
    this.basename = cfg.basename.slice();
    this.gid = groupId(cfg.gpk, cfg.basename);
    this.keyHandle = cfg.keyHandle ?? XTPM_ECDAA_KEY_HANDLE;
    this.rng = cfg.rng ?? systemRng;
    this.p2 = this.basename.length > 0 ? basenameCommitInputs(this.basename) : undefined;
  }

  /** Reads basename, GPK and credential from the reference NV indices, as the reference client does. */
  static async fromTpm(tpm: Tpm, opts: { rng?: Rng; keyHandle?: number } = {}): Promise<TpmDaaSigner> {
    const o = await readDeviceObjects(tpm);
    return new TpmDaaSigner(tpm, { gpk: o.gpk, credential: o.credential, basename: o.basename, ...opts });
  }

  /** The signature as a structure (what encodeSignature turns into 421/356 bytes). */
  async signStructure(message: Uint8Array): Promise<Signature> {
    const l = randomScalar(this.rng);
    const { R, S, T, W } = randomizeCredential(this.credential, l);
    const p2 = this.p2;
    const r = await tpmSchnorr(this.tpm, this.keyHandle, S, p2 && { s2: p2.s2, y2: p2.y2 }, ({ E, K, L }) =>
      p2
        ? signatureChallengePrime({ E, S, W, L: L!, B: p2.B, K: K!, basename: this.basename, message })
        : signatureChallengePrime({ E, S, W, message }),
    );
    const c = signatureChallenge(r.n, r.cPrime);
    if (!commitmentOf(S, r.s, W, c).equals(r.commit.E)) {
      throw new EcdaaTpmError('TPM signature does not match the credential (wrong key at the handle?)');
    }
    const sig: Signature = { c, s: r.s, R, S, T, W, n: r.n };
    if (r.commit.K) sig.K = r.commit.K;
    return sig;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return encodeSignature(await this.signStructure(message));
  }
}
