// TPM2_NV_UndefineSpace (TCG TPM 2.0 Library Part 3, 31.4).
import { buildCommand, type TpmCommand } from '../command.ts';

export function nvUndefineSpace(authHandle: number, nvIndex: number): TpmCommand<void> {
  return buildCommand('TPM_CC_NV_UndefineSpace', {
    handles: [authHandle, nvIndex],
    authCount: 1,
    params: new Uint8Array(0),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
