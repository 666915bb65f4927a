// PKCS#10 certification request (RFC 2986) for an ECDSA P-256 key that may live in a TPM: the
// request is signed through the LongtermSigner port (raw r || s over SHA-256 of the
// CertificationRequestInfo), so the private key never has to be in this process. No attributes
// (the customer's CA decides the extensions); subject from "CN=device-42,O=Acme" text.
import type { LongtermSigner } from '../xtt/signers.ts';
import { ecdsaRawToDer } from '../xtt/x509.ts';
import { derBitString, derOid, derSeq, derSet, derUint, derUtf8, TAG, tlv } from './der.ts';

const ATTRIBUTE_TYPES: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  serialNumber: '2.5.4.5',
};

/** Thrown for a subject the simple "TYPE=value,..." syntax cannot express. */
export class SubjectSyntaxError extends RangeError {}

/** "CN=device-42,O=Acme" to a DER Name (one attribute per RDN, in the order given). */
export function encodeSubject(text: string): Uint8Array {
  const rdns: Uint8Array[] = [];
  for (const part of text.split(',')) {
    const m = part.trim().match(/^([A-Za-z]+)=(.+)$/);
    if (!m) throw new SubjectSyntaxError(`subject part "${part}" is not TYPE=value`);
    const oid = ATTRIBUTE_TYPES[m[1]!];
    if (!oid)
      throw new SubjectSyntaxError(
        `unknown subject attribute ${m[1]} (${Object.keys(ATTRIBUTE_TYPES).join(', ')})`,
      );
    const value = m[2]!.trim();
    if (value.length > 64) throw new SubjectSyntaxError(`${m[1]} is longer than 64 characters`);
    const encoded =
      m[1] === 'C' || m[1] === 'serialNumber'
        ? tlv(TAG.PrintableString, new TextEncoder().encode(value))
        : derUtf8(value);
    if ((m[1] === 'C' || m[1] === 'serialNumber') && !/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(value))
      throw new SubjectSyntaxError(`${m[1]} must be a PrintableString`);
    rdns.push(derSet(derSeq(derOid(oid), encoded)));
  }
  if (rdns.length === 0) throw new SubjectSyntaxError('empty subject');
  return derSeq(...rdns);
}

/** SubjectPublicKeyInfo of an uncompressed P-256 point. */
export function p256Spki(point: Uint8Array): Uint8Array {
  if (point.length !== 65 || point[0] !== 4)
    throw new RangeError('P-256 public key must be 65 bytes 04||x||y');
  return derSeq(derSeq(derOid('1.2.840.10045.2.1'), derOid('1.2.840.10045.3.1.7')), derBitString(point));
}

/** DER CertificationRequest signed by `signer` (ecdsa-with-SHA256). */
export async function buildCsr(subject: string, signer: LongtermSigner): Promise<Uint8Array> {
  const info = derSeq(
    derUint(Uint8Array.of(0)),
    encodeSubject(subject),
    p256Spki(signer.publicKey),
    tlv(0xa0, new Uint8Array(0)),
  );
  const sig = await signer.sign(info);
  return derSeq(info, derSeq(derOid('1.2.840.10045.4.3.2')), derBitString(ecdsaRawToDer(sig)));
}
