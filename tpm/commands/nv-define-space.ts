// TPM2_NV_DefineSpace (TCG TPM 2.0 Library Part 3, 31.3): defines an NV index under the owner or
// platform hierarchy with an index authValue (empty for the reference layout).
import { buildCommand, type TpmCommand } from '../command.ts';
import { encodeNvPublic, TpmWriter, type NvPublic } from '../marshal.ts';

export function nvDefineSpace(authHandle: number, auth: Uint8Array, publicInfo: NvPublic): TpmCommand<void> {
  return buildCommand('TPM_CC_NV_DefineSpace', {
    handles: [authHandle],
    authCount: 1,
    params: new TpmWriter().tpm2b(auth).bytes(encodeNvPublic(publicInfo)).finish(),
    responseHandles: 0,
    parseParams: () => undefined,
  });
}
