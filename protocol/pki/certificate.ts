// One X.509 certificate (RFC 5280 section 4) as the PKI enrollment checks need it. node:crypto's
// X509Certificate parses it and verifies signatures; the fields it does not expose (the KeyUsage
// bits, BasicConstraints with its path length, the criticality of each extension, the validity as
// instants, the signature algorithm) are read here from the DER with protocol/pki/der.ts.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { DecodeError } from '../errors.ts';
import {
  children,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSerialHex,
  decodeSmallInt,
  decodeTime,
  expectTag,
  parseDer,
  TAG,
  type DerNode,
} from './der.ts';

export const OID = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  crlDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/** Extensions these checks understand; any other one marked critical makes the certificate unusable. */
const UNDERSTOOD = new Set<string>([
  OID.keyUsage,
  OID.basicConstraints,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.crlDistributionPoints,
  OID.authorityInfoAccess,
]);

/** Signature algorithms accepted on certificates and CRLs, with the hash node:crypto verifies with. */
export const SIGNATURE_ALGORITHMS: Readonly<Record<string, { name: string; hash: string | null }>> = {
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', hash: null },
};

/** KeyUsage bits (RFC 5280 4.2.1.3) the checks look at. */
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export interface Certificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly subject: string;
  readonly issuer: string;
  /** DER of the subject Name, compared byte for byte with a CRL's issuer. */
  readonly subjectNameDer: Uint8Array;
  /** Serial as upper-case hex without leading zero bytes (as CRLs are matched). */
  readonly serial: string;
  /** SHA-256 of the whole certificate, lower-case hex. */
  readonly fingerprint: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly signatureAlgorithm: string;
  /** BasicConstraints cA; false when the extension is absent. */
  readonly isCa: boolean;
  readonly pathLength: number | undefined;
  /** KeyUsage bit array, undefined when the extension is absent (then any use is allowed). */
  readonly keyUsage: readonly boolean[] | undefined;
  /** ExtendedKeyUsage purposes, undefined when absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly unknownCriticalExtensions: readonly string[];
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER: what the device's identity is derived from. */
  readonly publicKeyDer: Uint8Array;
}

function parseExtensions(
  node: DerNode,
): Pick<Certificate, 'isCa' | 'pathLength' | 'keyUsage' | 'extKeyUsage' | 'unknownCriticalExtensions'> {
  let isCa = false;
  let pathLength: number | undefined;
  let keyUsage: boolean[] | undefined;
  let extKeyUsage: string[] | undefined;
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  const list = children(node, 'extensions')[0];
  if (!list) throw new DecodeError('extensions', node.offset, 'empty [3]');
  for (const ext of children(expectTag(list, TAG.SEQUENCE, 'extensions'), 'extensions')) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, 'extension'), 'extension');
    const id = decodeOid(parts[0]!, 'extension.extnID');
    if (seen.has(id)) throw new DecodeError('extension', ext.offset, `extension ${id} appears twice`);
    seen.add(id);
    let critical = false;
    let valueNode = parts[1];
    if (valueNode?.tag === TAG.BOOLEAN) {
      critical = decodeBoolean(valueNode, 'extension.critical');
      valueNode = parts[2];
    }
    if (!valueNode || parts.length > (valueNode === parts[1] ? 2 : 3))
      throw new DecodeError('extension', ext.offset, `malformed extension ${id}`);
    const value = expectTag(valueNode, TAG.OCTET_STRING, 'extension.extnValue').body;
    if (id === OID.keyUsage) {
      const bits = decodeBitString(parseDer(value, 'keyUsage'), 'keyUsage');
      keyUsage = [];
      for (let i = 0; i < bits.bytes.length * 8 - bits.unusedBits; i++) {
        keyUsage.push(((bits.bytes[i >> 3]! >> (7 - (i & 7))) & 1) === 1);
      }
    } else if (id === OID.basicConstraints) {
      const items = children(parseDer(value, 'basicConstraints', TAG.SEQUENCE), 'basicConstraints');
      let i = 0;
      if (items[i]?.tag === TAG.BOOLEAN) isCa = decodeBoolean(items[i++]!, 'basicConstraints.cA');
      if (items[i]) pathLength = decodeSmallInt(items[i++]!, 'basicConstraints.pathLenConstraint');
      if (i !== items.length) throw new DecodeError('basicConstraints', 0, 'unexpected element');
    } else if (id === OID.extKeyUsage) {
      const items = children(parseDer(value, 'extKeyUsage', TAG.SEQUENCE), 'extKeyUsage');
      extKeyUsage = items.map((n) => decodeOid(n, 'extKeyUsage'));
    } else if (critical && !UNDERSTOOD.has(id)) {
      unknownCritical.push(id);
    }
  }
  return { isCa, pathLength, keyUsage, extKeyUsage, unknownCriticalExtensions: unknownCritical };
}

/** Parses a DER certificate; DecodeError (field `certificate...`) when it is not one. */
export function parseCertificate(der: Uint8Array): Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (e) {
    throw new DecodeError('certificate', 0, 'not an X.509 certificate', { cause: e });
  }
  const cert = parseDer(der, 'certificate', TAG.SEQUENCE);
  const [tbs, sigAlg] = children(cert, 'certificate');
  if (!tbs || !sigAlg) throw new DecodeError('certificate', 0, 'missing tbsCertificate');
  const fields = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const [serialNode, , , validity, subject, spki] = fields.slice(i, i + 6);
  i += 6;
  if (!serialNode || !validity || !subject || !spki)
    throw new DecodeError('tbsCertificate', tbs.offset, 'truncated');
  const [nb, na] = children(expectTag(validity, TAG.SEQUENCE, 'validity'), 'validity');
  if (!nb || !na) throw new DecodeError('validity', validity.offset, 'truncated');
  let ext: ReturnType<typeof parseExtensions> = {
    isCa: false,
    pathLength: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    unknownCriticalExtensions: [],
  };
  for (const f of fields.slice(i)) {
    if (f.tag === 0xa3) ext = parseExtensions(f);
  }
  const algOid = decodeOid(children(sigAlg, 'signatureAlgorithm')[0]!, 'signatureAlgorithm');
  return {
    der,
    x509,
    subject: x509.subject,
    issuer: x509.issuer,
    subjectNameDer: subject.der,
    serial: decodeSerialHex(serialNode, 'serialNumber'),
    fingerprint: createHash('sha256').update(der).digest('hex'),
    notBefore: decodeTime(nb, 'validity.notBefore'),
    notAfter: decodeTime(na, 'validity.notAfter'),
    signatureAlgorithm: algOid,
    ...ext,
    publicKey: x509.publicKey,
    publicKeyDer: spki.der,
  };
}

/** True when the certificate allows the KeyUsage `bit` (an absent extension allows everything). */
export function allowsKeyUsage(c: Certificate, bit: number): boolean {
  return c.keyUsage === undefined || c.keyUsage[bit] === true;
}

/** PEM text (one or more CERTIFICATE blocks) to DER certificates, in order. */
export function pemToDerList(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(re))
    out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}
