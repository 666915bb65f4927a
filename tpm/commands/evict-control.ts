// TPM2_EvictControl (TCG TPM 2.0 Library Part 3, 28.5): makes a loaded object persistent at
// persistentHandle, or removes a persistent object when objectHandle == persistentHandle.
// 0x818xxxxx needs TPM_RH_PLATFORM, 0x810xxxxx TPM_RH_OWNER.
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';

export function evictControl(auth: number, objectHandle: number, persistentHandle: number): TpmCommand<void> {
  return buildCommand('TPM_CC_EvictControl', {
    handles: [auth, objectHandle],
    authCount: 1,
    params: new TpmWriter().u32(persistentHandle).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
