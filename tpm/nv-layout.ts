// The reference NV layout (xaptum-tpm 1.0, include/xaptum-tpm/nvram.h; traces README "NV index
// definition"): indices under the owner hierarchy, attributes 0x00060006 (OWNERWRITE | AUTHWRITE |
// OWNERREAD | AUTHREAD, ordinary index, no NO_DA), nameAlg SHA-256, empty index auth and policy.
// Writes go through TPM_RH_OWNER like tpm2_nvwrite; reads use authHandle = the index itself and
// read the whole object in one NV_Read, like the reference client (xtpm_read_object). Objects
// larger than TPM_PT_NV_BUFFER_MAX (1024 on swtpm; every object here is at most 260 bytes) are
// split into several commands instead of failing.
import { concatBytes } from '../protocol/util/bytes.ts';
import { nvDefineSpace } from './commands/nv-define-space.ts';
import { nvRead } from './commands/nv-read.ts';
import { nvUndefineSpace } from './commands/nv-undefine-space.ts';
import { nvWrite } from './commands/nv-write.ts';
import { TPM_ALG, TPM_RH_OWNER, TPMA_NV } from './constants.ts';
import { TpmLayerError } from './errors.ts';
import { tryNvReadPublic } from './handles.ts';
import type { NvPublic } from './marshal.ts';
import type { Tpm } from './tpm.ts';

export const XTPM_ECDAA_KEY_HANDLE = 0x81800000;
export const XTPM_SRK_HANDLE = 0x81000001;

export const NV_INDEX = {
  gpk: 0x01410000,
  credential: 0x01410001,
  credentialSignature: 0x01410002,
  rootAsn1Cert: 0x01410005,
  basename: 0x01410007,
  serverId: 0x01410008,
  rootXttCert: 0x01410009,
} as const;
export type NvObjectName = keyof typeof NV_INDEX;

/** 0x00060006 as sent by the reference provisioning. */
export const NV_ATTRIBUTES =
  TPMA_NV.TPMA_NV_OWNERWRITE |
  TPMA_NV.TPMA_NV_AUTHWRITE |
  TPMA_NV.TPMA_NV_OWNERREAD |
  TPMA_NV.TPMA_NV_AUTHREAD;

/** Chunk size for NV_Read/NV_Write when an object exceeds one command (TPM_PT_NV_BUFFER_MAX). */
export const NV_CHUNK = 1024;

export class NvLayoutError extends TpmLayerError {
  constructor(message: string) {
    super('TPM_NV_LAYOUT', message);
  }
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

export function nvPublicFor(nvIndex: number, dataSize: number): NvPublic {
  return {
    nvIndex,
    nameAlg: TPM_ALG.TPM_ALG_SHA256,
    attributes: NV_ATTRIBUTES,
    authPolicy: new Uint8Array(0),
    dataSize,
  };
}

/** NV_DefineSpace under the owner with the reference's attributes and an empty index auth. */
export async function defineNvObject(tpm: Tpm, nvIndex: number, dataSize: number): Promise<void> {
  await tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), nvPublicFor(nvIndex, dataSize)));
}

export async function writeNvObject(tpm: Tpm, nvIndex: number, data: Uint8Array): Promise<void> {
  if (data.length === 0) throw new NvLayoutError(`refusing to write an empty object to ${hex(nvIndex)}`);
  for (let off = 0; off < data.length; off += NV_CHUNK) {
    await tpm.run(nvWrite(TPM_RH_OWNER, nvIndex, data.subarray(off, off + NV_CHUNK), off));
  }
}

/**
 * Defines (if absent) and writes an object. An index already defined with another size or other
 * attributes is an error unless `replace` is set, in which case it is undefined and redefined.
 */
export async function storeNvObject(
  tpm: Tpm,
  nvIndex: number,
  data: Uint8Array,
  opts: { replace?: boolean } = {},
): Promise<void> {
  const existing = await tryNvReadPublic(tpm, nvIndex);
  if (existing) {
    const p = existing.nvPublic;
    const sameShape =
      p.dataSize === data.length && (p.attributes & ~TPMA_NV.TPMA_NV_WRITTEN) === NV_ATTRIBUTES;
    if (!sameShape) {
      if (!opts.replace) {
        throw new NvLayoutError(
          `NV index ${hex(nvIndex)} exists with size ${p.dataSize} and attributes ${hex(p.attributes)}; ` +
            `wanted size ${data.length} and ${hex(NV_ATTRIBUTES)}`,
        );
      }
      await tpm.run(nvUndefineSpace(TPM_RH_OWNER, nvIndex));
      await defineNvObject(tpm, nvIndex, data.length);
    }
  } else {
    await defineNvObject(tpm, nvIndex, data.length);
  }
  await writeNvObject(tpm, nvIndex, data);
}

/** NV_ReadPublic for the size, then the whole object (index authorization, empty password). */
export async function readNvObject(tpm: Tpm, nvIndex: number): Promise<Uint8Array> {
  const pub = await tryNvReadPublic(tpm, nvIndex);
  if (!pub) throw new NvLayoutError(`NV index ${hex(nvIndex)} is not defined`);
  const size = pub.nvPublic.dataSize;
  if (!(pub.nvPublic.attributes & TPMA_NV.TPMA_NV_WRITTEN)) {
    throw new NvLayoutError(`NV index ${hex(nvIndex)} is defined but was never written`);
  }
  const parts: Uint8Array[] = [];
  for (let off = 0; off < size; off += NV_CHUNK) {
    parts.push(await tpm.run(nvRead(nvIndex, nvIndex, Math.min(NV_CHUNK, size - off), off)));
  }
  return concatBytes(...parts);
}

/** Undefines an index; false when it was not defined. */
export async function removeNvObject(tpm: Tpm, nvIndex: number): Promise<boolean> {
  if (!(await tryNvReadPublic(tpm, nvIndex))) return false;
  await tpm.run(nvUndefineSpace(TPM_RH_OWNER, nvIndex));
  return true;
}

export interface DeviceObjects {
  readonly basename: Uint8Array;
  readonly gpk: Uint8Array;
  readonly credential: Uint8Array;
  readonly rootXttCert: Uint8Array;
}

/** What the reference client reads before a handshake, in its order: basename, gpk, credential, root cert. */
export async function readDeviceObjects(tpm: Tpm): Promise<DeviceObjects> {
  const basename = await readNvObject(tpm, NV_INDEX.basename);
  const gpk = await readNvObject(tpm, NV_INDEX.gpk);
  const credential = await readNvObject(tpm, NV_INDEX.credential);
  const rootXttCert = await readNvObject(tpm, NV_INDEX.rootXttCert);
  return { basename, gpk, credential, rootXttCert };
}
