// TPM2_DictionaryAttackParameters and TPM2_DictionaryAttackLockReset (TCG TPM 2.0 Library Part 3,
// 25.3 and 25.2), both authorized by TPM_RH_LOCKOUT. The reference's test provisioning sets
// maxTries 32, recoveryTime 0, lockoutRecovery 0 (trace 01, exchange 14).
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

export function dictionaryAttackLockReset(): TpmCommand<void> {
  return buildCommand('TPM_CC_DictionaryAttackLockReset', {
    handles: [TPM_RH_LOCKOUT],
    authCount: 1,
    params: new Uint8Array(0),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
