// TPM2_DictionaryAttackParameters (TCG TPM 2.0 Library Part 3, 25.3), authorized by TPM_RH_LOCKOUT.
// The reference's test provisioning sets maxTries 32, recoveryTime 0, lockoutRecovery 0 (trace 01,
// exchange 14); that is a test-TPM setting, not part of XTT.
import { TPM_RH_LOCKOUT } from '../constants.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function dictionaryAttackParameters(
  newMaxTries: number,
  newRecoveryTime: number,
  lockoutRecovery: number,
): TpmCommand<void> {
  return buildCommand('TPM_CC_DictionaryAttackParameters', {
    handles: [TPM_RH_LOCKOUT],
    authCount: 1,
    params: new TpmWriter().u32(newMaxTries).u32(newRecoveryTime).u32(lockoutRecovery).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
