// TPM2_GetCapability (TCG TPM 2.0 Library Part 3, 30.2): returns moreData and TPMS_CAPABILITY_DATA.
import { DecodeError } from '../../protocol/errors.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { TpmWriter } from '../marshal.ts';
import { readCapabilityData, type CapabilityData } from '../marshal-results.ts';

export interface GetCapabilityResult {
  readonly moreData: boolean;
  readonly data: CapabilityData;
}

export function getCapability(
  capability: number,
  property: number,
  propertyCount: number,
): TpmCommand<GetCapabilityResult> {
  return buildCommand('TPM_CC_GetCapability', {
    handles: [],
    authCount: 0,
    params: new TpmWriter().u32(capability).u32(property).u32(propertyCount).finish(),
    responseHandles: 0,
    parseParams: (r) => {
      const at = r.offset;
      const more = r.u8('moreData');
      if (more > 1) throw new DecodeError('moreData', at, `TPMI_YES_NO ${more}`);
      const data = readCapabilityData(r);
      if (data.capability !== capability) {
        throw new DecodeError(
          'capability',
          at + 1,
          `asked 0x${capability.toString(16)}, got 0x${data.capability.toString(16)}`,
        );
      }
      return { moreData: more === 1, data };
    },
  });
}
