// TPM2_DictionaryAttackLockReset (TCG TPM 2.0 Library Part 3, 25.2), authorized by TPM_RH_LOCKOUT:
// clears the failed-authorization counter and leaves lockout.
import { TPM_RH_LOCKOUT } from '../constants.ts';
import { buildCommand, type TpmCommand } from '../command.ts';

export function dictionaryAttackLockReset(): TpmCommand<void> {
  return buildCommand('TPM_CC_DictionaryAttackLockReset', {
    handles: [TPM_RH_LOCKOUT],
    authCount: 1,
    params: new Uint8Array(0),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
