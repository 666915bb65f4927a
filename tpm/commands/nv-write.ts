// TPM2_NV_Write (TCG TPM 2.0 Library Part 3, 31.7). data is at most TPM_PT_NV_BUFFER_MAX bytes.
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function nvWrite(
  authHandle: number,
  nvIndex: number,
  data: Uint8Array,
  offset: number,
): TpmCommand<void> {
  return buildCommand('TPM_CC_NV_Write', {
    handles: [authHandle, nvIndex],
    authCount: 1,
    params: new TpmWriter().tpm2b(data).u16(offset).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
