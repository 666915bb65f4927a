// Certification path validation for PKI enrollment (a profile of RFC 5280 section 6): the device's
// leaf certificate, the intermediates it sends, and the CA certificates the operator registered as
// trust anchors (a registered CA may be a root or an intermediate: the path ends at the first
// registered certificate that issued the one below it, and that CA's network is the device's).
// Checked, in this order, each failure a stable reason the server audits:
//   path:      an issuer is found for every certificate (signature and name chaining,
//              X509_check_issued: names, AKI/SKI, keyCertSign) -> unknown-ca, self-signed;
//              at most `maxLength` certificates including the CA -> chain-too-long;
//   algorithms: every signature in the path uses SIGNATURE_ALGORITHMS -> weak-signature-algorithm;
//   extensions: no unknown critical extension -> unsupported-critical-extension;
//   leaf:      not a CA -> leaf-is-ca; KeyUsage (when present) has digitalSignature -> key-usage;
//              ExtendedKeyUsage (when present) has clientAuth or anyExtendedKeyUsage -> extended-key-usage;
//   issuers:   cA true -> issuer-not-ca; KeyUsage has keyCertSign -> issuer-key-usage;
//              pathLenConstraint -> path-length-exceeded;
//   time:      now within every certificate's validity, the CA's too -> certificate-expired,
//              certificate-not-yet-valid, issuer-expired, issuer-not-yet-valid;
//   revocation: no certificate's serial on its issuer's uploaded CRL -> certificate-revoked.
// Name constraints and certificate policies are not processed: a certificate marking them critical
// is refused (unsupported-critical-extension) rather than accepted unchecked.
import { allowsKeyUsage, KEY_USAGE, OID, SIGNATURE_ALGORITHMS, type Certificate } from './certificate.ts';

export const CHAIN_REFUSALS = [
  'unknown-ca',
  'self-signed',
  'chain-too-long',
  'weak-signature-algorithm',
  'unsupported-critical-extension',
  'leaf-is-ca',
  'key-usage',
  'extended-key-usage',
  'issuer-not-ca',
  'issuer-key-usage',
  'path-length-exceeded',
  'certificate-expired',
  'certificate-not-yet-valid',
  'issuer-expired',
  'issuer-not-yet-valid',
  'certificate-revoked',
] as const;
export type ChainRefusal = (typeof CHAIN_REFUSALS)[number];

/** Certificates in a path, the CA included: a leaf, up to three intermediates and the CA. */
export const DEFAULT_MAX_CHAIN_LENGTH = 5;

export interface ChainInput<A> {
  leaf: Certificate;
  /** What the device sent besides its leaf, in any order. */
  intermediates: readonly Certificate[];
  /** Registered CAs with the caller's handle for each. */
  anchors: readonly { cert: Certificate; ref: A }[];
  now: number;
  /** Revoked serials on the uploaded CRL of the issuer with this certificate fingerprint. */
  revokedBy?: (issuerFingerprint: string) => ReadonlySet<string> | undefined;
  maxLength?: number;
}

export type ChainVerdict<A> =
  | { ok: true; anchor: A; path: Certificate[] }
  | { ok: false; reason: ChainRefusal; anchor?: A; detail: string };

/** True when `parent` issued `child`: X509_check_issued and the signature verifies. */
export function isIssuedBy(child: Certificate, parent: Certificate): boolean {
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.publicKey);
  } catch {
    return false; // a key type OpenSSL cannot verify with is simply not the issuer
  }
}

/**
 * Signed by its own key under its own name. Unlike isIssuedBy, KeyUsage is not consulted: a device
 * certificate made with `openssl req -x509` and leaf extensions (no keyCertSign) is self-signed too,
 * and says so in the audit rather than unknown-ca.
 */
function isSelfSigned(c: Certificate): boolean {
  try {
    return c.subject === c.issuer && c.x509.verify(c.publicKey);
  } catch {
    return false;
  }
}

export function verifyChain<A>(input: ChainInput<A>): ChainVerdict<A> {
  const maxLength = input.maxLength ?? DEFAULT_MAX_CHAIN_LENGTH;
  const path: Certificate[] = [input.leaf];
  const unused = [...input.intermediates];
  let anchor: { cert: Certificate; ref: A } | undefined;
  for (;;) {
    const current = path[path.length - 1]!;
    anchor = input.anchors.find((a) => isIssuedBy(current, a.cert));
    if (anchor) break;
    const i = unused.findIndex((c) => isIssuedBy(current, c));
    if (i < 0) {
      if (path.length === 1 && isSelfSigned(current)) {
        return { ok: false, reason: 'self-signed', detail: `${current.subject} signed itself` };
      }
      return { ok: false, reason: 'unknown-ca', detail: `no registered CA issued ${current.issuer}` };
    }
    path.push(unused.splice(i, 1)[0]!);
    if (path.length + 1 > maxLength) {
      return { ok: false, reason: 'chain-too-long', detail: `more than ${maxLength} certificates` };
    }
  }
  const full = [...path, anchor.cert];
  const refuse = (reason: ChainRefusal, detail: string): ChainVerdict<A> => ({
    ok: false,
    reason,
    anchor: anchor.ref,
    detail,
  });
  for (const c of path) {
    if (!SIGNATURE_ALGORITHMS[c.signatureAlgorithm]) {
      return refuse('weak-signature-algorithm', `${c.subject} is signed with ${c.signatureAlgorithm}`);
    }
  }
  for (const c of full) {
    if (c.unknownCriticalExtensions.length > 0) {
      return refuse(
        'unsupported-critical-extension',
        `${c.subject}: ${c.unknownCriticalExtensions.join(', ')}`,
      );
    }
  }
  const leaf = input.leaf;
  if (leaf.isCa) return refuse('leaf-is-ca', `${leaf.subject} is a CA certificate`);
  if (!allowsKeyUsage(leaf, KEY_USAGE.digitalSignature)) {
    return refuse('key-usage', `${leaf.subject} does not allow digitalSignature`);
  }
  const eku = leaf.extKeyUsage;
  if (eku && !eku.includes(OID.clientAuth) && !eku.includes(OID.anyExtendedKeyUsage)) {
    return refuse('extended-key-usage', `${leaf.subject} is not for clientAuth (${eku.join(', ')})`);
  }
  for (let k = 1; k < full.length; k++) {
    const issuer = full[k]!;
    if (!issuer.isCa) return refuse('issuer-not-ca', `${issuer.subject} is not a CA`);
    if (!allowsKeyUsage(issuer, KEY_USAGE.keyCertSign)) {
      return refuse('issuer-key-usage', `${issuer.subject} does not allow keyCertSign`);
    }
    const below = k - 1; // intermediates between this issuer and the leaf
    if (issuer.pathLength !== undefined && below > issuer.pathLength) {
      return refuse('path-length-exceeded', `${issuer.subject} allows ${issuer.pathLength} below it`);
    }
  }
  for (let k = 0; k < full.length; k++) {
    const c = full[k]!;
    const who = k === 0 ? 'certificate' : 'issuer';
    if (input.now < c.notBefore) return refuse(`${who}-not-yet-valid`, `${c.subject} is not valid yet`);
    if (input.now > c.notAfter) return refuse(`${who}-expired`, `${c.subject} expired`);
  }
  for (let k = 0; k < path.length; k++) {
    const c = path[k]!;
    const revoked = input.revokedBy?.(full[k + 1]!.fingerprint);
    if (revoked?.has(c.serial))
      return refuse('certificate-revoked', `${c.subject} serial ${c.serial} is revoked`);
  }
  return { ok: true, anchor: anchor.ref, path };
}
