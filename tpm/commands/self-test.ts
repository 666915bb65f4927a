// TPM2_SelfTest (TCG TPM 2.0 Library Part 3, 10.2): fullTest = YES tests every function, as the
// reference's provisioning does first (trace 01, exchange 1).
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function selfTest(fullTest = true): TpmCommand<void> {
  return buildCommand('TPM_CC_SelfTest', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u8(fullTest ? 1 : 0).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
