// TPM2_FlushContext (TCG TPM 2.0 Library Part 3, 28.4). The handle is a parameter, not a handle
// field: no authorization.
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function flushContext(flushHandle: number): TpmCommand<void> {
  return buildCommand('TPM_CC_FlushContext', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u32(flushHandle).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
