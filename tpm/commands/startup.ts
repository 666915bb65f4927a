// TPM2_Startup (TCG TPM 2.0 Library Part 3, 9.3). Needed on /dev/tpm0 without firmware startup and
// on a swtpm started without `startup-clear`; the kernel and swtpm's flags normally do it.
import { TPM_SU_CLEAR } from '../constants.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function startup(startupType: number = TPM_SU_CLEAR): TpmCommand<void> {
  return buildCommand('TPM_CC_Startup', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u16(startupType).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
