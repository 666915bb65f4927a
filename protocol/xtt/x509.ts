// The self-signed X.509 certificate the reference client writes for its new identity (xtt tool,
// xtt_x509_from_ecdsap256_keypair; vectors README step 8): a v1 certificate, issuer = subject =
// CN=<identity as XXXX:XXXX:... uppercase>, ECDSA-with-SHA256 by the longterm key, serial = 19 random
// bytes with the top bit cleared followed by 0x00. Deviation: the validity is the caller's (default
// now .. +10 years) instead of year 0 .. 9999, which strict parsers reject; times follow RFC 5280
// 4.1.2.5 (UTCTime for 1950-2049, GeneralizedTime otherwise), so passing the reference's years
// reproduces its bytes exactly. The DER writer is protocol/pki/der.ts.
import {
  derBitString,
  derOid as oid,
  derSeq as seq,
  derSet,
  derTime as time,
  derUint as uint,
  derUtf8 as utf8,
} from '../pki/der.ts';
import { concatBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { IDENTITY_LENGTH, P256_PUBLIC_KEY_LENGTH, P256_SIGNATURE_LENGTH } from './constants.ts';
import type { LongtermSigner } from './signers.ts';

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_PRIME256V1 = '1.2.840.10045.3.1.7';
const OID_COMMON_NAME = '2.5.4.3';

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
  const name = seq(derSet(seq(oid(OID_COMMON_NAME), utf8(formatIdentity(o.identity)))));
  const sigAlg = seq(oid(OID_ECDSA_WITH_SHA256));
  const spki = seq(seq(oid(OID_EC_PUBLIC_KEY), oid(OID_PRIME256V1)), derBitString(o.signer.publicKey));
  const tbs = seq(uint(drawSerial(o.rng)), sigAlg, name, seq(time(notBefore), time(notAfter)), name, spki);
  const sig = await o.signer.sign(tbs);
  return seq(tbs, sigAlg, derBitString(ecdsaRawToDer(sig)));
}
