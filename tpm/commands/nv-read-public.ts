// TPM2_NV_ReadPublic (TCG TPM 2.0 Library Part 3, 31.6): the index's public area (dataSize,
// attributes incl. TPMA_NV_WRITTEN) and name; no authorization.
import { DecodeError } from '../../protocol/errors.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { readNvPublic, readTpm2b, type NvPublic } from '../marshal.ts';

export interface NvReadPublicResult {
  readonly nvPublic: NvPublic;
  readonly nvName: Uint8Array;
}

export function nvReadPublic(nvIndex: number): TpmCommand<NvReadPublicResult> {
  return buildCommand('TPM_CC_NV_ReadPublic', {
    handles: [nvIndex],
    authCount: 0,
    params: new Uint8Array(0),
    responseHandles: 0,
    parseParams: (r) => {
      const nvPublic = readNvPublic(r);
      if (nvPublic.nvIndex !== nvIndex) {
        throw new DecodeError(
          'TPM2B_NV_PUBLIC.nvIndex',
          2,
          `asked 0x${nvIndex.toString(16)}, got 0x${nvPublic.nvIndex.toString(16)}`,
        );
      }
      return { nvPublic, nvName: readTpm2b(r, 'nvName', 68) };
    },
  });
}
