// The self-signed X.509 certificate the reference client writes for its new identity (xtt tool,
// xtt_x509_from_ecdsap256_keypair; vectors README step 8): a v1 certificate, issuer = subject =
// CN=<identity as XXXX:XXXX:... uppercase>, ECDSA-with-SHA256 by the longterm key, serial = 19 random
// bytes with the top bit cleared followed by 0x00. Deviation: the validity is the caller's (default
// now .. +10 years) instead of year 0 .. 9999, which strict parsers reject; times follow RFC 5280
// 4.1.2.5 (UTCTime for 1950-2049, GeneralizedTime otherwise), so passing the reference's years
// reproduces its bytes exactly. A minimal DER writer is enough for this one structure.
import { concatBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { IDENTITY_LENGTH, P256_PUBLIC_KEY_LENGTH, P256_SIGNATURE_LENGTH } from './constants.ts';
import type { LongtermSigner } from './signers.ts';

const OID_ECDSA_WITH_SHA256 = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const OID_EC_PUBLIC_KEY = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
const OID_PRIME256V1 = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const OID_COMMON_NAME = Uint8Array.from([0x55, 0x04, 0x03]);

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  let len: Uint8Array;
  if (n < 0x80) len = Uint8Array.of(n);
  else if (n < 0x100) len = Uint8Array.of(0x81, n);
  else if (n < 0x10000) len = Uint8Array.of(0x82, n >> 8, n & 0xff);
  else throw new RangeError('DER element too long');
  return concatBytes(Uint8Array.of(tag), len, body);
}

const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, concatBytes(...parts));
const oid = (b: Uint8Array): Uint8Array => tlv(0x06, b);
const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));

/** DER INTEGER of an unsigned big-endian magnitude (minimal, with a 0x00 pad when the top bit is set). */
function uint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const mag = b.subarray(i);
  return tlv(0x02, mag[0]! & 0x80 ? concatBytes(Uint8Array.of(0), mag) : mag);
}

function time(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999 || Number.isNaN(y)) throw new RangeError('certificate time out of range');
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
  if (y >= 1950 && y <= 2049) return tlv(0x17, ascii(`${p(y % 100)}${rest}`));
  return tlv(0x18, ascii(`${p(y, 4)}${rest}`));
}

/** The reference's text form of an identity: eight groups of 4 uppercase hex digits joined by ':'. */
export function formatIdentity(id: Uint8Array): string {
  if (id.length !== IDENTITY_LENGTH) throw new RangeError('identity must be 16 bytes');
  const hex = Buffer.from(id).toString('hex').toUpperCase();
  return hex.match(/.{4}/g)!.join(':');
}

/** Serial like the reference: 19 drawn bytes, top bit cleared, then 0x00 (never a leading 0x00). */
export function drawSerial(rng: Rng): Uint8Array {
  const serial = concatBytes(rng.bytes(19), Uint8Array.of(0));
  serial[0]! &= 0x7f;
  if (serial[0] === 0) serial[0] = 1; // keep the INTEGER minimal-length DER (reference would not)
  return serial;
}

/** Raw r || s to the DER ECDSA-Sig-Value X.509 carries. */
export function ecdsaRawToDer(sig: Uint8Array): Uint8Array {
  if (sig.length !== P256_SIGNATURE_LENGTH) throw new RangeError('raw signature must be 64 bytes');
  return seq(uint(sig.subarray(0, 32)), uint(sig.subarray(32)));
}

export interface IdentityCertificateOptions {
  identity: Uint8Array;
  signer: LongtermSigner;
  /** Source of the serial (one 19-byte draw). */
  rng: Rng;
  notBefore?: Date;
  notAfter?: Date;
  /** Used for the default validity (ms since epoch). */
  now?: number;
}

const TEN_YEARS_MS = 3653 * 24 * 3600 * 1000;

/** DER of the self-signed identity certificate (the signer signs SHA-256 of the TBSCertificate). */
export async function buildIdentityCertificate(o: IdentityCertificateOptions): Promise<Uint8Array> {
  if (o.signer.publicKey.length !== P256_PUBLIC_KEY_LENGTH)
    throw new RangeError('longterm public key must be 65 bytes');
  const now = Math.floor((o.now ?? Date.now()) / 1000) * 1000;
  const notBefore = o.notBefore ?? new Date(now);
  const notAfter = o.notAfter ?? new Date(now + TEN_YEARS_MS);
  if (notAfter.getTime() <= notBefore.getTime()) throw new RangeError('notAfter must be after notBefore');
  const name = seq(tlv(0x31, seq(oid(OID_COMMON_NAME), utf8(formatIdentity(o.identity)))));
  const sigAlg = seq(oid(OID_ECDSA_WITH_SHA256));
  const spki = seq(
    seq(oid(OID_EC_PUBLIC_KEY), oid(OID_PRIME256V1)),
    tlv(0x03, concatBytes(Uint8Array.of(0), o.signer.publicKey)),
  );
  const tbs = seq(uint(drawSerial(o.rng)), sigAlg, name, seq(time(notBefore), time(notAfter)), name, spki);
  const sig = await o.signer.sign(tbs);
  return seq(tbs, sigAlg, tlv(0x03, concatBytes(Uint8Array.of(0), ecdsaRawToDer(sig))));
}
