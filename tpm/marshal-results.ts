// Marshal/unmarshal of the structures TPMs return alongside results (TCG TPM 2.0 Library Part 2:
// TPML_PCR_SELECTION 10.9.7, TPMS_CREATION_DATA 15.1, TPMS_CAPABILITY_DATA 10.10.2), with the same
// strictness as marshal.ts: counts bounded, sized structures filled exactly, unknown tags rejected.
import { DecodeError } from '../protocol/errors.ts';
import type { ByteReader } from '../protocol/util/bytes.ts';
import {
  TPM_CAP_ALGS,
  TPM_CAP_COMMANDS,
  TPM_CAP_ECC_CURVES,
  TPM_CAP_HANDLES,
  TPM_CAP_TPM_PROPERTIES,
} from './constants.ts';
import {
  encodePublic,
  encodeSensitiveCreate,
  readSized,
  readTpm2b,
  TpmWriter,
  type EccPublic,
} from './marshal.ts';

// ---- PCR selection and creation data -------------------------------------------------------------

export interface PcrSelection {
  readonly hash: number;
  readonly select: Uint8Array;
}

export function encodePcrSelection(list: readonly PcrSelection[]): Uint8Array {
  const w = new TpmWriter().u32(list.length);
  for (const s of list) w.u16(s.hash).u8(s.select.length).bytes(s.select);
  return w.finish();
}

/**
 * The parameter block TPM2_Create and TPM2_CreatePrimary share (Part 3, 12.1 and 24.1): empty
 * inSensitive (no auth value, no data), inPublic, empty outsideInfo, no creationPCR.
 */
export function encodeCreateParams(inPublic: EccPublic): Uint8Array {
  return new TpmWriter()
    .bytes(encodeSensitiveCreate(new Uint8Array(0), new Uint8Array(0)))
    .bytes(encodePublic(inPublic))
    .tpm2b(new Uint8Array(0)) // outsideInfo
    .bytes(encodePcrSelection([]))
    .finish();
}

export function readPcrSelection(r: ByteReader): PcrSelection[] {
  const at = r.offset;
  const count = r.u32('pcrSelect.count');
  if (count > 16) throw new DecodeError('pcrSelect.count', at, `count ${count} exceeds 16`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.u16('pcrSelect.hash');
    out.push({ hash, select: r.bytes(r.u8('pcrSelect.sizeofSelect'), 'pcrSelect.pcrSelect') });
  }
  return out;
}

export interface CreationData {
  readonly pcrSelect: PcrSelection[];
  readonly pcrDigest: Uint8Array;
  readonly locality: number;
  readonly parentNameAlg: number;
  readonly parentName: Uint8Array;
  readonly parentQualifiedName: Uint8Array;
  readonly outsideInfo: Uint8Array;
}

export function readCreationData(r: ByteReader): CreationData {
  return readSized(r, 'TPM2B_CREATION_DATA', (ir) => ({
    pcrSelect: readPcrSelection(ir),
    pcrDigest: readTpm2b(ir, 'pcrDigest', 64),
    locality: ir.u8('locality'),
    parentNameAlg: ir.u16('parentNameAlg'),
    parentName: readTpm2b(ir, 'parentName', 68),
    parentQualifiedName: readTpm2b(ir, 'parentQualifiedName', 68),
    outsideInfo: readTpm2b(ir, 'outsideInfo', 64),
  }));
}

// ---- capability data -----------------------------------------------------------------------------

export type CapabilityData =
  | { readonly capability: typeof TPM_CAP_ALGS; readonly algs: { alg: number; attributes: number }[] }
  | { readonly capability: typeof TPM_CAP_HANDLES; readonly handles: number[] }
  | { readonly capability: typeof TPM_CAP_COMMANDS; readonly commands: number[] }
  | {
      readonly capability: typeof TPM_CAP_TPM_PROPERTIES;
      readonly properties: { property: number; value: number }[];
    }
  | { readonly capability: typeof TPM_CAP_ECC_CURVES; readonly curves: number[] };

function readCount(r: ByteReader, field: string, max: number): number {
  const at = r.offset;
  const n = r.u32(field);
  if (n > max) throw new DecodeError(field, at, `count ${n} exceeds ${max}`);
  return n;
}

/** TPMS_CAPABILITY_DATA for the capabilities this project asks for. */
export function readCapabilityData(r: ByteReader): CapabilityData {
  const at = r.offset;
  const capability = r.u32('capability');
  const list = <T>(field: string, size: number, one: () => T): T[] => {
    const n = readCount(r, `${field}.count`, Math.floor(4096 / size));
    return Array.from({ length: n }, one);
  };
  switch (capability) {
    case TPM_CAP_ALGS:
      return {
        capability,
        algs: list('algs', 6, () => ({ alg: r.u16('alg'), attributes: r.u32('algAttributes') })),
      };
    case TPM_CAP_HANDLES:
      return { capability, handles: list('handles', 4, () => r.u32('handle')) };
    case TPM_CAP_COMMANDS:
      return { capability, commands: list('commands', 4, () => r.u32('commandAttributes')) };
    case TPM_CAP_TPM_PROPERTIES:
      return {
        capability,
        properties: list('properties', 8, () => ({ property: r.u32('property'), value: r.u32('value') })),
      };
    case TPM_CAP_ECC_CURVES:
      return { capability, curves: list('curves', 2, () => r.u16('curve')) };
    default:
      throw new DecodeError(
        'TPMS_CAPABILITY_DATA.capability',
        at,
        `unsupported capability 0x${capability.toString(16)}`,
      );
  }
}
