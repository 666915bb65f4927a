// TPM2_ReadPublic (TCG TPM 2.0 Library Part 3, 12.4): public area and names of a loaded or
// persistent object; TPM_RC_HANDLE (handle 1) means nothing is there.
import { buildCommand, type TpmCommand } from '../command.ts';
import { readPublic as readPublicStruct, readTpm2b, type EccPublic } from '../marshal.ts';

export interface ReadPublicResult {
  readonly outPublic: EccPublic;
  readonly name: Uint8Array;
  readonly qualifiedName: Uint8Array;
}

export function readPublic(objectHandle: number): TpmCommand<ReadPublicResult> {
  return buildCommand('TPM_CC_ReadPublic', {
    handles: [objectHandle],
    authCount: 0,
    params: new Uint8Array(0),
    responseHandles: 0,
    parseParams: (r) => ({
      outPublic: readPublicStruct(r, 'outPublic'),
      name: readTpm2b(r, 'name', 68),
      qualifiedName: readTpm2b(r, 'qualifiedName', 68),
    }),
  });
}
