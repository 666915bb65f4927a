// TPM2_StartAuthSession (TCG TPM 2.0 Library Part 3, 11.1), unsalted and unbound (tpmKey and bind
// TPM_RH_NULL). This project authorizes with password sessions; the command exists so the
// tpm2-tools housekeeping in the reference traces (HMAC session per tool) can be reproduced and
// parsed, and for callers that want an HMAC session.
import { buildCommand, type TpmCommand } from '../command.ts';
import { readTpm2b, TpmWriter, type SymDef } from '../marshal.ts';
import { TPM_ALG, TPM_RH_NULL } from '../constants.ts';

export const TPM_SE_HMAC = 0x00;
export const TPM_SE_POLICY = 0x01;

export interface StartAuthSessionResult {
  readonly sessionHandle: number;
  readonly nonceTPM: Uint8Array;
}

export function startAuthSession(
  nonceCaller: Uint8Array,
  sessionType: number,
  authHash: number,
  symmetric: SymDef = { algorithm: TPM_ALG.TPM_ALG_NULL },
): TpmCommand<StartAuthSessionResult> {
  const w = new TpmWriter()
    .tpm2b(nonceCaller)
    .tpm2b(new Uint8Array(0))
    .u8(sessionType)
    .u16(symmetric.algorithm);
  if (symmetric.algorithm !== TPM_ALG.TPM_ALG_NULL) w.u16(symmetric.keyBits ?? 0).u16(symmetric.mode ?? 0);
  return buildCommand('TPM_CC_StartAuthSession', {
    handles: [TPM_RH_NULL, TPM_RH_NULL],
    authCount: 0,
    params: w.u16(authHash).finish(),
    responseHandles: 1,
    parseParams: (r, handles) => ({ sessionHandle: handles[0]!, nonceTPM: readTpm2b(r, 'nonceTPM', 64) }),
  });
}
