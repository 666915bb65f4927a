// TPM2_Create (TCG TPM 2.0 Library Part 3, 12.1): an ordinary key under a loaded parent. Returns the
// parent-wrapped private blob and the public area; TPM2_Load makes it usable.
import { buildCommand, type TpmCommand } from '../command.ts';
import {
  readCreationTicket,
  readPublic,
  readTpm2b,
  type CreationTicket,
  type EccPublic,
} from '../marshal.ts';
import { encodeCreateParams, readCreationData, type CreationData } from '../marshal-results.ts';

export interface CreateResult {
  /** TPM2B_PRIVATE contents (without the size prefix). */
  readonly outPrivate: Uint8Array;
  readonly outPublic: EccPublic;
  readonly creationData: CreationData;
  readonly creationHash: Uint8Array;
  readonly creationTicket: CreationTicket;
}

export function create(parentHandle: number, inPublic: EccPublic): TpmCommand<CreateResult> {
  const params = encodeCreateParams(inPublic);
  return buildCommand('TPM_CC_Create', {
    handles: [parentHandle],
    authCount: 1,
    params,
    responseHandles: 0,
    parseParams: (r) => ({
      outPrivate: readTpm2b(r, 'outPrivate'),
      outPublic: readPublic(r, 'outPublic'),
      creationData: readCreationData(r),
      creationHash: readTpm2b(r, 'creationHash', 64),
      creationTicket: readCreationTicket(r),
    }),
  });
}
