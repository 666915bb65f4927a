// The device's ECDAA key, made the way the reference factory makes it (traces README, "Operation
// sequence 1", steps 2-6): CreatePrimary(TPM_RH_PLATFORM, T1) -> Create(T2: ECDAA on BN_P256) ->
// Load -> EvictControl(TPM_RH_PLATFORM, -> 0x81800000) -> FlushContext of the key and the primary.
// The primary is never persisted. The private key never leaves the TPM (fixedTPM | fixedParent).
import { create } from './commands/create.ts';
import { createPrimary } from './commands/create-primary.ts';
import { evictControl } from './commands/evict-control.ts';
import { flushContext } from './commands/flush-context.ts';
import { load } from './commands/load.ts';
import { readPublic } from './commands/read-public.ts';
import { TPM_ECC, TPM_RH_PLATFORM } from './constants.ts';
import { TpmLayerError } from './errors.ts';
import { evictPersistent, tryReadPublic } from './handles.ts';
import { pointToSec1, type EccPublic } from './marshal.ts';
import { XTPM_ECDAA_KEY_HANDLE } from './nv-layout.ts';
import { TEMPLATE_T1_STORAGE, TEMPLATE_T2_ECDAA } from './templates.ts';
import type { Tpm } from './tpm.ts';

export interface EcdaaKeyInfo {
  readonly handle: number;
  /** Member public key Q = d*G on FP256BN as 04||x||y (65 bytes), what protocol/ecdaa calls memberPublicKey. */
  readonly publicKey: Uint8Array;
  readonly outPublic: EccPublic;
}

function toInfo(handle: number, outPublic: EccPublic): EcdaaKeyInfo {
  if (outPublic.curveID !== TPM_ECC.TPM_ECC_BN_P256) {
    throw new TpmLayerError('TPM_KEY', `object at 0x${handle.toString(16)} is not a BN_P256 key`);
  }
  return { handle, publicKey: pointToSec1(outPublic.unique), outPublic };
}

/**
 * Creates the ECDAA key and persists it at `handle` (default 0x81800000). An existing object there is
 * an error unless `replace` is set.
 */
export async function createEcdaaKey(
  tpm: Tpm,
  opts: { handle?: number; replace?: boolean } = {},
): Promise<EcdaaKeyInfo> {
  const handle = opts.handle ?? XTPM_ECDAA_KEY_HANDLE;
  if (await tryReadPublic(tpm, handle)) {
    if (!opts.replace)
      throw new TpmLayerError('TPM_KEY', `persistent handle 0x${handle.toString(16)} is already in use`);
    await evictPersistent(tpm, handle);
  }
  const primary = await tpm.run(createPrimary(TPM_RH_PLATFORM, TEMPLATE_T1_STORAGE));
  try {
    const key = await tpm.run(create(primary.handle, TEMPLATE_T2_ECDAA));
    const loaded = await tpm.run(load(primary.handle, key.outPrivate, key.outPublic));
    try {
      await tpm.run(evictControl(TPM_RH_PLATFORM, loaded.handle, handle));
    } finally {
      await tpm.run(flushContext(loaded.handle));
    }
    return toInfo(handle, key.outPublic);
  } finally {
    await tpm.run(flushContext(primary.handle));
  }
}

/** The persisted ECDAA key's public part. */
export async function readEcdaaKey(tpm: Tpm, handle = XTPM_ECDAA_KEY_HANDLE): Promise<EcdaaKeyInfo> {
  return toInfo(handle, (await tpm.run(readPublic(handle))).outPublic);
}
