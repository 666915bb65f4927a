// Marshal/unmarshal of the TPM 2.0 structures this project uses (TCG TPM 2.0 Library Part 2:
// TPM2B 10.4, TPMS_ECC_POINT 11.2.5, TPMT_PUBLIC 12.2.4, TPM2B_SENSITIVE_CREATE 11.1.16,
// TPMS_NV_PUBLIC 13.5, TPMT_SIG_SCHEME 11.2.1.5, TPMT_SIGNATURE 11.3.4,
// tickets 10.7). Creation data, PCR selections and capability data are in marshal-results.ts.
// Big-endian throughout. Decoders are strict: every length is checked before it is read, a TPM2B's
// inner structure must fill it exactly, unknown algorithm tags are rejected with DecodeError.
// Only ECC public areas are supported: every key in this project is ECC (templates T1, T2, T3).
import { DecodeError } from '../protocol/errors.ts';
import { ByteReader, concatBytes, u16be, u32be } from '../protocol/util/bytes.ts';
import { TPM_ALG, TPM_ST_CREATION } from './constants.ts';

const { TPM_ALG_NULL, TPM_ALG_ECC, TPM_ALG_ECDAA } = TPM_ALG;

/** Accumulates big-endian fields; `finish()` returns one contiguous buffer. */
export class TpmWriter {
  private readonly parts: Uint8Array[] = [];
  u8(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new RangeError(`u8 out of range: ${n}`);
    this.parts.push(new Uint8Array([n]));
    return this;
  }
  u16(n: number): this {
    this.parts.push(u16be(n));
    return this;
  }
  u32(n: number): this {
    this.parts.push(u32be(n));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  /** TPM2B: u16 size then the bytes. */
  tpm2b(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }
  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Reads a TPM2B; `max` is the structure's capacity from Part 2 (e.g. 32/64 for digests). */
export function readTpm2b(r: ByteReader, field: string, max = 0xffff): Uint8Array {
  const at = r.offset;
  const size = r.u16(`${field}.size`);
  if (size > max) throw new DecodeError(field, at, `size ${size} exceeds ${max}`);
  return r.bytes(size, field);
}

/** Reads a size-prefixed structure: the inner decoder must consume exactly `size` bytes. */
export function readSized<T>(r: ByteReader, field: string, inner: (r: ByteReader) => T): T {
  const body = r.bytes(r.u16(`${field}.size`), field);
  const ir = new ByteReader(body, field);
  const out = inner(ir);
  ir.end();
  return out;
}

// ---- ECC points ----------------------------------------------------------------------------------

export interface EccPoint {
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export function encodeEccPoint(p: EccPoint): Uint8Array {
  const inner = new TpmWriter().tpm2b(p.x).tpm2b(p.y).finish();
  return new TpmWriter().tpm2b(inner).finish();
}

/** TPM2B_ECC_POINT. An empty point is accepted both as size 0 and as size 4 (x, y empty). */
export function readEccPoint(r: ByteReader, field: string): EccPoint {
  const at = r.offset;
  const size = r.u16(`${field}.size`);
  if (size === 0) return { x: new Uint8Array(0), y: new Uint8Array(0) };
  const ir = new ByteReader(r.bytes(size, field), field);
  const x = readTpm2b(ir, 'x', 128);
  const y = readTpm2b(ir, 'y', 128);
  if (ir.remaining !== 0) throw new DecodeError(field, at + 2 + ir.offset, 'trailing bytes in point');
  return { x, y };
}

export function isEmptyPoint(p: EccPoint): boolean {
  return p.x.length === 0 && p.y.length === 0;
}

// ---- schemes -------------------------------------------------------------------------------------

/** TPMT_ECC_SCHEME / TPMT_SIG_SCHEME: hashAlg unless NULL, count for ECDAA only. */
export interface SigScheme {
  readonly scheme: number;
  readonly hashAlg?: number;
  readonly count?: number;
}

export function encodeSigScheme(s: SigScheme): Uint8Array {
  const w = new TpmWriter().u16(s.scheme);
  if (s.scheme === TPM_ALG_NULL) return w.finish();
  w.u16(s.hashAlg ?? TPM_ALG.TPM_ALG_SHA256);
  if (s.scheme === TPM_ALG_ECDAA) w.u16(s.count ?? 0);
  return w.finish();
}

const SIG_SCHEMES = new Set<number>([
  TPM_ALG.TPM_ALG_ECDSA,
  TPM_ALG_ECDAA,
  TPM_ALG.TPM_ALG_SM2,
  TPM_ALG.TPM_ALG_ECSCHNORR,
  TPM_ALG.TPM_ALG_ECDH,
  TPM_ALG.TPM_ALG_ECMQV,
]);

export function readEccScheme(r: ByteReader, field: string): SigScheme {
  const at = r.offset;
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG_NULL) return { scheme };
  if (!SIG_SCHEMES.has(scheme)) throw new DecodeError(field, at, `unknown scheme 0x${scheme.toString(16)}`);
  const hashAlg = r.u16(`${field}.hashAlg`);
  if (scheme === TPM_ALG_ECDAA) return { scheme, hashAlg, count: r.u16(`${field}.count`) };
  return { scheme, hashAlg };
}

/** TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless NULL. */
export interface SymDef {
  readonly algorithm: number;
  readonly keyBits?: number;
  readonly mode?: number;
}

// ---- TPMT_PUBLIC (ECC) ---------------------------------------------------------------------------

export interface EccPublic {
  readonly type: typeof TPM_ALG_ECC;
  readonly nameAlg: number;
  readonly objectAttributes: number;
  readonly authPolicy: Uint8Array;
  readonly symmetric: SymDef;
  readonly scheme: SigScheme;
  readonly curveID: number;
  readonly kdf: { readonly scheme: number; readonly hashAlg?: number };
  readonly unique: EccPoint;
}

export function encodePublicArea(p: EccPublic): Uint8Array {
  const w = new TpmWriter().u16(p.type).u16(p.nameAlg).u32(p.objectAttributes).tpm2b(p.authPolicy);
  w.u16(p.symmetric.algorithm);
  if (p.symmetric.algorithm !== TPM_ALG_NULL) w.u16(p.symmetric.keyBits ?? 0).u16(p.symmetric.mode ?? 0);
  w.bytes(encodeSigScheme(p.scheme)).u16(p.curveID).u16(p.kdf.scheme);
  if (p.kdf.scheme !== TPM_ALG_NULL) w.u16(p.kdf.hashAlg ?? 0);
  return w.tpm2b(p.unique.x).tpm2b(p.unique.y).finish();
}

/** TPM2B_PUBLIC. */
export function encodePublic(p: EccPublic): Uint8Array {
  return new TpmWriter().tpm2b(encodePublicArea(p)).finish();
}

export function readPublicArea(r: ByteReader): EccPublic {
  const at = r.offset;
  const type = r.u16('type');
  if (type !== TPM_ALG_ECC)
    throw new DecodeError('TPMT_PUBLIC.type', at, `unsupported type 0x${type.toString(16)}`);
  const nameAlg = r.u16('nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = readTpm2b(r, 'authPolicy', 64);
  const symAt = r.offset;
  const algorithm = r.u16('symmetric.algorithm');
  let symmetric: SymDef = { algorithm };
  if (algorithm !== TPM_ALG_NULL) {
    if (algorithm !== TPM_ALG.TPM_ALG_AES) throw new DecodeError('symmetric', symAt, 'unknown algorithm');
    symmetric = { algorithm, keyBits: r.u16('symmetric.keyBits'), mode: r.u16('symmetric.mode') };
  }
  const scheme = readEccScheme(r, 'scheme');
  const curveID = r.u16('curveID');
  const kdfScheme = r.u16('kdf.scheme');
  const kdf =
    kdfScheme === TPM_ALG_NULL ? { scheme: kdfScheme } : { scheme: kdfScheme, hashAlg: r.u16('kdf.hashAlg') };
  const x = readTpm2b(r, 'unique.x', 128);
  const y = readTpm2b(r, 'unique.y', 128);
  return { type, nameAlg, objectAttributes, authPolicy, symmetric, scheme, curveID, kdf, unique: { x, y } };
}

export function readPublic(r: ByteReader, field = 'TPM2B_PUBLIC'): EccPublic {
  return readSized(r, field, readPublicArea);
}

/** Uncompressed SEC1 encoding 04||x||y of a public ECC point, each coordinate left-padded. */
export function pointToSec1(p: EccPoint, coordLen = 32): Uint8Array {
  if (p.x.length > coordLen || p.y.length > coordLen) throw new RangeError('coordinate too long');
  const out = new Uint8Array(1 + 2 * coordLen);
  out[0] = 0x04;
  out.set(p.x, 1 + coordLen - p.x.length);
  out.set(p.y, 1 + 2 * coordLen - p.y.length);
  return out;
}

// ---- TPM2B_SENSITIVE_CREATE ----------------------------------------------------------------------

export function encodeSensitiveCreate(userAuth: Uint8Array, data: Uint8Array): Uint8Array {
  return new TpmWriter().tpm2b(new TpmWriter().tpm2b(userAuth).tpm2b(data).finish()).finish();
}

// ---- NV public -----------------------------------------------------------------------------------

export interface NvPublic {
  readonly nvIndex: number;
  readonly nameAlg: number;
  readonly attributes: number;
  readonly authPolicy: Uint8Array;
  readonly dataSize: number;
}

/** TPM2B_NV_PUBLIC. */
export function encodeNvPublic(p: NvPublic): Uint8Array {
  const inner = new TpmWriter()
    .u32(p.nvIndex)
    .u16(p.nameAlg)
    .u32(p.attributes)
    .tpm2b(p.authPolicy)
    .u16(p.dataSize);
  return new TpmWriter().tpm2b(inner.finish()).finish();
}

export function readNvPublic(r: ByteReader): NvPublic {
  return readSized(r, 'TPM2B_NV_PUBLIC', (ir) => ({
    nvIndex: ir.u32('nvIndex'),
    nameAlg: ir.u16('nameAlg'),
    attributes: ir.u32('attributes'),
    authPolicy: readTpm2b(ir, 'authPolicy', 64),
    dataSize: ir.u16('dataSize'),
  }));
}

// ---- signatures and tickets ----------------------------------------------------------------------

export interface EccSignature {
  readonly sigAlg: number;
  readonly hash: number;
  readonly r: Uint8Array;
  readonly s: Uint8Array;
}

export function readSignature(r: ByteReader): EccSignature {
  const at = r.offset;
  const sigAlg = r.u16('sigAlg');
  if (!SIG_SCHEMES.has(sigAlg) || sigAlg === TPM_ALG.TPM_ALG_ECDH || sigAlg === TPM_ALG.TPM_ALG_ECMQV) {
    throw new DecodeError(
      'TPMT_SIGNATURE.sigAlg',
      at,
      `unsupported signature algorithm 0x${sigAlg.toString(16)}`,
    );
  }
  return {
    sigAlg,
    hash: r.u16('hash'),
    r: readTpm2b(r, 'signatureR', 128),
    s: readTpm2b(r, 'signatureS', 128),
  };
}

/** TPMT_TK_HASHCHECK; the NULL ticket (tag TPM_ST_HASHCHECK, TPM_RH_NULL, empty) is what Sign gets. */
export function encodeHashcheckTicket(tag: number, hierarchy: number, digest: Uint8Array): Uint8Array {
  return new TpmWriter().u16(tag).u32(hierarchy).tpm2b(digest).finish();
}

export interface CreationTicket {
  readonly tag: number;
  readonly hierarchy: number;
  readonly digest: Uint8Array;
}

export function readCreationTicket(r: ByteReader): CreationTicket {
  const at = r.offset;
  const tag = r.u16('creationTicket.tag');
  if (tag !== TPM_ST_CREATION)
    throw new DecodeError('creationTicket.tag', at, `bad tag 0x${tag.toString(16)}`);
  return {
    tag,
    hierarchy: r.u32('creationTicket.hierarchy'),
    digest: readTpm2b(r, 'creationTicket.digest', 64),
  };
}
