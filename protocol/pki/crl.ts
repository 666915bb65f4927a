// Certificate revocation lists (RFC 5280 section 5): the operator uploads the CRLs of a registered CA;
// this parses one strictly and checks that the CA signed it (issuer Name byte-equal to the CA's
// subject, the CA's KeyUsage allowing cRLSign when present, the signature over tbsCertList).
// Only the revoked serials are used: entry and CRL extensions are not interpreted (delta CRLs and
// indirect CRLs, which need them, are refused because their extensions are critical).
import { createHash, verify } from 'node:crypto';
import { DecodeError, ZtpError } from '../errors.ts';
import { equalBytes } from '../util/bytes.ts';
import { allowsKeyUsage, KEY_USAGE, SIGNATURE_ALGORITHMS, type Certificate } from './certificate.ts';
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

export interface RevocationList {
  readonly der: Uint8Array;
  /** DER of the issuer Name. */
  readonly issuerNameDer: Uint8Array;
  readonly thisUpdate: number;
  readonly nextUpdate: number | undefined;
  /** Revoked serials, upper-case hex without leading zero bytes (as Certificate.serial). */
  readonly revokedSerials: ReadonlySet<string>;
  readonly signatureAlgorithm: string;
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  /** SHA-256 of the whole CRL, lower-case hex. */
  readonly fingerprint: string;
}

/** A CRL the CA did not sign, or one these checks cannot use. */
export class CrlError extends ZtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CRL_INVALID', message, options);
  }
}

function criticalExtensions(node: DerNode, field: string): string[] {
  const out: string[] = [];
  for (const ext of children(expectTag(node, TAG.SEQUENCE, field), field)) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, field), field);
    const id = decodeOid(parts[0]!, `${field}.extnID`);
    if (parts[1]?.tag === TAG.BOOLEAN && decodeBoolean(parts[1], `${field}.critical`)) out.push(id);
  }
  return out;
}

/** Parses a DER CRL; DecodeError naming the field when it is malformed. */
export function parseCrl(der: Uint8Array): RevocationList {
  const list = children(parseDer(der, 'crl', TAG.SEQUENCE), 'crl');
  const [tbs, sigAlg, sigValue] = list;
  if (list.length !== 3 || !tbs || !sigAlg || !sigValue) throw new DecodeError('crl', 0, 'not 3 elements');
  const f = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertList'), 'tbsCertList');
  let i = 0;
  if (f[i]?.tag === TAG.INTEGER && decodeSmallInt(f[i]!, 'tbsCertList.version') !== 1) {
    throw new DecodeError('tbsCertList.version', f[i]!.offset, 'only v2 CRLs (version 1) are accepted');
  }
  if (f[i]?.tag === TAG.INTEGER) i++;
  i++; // signature AlgorithmIdentifier, compared with the outer one below
  const issuer = f[i++];
  const thisUpdate = f[i++];
  if (!issuer || !thisUpdate) throw new DecodeError('tbsCertList', tbs.offset, 'truncated');
  expectTag(issuer, TAG.SEQUENCE, 'tbsCertList.issuer');
  let nextUpdate: number | undefined;
  if (f[i] && (f[i]!.tag === TAG.UTCTime || f[i]!.tag === TAG.GeneralizedTime)) {
    nextUpdate = decodeTime(f[i++]!, 'tbsCertList.nextUpdate');
  }
  const revoked = new Set<string>();
  if (f[i]?.tag === TAG.SEQUENCE) {
    for (const entry of children(f[i++]!, 'revokedCertificates')) {
      const e = children(expectTag(entry, TAG.SEQUENCE, 'revokedCertificate'), 'revokedCertificate');
      if (!e[0] || !e[1] || e.length > 3)
        throw new DecodeError('revokedCertificate', entry.offset, 'malformed');
      decodeTime(e[1], 'revokedCertificate.revocationDate');
      if (e[2] && criticalExtensions(e[2], 'crlEntryExtensions').length > 0) {
        throw new DecodeError('crlEntryExtensions', e[2].offset, 'critical entry extension (indirect CRL)');
      }
      revoked.add(decodeSerialHex(e[0], 'revokedCertificate.userCertificate'));
    }
  }
  if (f[i]?.tag === 0xa0) {
    const inner = children(f[i++]!, 'crlExtensions')[0];
    const critical = inner ? criticalExtensions(inner, 'crlExtensions') : [];
    // 2.5.29.27 deltaCRLIndicator and 2.5.29.28 issuingDistributionPoint change the CRL's scope.
    if (critical.length > 0) {
      throw new DecodeError('crlExtensions', f[i - 1]!.offset, `critical extension ${critical.join(', ')}`);
    }
  }
  if (i !== f.length) throw new DecodeError('tbsCertList', tbs.offset, 'unexpected element');
  const inner = children(f[f[0]?.tag === TAG.INTEGER ? 1 : 0]!, 'tbsCertList.signature');
  const innerAlg = decodeOid(inner[0]!, 'tbsCertList.signature');
  const algorithm = decodeOid(children(sigAlg, 'signatureAlgorithm')[0]!, 'signatureAlgorithm');
  if (innerAlg !== algorithm)
    throw new DecodeError('signatureAlgorithm', sigAlg.offset, 'differs from tbsCertList');
  const bits = decodeBitString(sigValue, 'signatureValue');
  if (bits.unusedBits !== 0) throw new DecodeError('signatureValue', sigValue.offset, 'unused bits');
  return {
    der,
    issuerNameDer: issuer.der,
    thisUpdate: decodeTime(thisUpdate, 'tbsCertList.thisUpdate'),
    nextUpdate,
    revokedSerials: revoked,
    signatureAlgorithm: algorithm,
    tbs: tbs.der,
    signature: bits.bytes,
    fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}

/** Throws CrlError unless `ca` issued and signed `crl`. */
export function checkCrlIssuedBy(crl: RevocationList, ca: Certificate): void {
  if (!equalBytes(crl.issuerNameDer, ca.subjectNameDer)) {
    throw new CrlError(`the CRL's issuer is not the CA's subject (${ca.subject})`);
  }
  if (!allowsKeyUsage(ca, KEY_USAGE.cRLSign)) throw new CrlError('the CA certificate does not allow cRLSign');
  const alg = SIGNATURE_ALGORITHMS[crl.signatureAlgorithm];
  if (!alg) throw new CrlError(`unsupported CRL signature algorithm ${crl.signatureAlgorithm}`);
  let ok = false;
  try {
    ok = verify(alg.hash, crl.tbs, ca.publicKey, crl.signature);
  } catch (e) {
    throw new CrlError(`CRL signature does not verify: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new CrlError("the CRL's signature does not verify with the CA's key");
}
