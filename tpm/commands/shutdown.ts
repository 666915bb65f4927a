// TPM2_Shutdown (TCG TPM 2.0 Library Part 3, 9.4). An orderly shutdown before power-off avoids the
// disorderly-shutdown count that trips the dictionary-attack lockout on a restarted TPM.
import { TPM_SU_CLEAR } from '../constants.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function shutdown(shutdownType: number = TPM_SU_CLEAR): TpmCommand<void> {
  return buildCommand('TPM_CC_Shutdown', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u16(shutdownType).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
