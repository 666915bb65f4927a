// Small handle helpers shared by the key and NV modules: existence checks that turn the TPM's
// TPM_RC_HANDLE answer into `false`, removal of persistent objects, and flushing of leftovers.
import { evictControl } from './commands/evict-control.ts';
import { flushContext } from './commands/flush-context.ts';
import { getCapability } from './commands/get-capability.ts';
import { nvReadPublic, type NvReadPublicResult } from './commands/nv-read-public.ts';
import { readPublic, type ReadPublicResult } from './commands/read-public.ts';
import { TPM_CAP_HANDLES, TPM_RH_OWNER, TPM_RH_PLATFORM } from './constants.ts';
import { TPM_RC_HANDLE, TpmError } from './errors.ts';
import type { Tpm } from './tpm.ts';

function isMissingHandle(e: unknown): boolean {
  return e instanceof TpmError && e.baseCode === TPM_RC_HANDLE;
}

/** ReadPublic of a persistent or loaded object, or undefined when the handle holds nothing. */
export async function tryReadPublic(tpm: Tpm, handle: number): Promise<ReadPublicResult | undefined> {
  try {
    return await tpm.run(readPublic(handle));
  } catch (e) {
    if (isMissingHandle(e)) return undefined;
    throw e;
  }
}

/** NV_ReadPublic of an index, or undefined when it is not defined. */
export async function tryNvReadPublic(tpm: Tpm, nvIndex: number): Promise<NvReadPublicResult | undefined> {
  try {
    return await tpm.run(nvReadPublic(nvIndex));
  } catch (e) {
    if (isMissingHandle(e)) return undefined;
    throw e;
  }
}

/** The hierarchy that owns a persistent handle: 0x818xxxxx platform, other 0x81xxxxxx owner. */
export function persistentHierarchy(handle: number): number {
  return (handle & 0xff800000) >>> 0 === 0x81800000 ? TPM_RH_PLATFORM : TPM_RH_OWNER;
}

/** Removes a persistent object; returns false when nothing was there. */
export async function evictPersistent(tpm: Tpm, handle: number): Promise<boolean> {
  if (!(await tryReadPublic(tpm, handle))) return false;
  await tpm.run(evictControl(persistentHierarchy(handle), handle, handle));
  return true;
}

/**
 * Flushes every loaded transient object (0x80xxxxxx) and loaded session (0x02xxxxxx). Needed on a
 * TPM reached without a resource manager (swtpm's socket, /dev/tpm0) after a client died between
 * Load and FlushContext: the TPM has only a few slots (3 on swtpm). Returns the flushed handles.
 */
export async function flushTransients(tpm: Tpm): Promise<number[]> {
  const flushed: number[] = [];
  for (const first of [0x80000000, 0x02000000]) {
    const res = await tpm.run(getCapability(TPM_CAP_HANDLES, first, 64));
    if (res.data.capability !== TPM_CAP_HANDLES) continue;
    for (const h of res.data.handles) {
      if (h >>> 24 !== first >>> 24) continue;
      await tpm.run(flushContext(h));
      flushed.push(h);
    }
  }
  return flushed;
}
