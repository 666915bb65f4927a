// TPM2_Sign (TCG TPM 2.0 Library Part 3, 20.2) with an ECC key: ECDSA (the XTT long-term key) or
// ECDAA with count = the preceding TPM2_Commit's counter. The validation ticket is the NULL ticket
// (TPM_ST_HASHCHECK, TPM_RH_NULL, empty digest) because neither key is restricted.
import { TPM_RH_NULL, TPM_ST_HASHCHECK } from '../constants.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { encodeHashcheckTicket, encodeSigScheme, readSignature, TpmWriter } from '../marshal.ts';
import type { EccSignature, SigScheme } from '../marshal.ts';

export function sign(keyHandle: number, digest: Uint8Array, inScheme: SigScheme): TpmCommand<EccSignature> {
  const params = new TpmWriter()
    .tpm2b(digest)
    .bytes(encodeSigScheme(inScheme))
    .bytes(encodeHashcheckTicket(TPM_ST_HASHCHECK, TPM_RH_NULL, new Uint8Array(0)))
    .finish();
  return buildCommand('TPM_CC_Sign', {
    handles: [keyHandle],
    authCount: 1,
    params,
    responseHandles: 0,
    parseParams: (r) => readSignature(r),
  });
}
