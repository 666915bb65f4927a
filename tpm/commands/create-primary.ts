// TPM2_CreatePrimary (TCG TPM 2.0 Library Part 3, 24.1): a primary key under a hierarchy
// (TPM_RH_PLATFORM for the factory's storage parent, TPM_RH_OWNER for the SRK).
import { buildCommand, type TpmCommand } from '../command.ts';
import {
  readCreationTicket,
  readPublic,
  readTpm2b,
  type CreationTicket,
  type EccPublic,
} from '../marshal.ts';
import { encodeCreateParams, readCreationData, type CreationData } from '../marshal-results.ts';

export interface CreatePrimaryResult {
  readonly handle: number;
  readonly outPublic: EccPublic;
  readonly creationData: CreationData;
  readonly creationHash: Uint8Array;
  readonly creationTicket: CreationTicket;
  readonly name: Uint8Array;
}

export function createPrimary(primaryHandle: number, inPublic: EccPublic): TpmCommand<CreatePrimaryResult> {
  const params = encodeCreateParams(inPublic);
  return buildCommand('TPM_CC_CreatePrimary', {
    handles: [primaryHandle],
    authCount: 1,
    params,
    responseHandles: 1,
    parseParams: (r, handles) => ({
      handle: handles[0]!,
      outPublic: readPublic(r, 'outPublic'),
      creationData: readCreationData(r),
      creationHash: readTpm2b(r, 'creationHash', 64),
      creationTicket: readCreationTicket(r),
      name: readTpm2b(r, 'name', 68),
    }),
  });
}
