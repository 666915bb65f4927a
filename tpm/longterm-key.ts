// The XTT long-term ECDSA P-256 key inside the TPM, as xaptum-tpm keeps it (traces README,
// "Operation sequence 2", steps 2-3): the SRK 0x81000001 (template T1 under TPM_RH_OWNER) is
// created and persisted when absent; the key (template T3) is created under it and kept outside the
// TPM as its parent-wrapped blob; each signature is Load + Sign(ECDSA, SHA-256) + FlushContext.
// Deviation: r and s are left-padded to 32 bytes each (xtt copies the TPM2Bs unpadded, which would
// corrupt the 64-byte signature on a TPM that returns a short r or s; surprise 8).
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../protocol/util/bytes.ts';
import { create } from './commands/create.ts';
import { createPrimary } from './commands/create-primary.ts';
import { evictControl } from './commands/evict-control.ts';
import { flushContext } from './commands/flush-context.ts';
import { load } from './commands/load.ts';
import { sign } from './commands/sign.ts';
import { TPM_ALG, TPM_RH_OWNER } from './constants.ts';
import { TpmLayerError } from './errors.ts';
import { tryReadPublic } from './handles.ts';
import { pointToSec1, type EccPublic } from './marshal.ts';
import { XTPM_SRK_HANDLE } from './nv-layout.ts';
import { TEMPLATE_T1_STORAGE, TEMPLATE_T3_LONGTERM } from './templates.ts';
import type { LongtermSigner } from '../protocol/xtt/signers.ts';
import type { Tpm } from './tpm.ts';

/** Creates and persists the owner SRK at `handle` unless an object is already there. */
export async function ensureSrk(tpm: Tpm, handle = XTPM_SRK_HANDLE): Promise<{ created: boolean }> {
  if (await tryReadPublic(tpm, handle)) return { created: false };
  const primary = await tpm.run(createPrimary(TPM_RH_OWNER, TEMPLATE_T1_STORAGE));
  try {
    await tpm.run(evictControl(TPM_RH_OWNER, primary.handle, handle));
  } finally {
    await tpm.run(flushContext(primary.handle));
  }
  return { created: true };
}

/** The wrapped key as stored by the agent: parent handle, TPM2B_PRIVATE contents, public area. */
export interface LongtermKeyBlob {
  readonly parent: number;
  readonly private: Uint8Array;
  readonly public: EccPublic;
}

/** r or s of an ECDSA signature left-padded to 32 bytes. */
export function pad32(b: Uint8Array, what: string): Uint8Array {
  if (b.length > 32) throw new TpmLayerError('TPM_SIGNATURE', `${what} is ${b.length} bytes, more than 32`);
  const out = new Uint8Array(32);
  out.set(b, 32 - b.length);
  return out;
}

/** Satisfies protocol/xtt's long-term signer: raw r||s over SHA-256(message). */
export class TpmLongtermKey implements LongtermSigner {
  readonly publicKey: Uint8Array;

  private constructor(
    private readonly tpm: Tpm,
    readonly blob: LongtermKeyBlob,
  ) {
    this.publicKey = pointToSec1(blob.public.unique);
  }

  /** Ensures the SRK, then creates a new key under it (the reference makes one per handshake). */
  static async create(tpm: Tpm, parent = XTPM_SRK_HANDLE): Promise<TpmLongtermKey> {
    await ensureSrk(tpm, parent);
    const key = await tpm.run(create(parent, TEMPLATE_T3_LONGTERM));
    return new TpmLongtermKey(tpm, { parent, private: key.outPrivate, public: key.outPublic });
  }

  /** A key created earlier (its blob kept by the caller). */
  static fromBlob(tpm: Tpm, blob: LongtermKeyBlob): TpmLongtermKey {
    return new TpmLongtermKey(tpm, blob);
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const digest = sha256(message);
    const loaded = await this.tpm.run(load(this.blob.parent, this.blob.private, this.blob.public));
    try {
      const sig = await this.tpm.run(
        sign(loaded.handle, digest, { scheme: TPM_ALG.TPM_ALG_ECDSA, hashAlg: TPM_ALG.TPM_ALG_SHA256 }),
      );
      return concatBytes(pad32(sig.r, 'signatureR'), pad32(sig.s, 'signatureS'));
    } finally {
      await this.tpm.run(flushContext(loaded.handle));
    }
  }
}
