// Proof that whoever registers a CA holds its key, as AWS IoT's CA verification certificates: the
// server gives a registration code; the operator has the CA issue a certificate whose subject CN is
// that code (any key); the server checks the CA signed it. The code is
// hex(SHA-256("enf-pki-ca-verification v1" || server identity || CA fingerprint))[0..32): fixed per
// server deployment and CA, so nothing is stored, and a verification certificate made for one
// deployment or one CA is useless for another.
import { createHash } from 'node:crypto';
import { isIssuedBy } from './chain.ts';
import type { Certificate } from './certificate.ts';

export function registrationCode(serverIdentity: Uint8Array, caFingerprint: string): string {
  return createHash('sha256')
    .update('enf-pki-ca-verification v1')
    .update(serverIdentity)
    .update(caFingerprint)
    .digest('hex')
    .slice(0, 32);
}

/** Why the verification certificate does not prove possession of the CA key, or undefined when it does. */
export function checkVerificationCertificate(
  ca: Certificate,
  verification: Certificate,
  code: string,
  now: number,
): string | undefined {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(verification.subject)?.[1];
  if (cn !== code) return `its subject CN is ${cn ?? 'missing'}, not the registration code ${code}`;
  if (!isIssuedBy(verification, ca)) return 'the CA did not sign it';
  if (now < verification.notBefore || now > verification.notAfter) return 'it is not valid now';
  return undefined;
}
