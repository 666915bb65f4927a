// TPM2_GetRandom (TCG TPM 2.0 Library Part 3, 16.1). The TPM may return fewer bytes than asked
// (at most the largest digest size); the caller loops.
import { DecodeError } from '../../protocol/errors.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { readTpm2b, TpmWriter } from '../marshal.ts';

export function getRandom(bytesRequested: number): TpmCommand<Uint8Array> {
  return buildCommand('TPM_CC_GetRandom', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u16(bytesRequested).finish(),
    responseHandles: 0,
    parseParams: (r) => {
      const at = r.offset;
      const bytes = readTpm2b(r, 'randomBytes', 64);
      if (bytes.length > bytesRequested)
        throw new DecodeError('randomBytes', at, `more bytes than requested`);
      return bytes;
    },
  });
}
