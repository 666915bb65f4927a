// TPM2_Load (TCG TPM 2.0 Library Part 3, 12.2): loads a Create output under its parent and returns
// a transient handle (0x80xxxxxx) that must be flushed after use (no resource manager on swtpm).
import { buildCommand, type TpmCommand } from '../command.ts';
import { encodePublic, readTpm2b, TpmWriter, type EccPublic } from '../marshal.ts';

export interface LoadResult {
  readonly handle: number;
  readonly name: Uint8Array;
}

export function load(
  parentHandle: number,
  inPrivate: Uint8Array,
  inPublic: EccPublic,
): TpmCommand<LoadResult> {
  return buildCommand('TPM_CC_Load', {
    handles: [parentHandle],
    authCount: 1,
    params: new TpmWriter().tpm2b(inPrivate).bytes(encodePublic(inPublic)).finish(),
    responseHandles: 1,
    parseParams: (r, handles) => ({ handle: handles[0]!, name: readTpm2b(r, 'name', 68) }),
  });
}
