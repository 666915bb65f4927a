// A DaaSigner over the reference's software credential files (xtt tool, USE_TPM=OFF: daa_secretkey.bin,
// daa_cred.bin, daa_gpk.bin, basename.bin), signing with protocol/ecdaa (ecdaa 1.0.0 LRSW signature
// with basename, 421 bytes). gid = SHA-256(gpk || basename) as both reference tool sides compute it.
// Draws l, k, n (65 bytes each) from rng in the reference's order, so replayed draws give its bytes.
import {
  decodeCredential,
  decodeGroupPublicKey,
  decodeScalar,
  encodeSignature,
  groupId,
  signWithSecretKey,
  type Credential,
} from '../ecdaa/index.ts';
import type { Rng } from '../util/rng.ts';
import type { DaaSigner } from './signers.ts';

export interface SoftwareDaaFiles {
  /** 32-byte big-endian member secret key (daa_secretkey.bin). */
  secretKey: Uint8Array;
  /** 260-byte credential A || B || C || D (daa_cred.bin). */
  credential: Uint8Array;
  /** 258-byte group public key X || Y (daa_gpk.bin). */
  gpk: Uint8Array;
  /** basename.bin, e.g. ASCII "BASENAME". */
  basename: Uint8Array;
}

export class SoftwareDaaSigner implements DaaSigner {
  readonly gid: Uint8Array;
  readonly basename: Uint8Array;
  #secretKey: bigint;
  readonly #credential: Credential;
  readonly #rng: Rng;

  constructor(files: SoftwareDaaFiles, rng: Rng) {
    if (files.basename.length === 0) throw new RangeError('XTT DAA signatures need a basename');
    decodeGroupPublicKey(files.gpk); // strict: rejects points off the curve / outside G2
    this.#secretKey = decodeScalar(files.secretKey, 'daa_secretkey');
    if (this.#secretKey === 0n) throw new RangeError('DAA secret key is zero');
    this.#credential = decodeCredential(files.credential);
    this.basename = files.basename.slice();
    this.gid = groupId(files.gpk, files.basename);
    this.#rng = rng;
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    const sig = signWithSecretKey({
      message,
      basename: this.basename,
      secretKey: this.#secretKey,
      credential: this.#credential,
      rng: this.#rng,
    });
    return Promise.resolve(encodeSignature(sig));
  }

  /** Forget the secret (the bigint itself cannot be wiped in JS; drop references to this object). */
  destroy(): void {
    this.#secretKey = 0n;
  }
}
