// TPM2_NV_Read (TCG TPM 2.0 Library Part 3, 31.13). The reference client reads with
// authHandle = nvIndex (TPMA_NV_AUTHREAD, empty index auth) and the whole object at once.
import { DecodeError } from '../../protocol/errors.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { readTpm2b, TpmWriter } from '../marshal.ts';

export function nvRead(
  authHandle: number,
  nvIndex: number,
  size: number,
  offset: number,
): TpmCommand<Uint8Array> {
  return buildCommand('TPM_CC_NV_Read', {
    handles: [authHandle, nvIndex],
    authCount: 1,
    params: new TpmWriter().u16(size).u16(offset).finish(),
    responseHandles: 0,
    parseParams: (r) => {
      const at = r.offset;
      const data = readTpm2b(r, 'data');
      if (data.length !== size)
        throw new DecodeError('TPM_CC_NV_Read.data', at, `asked ${size} bytes, got ${data.length}`);
      return data;
    },
  });
}
