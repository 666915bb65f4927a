// Minimal strict DER (ITU-T X.690 section 10) for the few X.509 structures node:crypto does not
// expose: the KeyUsage and BasicConstraints extensions (RFC 5280 4.2.1.3, 4.2.1.9), CRLs (RFC 5280
// section 5) and the PKCS#10 request we write (RFC 2986). The reader accepts only definite,
// minimally encoded lengths and low tag numbers, and refuses trailing bytes; the writer emits DER.
import { DecodeError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One element: its tag, the whole TLV and the contents. Offsets are within the parsed buffer. */
export interface DerNode {
  readonly tag: number;
  readonly offset: number;
  /** The whole TLV (header and contents), e.g. to hash or to verify a signature over. */
  readonly der: Uint8Array;
  readonly body: Uint8Array;
}

/** Reads one TLV at `offset` of `buf`; `field` names it in errors. */
export function readTlv(buf: Uint8Array, offset: number, field: string): DerNode {
  if (offset + 2 > buf.length) throw new DecodeError(field, offset, 'truncated DER header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(field, offset, 'high tag numbers are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len === 0x80) throw new DecodeError(field, offset, 'indefinite length is not DER');
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 3) throw new DecodeError(field, offset, 'DER length too large');
    if (pos + n > buf.length) throw new DecodeError(field, offset, 'truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[pos + i]!;
    if (buf[pos] === 0 || len < 0x80) throw new DecodeError(field, offset, 'DER length not minimal');
    pos += n;
  }
  if (pos + len > buf.length) {
    throw new DecodeError(field, offset, `DER contents need ${len} bytes, have ${buf.length - pos}`);
  }
  return { tag, offset, der: buf.subarray(offset, pos + len), body: buf.subarray(pos, pos + len) };
}

/** The single element filling `buf` exactly. */
export function parseDer(buf: Uint8Array, field: string, tag?: number): DerNode {
  const node = readTlv(buf, 0, field);
  if (node.der.length !== buf.length) {
    throw new DecodeError(field, node.der.length, `${buf.length - node.der.length} trailing bytes`);
  }
  if (tag !== undefined) expectTag(node, tag, field);
  return node;
}

export function expectTag(node: DerNode, tag: number, field: string): DerNode {
  if (node.tag !== tag) {
    throw new DecodeError(
      field,
      node.offset,
      `tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`,
    );
  }
  return node;
}

/** The elements inside a constructed node (SEQUENCE, SET, [n] EXPLICIT). */
export function children(node: DerNode, field: string): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DecodeError(field, node.offset, 'not a constructed element');
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.body.length) {
    const child = readTlv(node.body, pos, `${field}[${out.length}]`);
    out.push(child);
    pos += child.der.length;
  }
  return out;
}

/** Dotted text of an OBJECT IDENTIFIER's contents. */
export function decodeOid(node: DerNode, field: string): string {
  expectTag(node, TAG.OID, field);
  const b = node.body;
  if (b.length === 0) throw new DecodeError(field, node.offset, 'empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    if (v === 0 && b[i] === 0x80) throw new DecodeError(field, node.offset, 'OID arc not minimal');
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DecodeError(field, node.offset, 'OID arc too large');
    if ((b[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    } else if (i === b.length - 1) throw new DecodeError(field, node.offset, 'truncated OID');
  }
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** BOOLEAN: DER allows only 0x00 and 0xFF. */
export function decodeBoolean(node: DerNode, field: string): boolean {
  expectTag(node, TAG.BOOLEAN, field);
  if (node.body.length !== 1 || (node.body[0] !== 0 && node.body[0] !== 0xff)) {
    throw new DecodeError(field, node.offset, 'BOOLEAN is not 0x00 or 0xFF');
  }
  return node.body[0] === 0xff;
}

/** A small non-negative INTEGER as a number. */
export function decodeSmallInt(node: DerNode, field: string): number {
  expectTag(node, TAG.INTEGER, field);
  const b = node.body;
  if (b.length === 0 || b.length > 4 || (b[0]! & 0x80) !== 0) {
    throw new DecodeError(field, node.offset, 'not a small non-negative INTEGER');
  }
  if (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) {
    throw new DecodeError(field, node.offset, 'INTEGER not minimal');
  }
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return n;
}

/** An INTEGER's magnitude as lower-case hex without leading zero bytes (certificate serials). */
export function decodeSerialHex(node: DerNode, field: string): string {
  expectTag(node, TAG.INTEGER, field);
  const b = node.body;
  if (b.length === 0) throw new DecodeError(field, node.offset, 'empty INTEGER');
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return Buffer.from(b.subarray(i)).toString('hex').toUpperCase();
}

/** BIT STRING as (unused bits, bytes). */
export function decodeBitString(node: DerNode, field: string): { unusedBits: number; bytes: Uint8Array } {
  expectTag(node, TAG.BIT_STRING, field);
  const b = node.body;
  if (b.length === 0 || b[0]! > 7 || (b.length === 1 && b[0] !== 0)) {
    throw new DecodeError(field, node.offset, 'malformed BIT STRING');
  }
  return { unusedBits: b[0]!, bytes: b.subarray(1) };
}

/** UTCTime (YYMMDDHHMMSSZ, 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as ms since the epoch. */
export function decodeTime(node: DerNode, field: string): number {
  const s = new TextDecoder().decode(node.body);
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.UTCTime && (m = s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/))) {
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (
    node.tag === TAG.GeneralizedTime &&
    (m = s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/))
  ) {
    year = Number(m[1]);
  } else {
    throw new DecodeError(field, node.offset, 'not a DER UTCTime or GeneralizedTime');
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new DecodeError(field, node.offset, `invalid date ${s}`);
  }
  return t;
}

// ---- writer ----

export function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  let len: Uint8Array;
  if (n < 0x80) len = Uint8Array.of(n);
  else if (n < 0x100) len = Uint8Array.of(0x81, n);
  else if (n < 0x10000) len = Uint8Array.of(0x82, n >> 8, n & 0xff);
  else throw new RangeError('DER element too long');
  return concatBytes(Uint8Array.of(tag), len, body);
}

export const derSeq = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, concatBytes(...parts));
export const derSet = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SET, concatBytes(...parts));
export const derUtf8 = (s: string): Uint8Array => tlv(TAG.UTF8String, new TextEncoder().encode(s));

/** OBJECT IDENTIFIER from dotted text. */
export function derOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((x) => {
    if (!/^\d+$/.test(x)) throw new RangeError(`bad OID ${dotted}`);
    return Number(x);
  });
  if (arcs.length < 2 || arcs[0]! > 2) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (v: number): void => {
    const groups = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** DER INTEGER of an unsigned big-endian magnitude (minimal, with a 0x00 pad when the top bit is set). */
export function derUint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const mag = b.subarray(i);
  return tlv(TAG.INTEGER, mag[0]! & 0x80 ? concatBytes(Uint8Array.of(0), mag) : mag);
}

/** BIT STRING with no unused bits. */
export const derBitString = (b: Uint8Array): Uint8Array =>
  tlv(TAG.BIT_STRING, concatBytes(Uint8Array.of(0), b));

/** RFC 5280 4.1.2.5: UTCTime for 1950-2049, GeneralizedTime otherwise. */
export function derTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999 || Number.isNaN(y)) throw new RangeError('certificate time out of range');
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
  if (y >= 1950 && y <= 2049) return tlv(TAG.UTCTime, ascii(`${p(y % 100)}${rest}`));
  return tlv(TAG.GeneralizedTime, ascii(`${p(y, 4)}${rest}`));
}
