// The XTT root of trust and the server certificate under it, made as `xtt genkeypair`, `xtt
// genrootcert` and `xtt genservercert` (xaptum/xtt 0.12 tool) make them, and the file names of the
// reference tool's examples (vectors README "Static inputs and certificate formats"). Shared by
// xtt-factory (factory/root-certs.ts: `root create`, `server-cert`) and enf-server
// (server-stub/keys/server-keys.ts: `init`), which add their own files and errors around them.
// The codecs and ECDSA are protocol/xtt's. Private keys are returned to the caller, who wipes them.
import {
  encodeRootCertificate,
  issueServerCertificate,
  verifyServerCertificate,
  type P256KeyPair,
  type RootCertificate,
  type ServerCertificate,
} from '../protocol/xtt/certificates.ts';
import { ROOT_ID_LENGTH } from '../protocol/xtt/constants.ts';
import { generateP256PrivateKey, p256PublicKey } from '../protocol/xtt/ecdsa-p256.ts';
import type { Rng } from '../protocol/util/rng.ts';

/**
 * File names, as the reference tool's examples: root_cert.bin (81 B, given to devices),
 * root_keys.asn1.bin and server_keys.asn1.bin (121 B SEC1 DER, mode 0600), server_certificate.bin
 * (169 B, root-signed).
 */
export const XTT_KEY_FILES = {
  rootCertificate: 'root_cert.bin',
  rootKeys: 'root_keys.asn1.bin',
  serverCertificate: 'server_certificate.bin',
  serverKeys: 'server_keys.asn1.bin',
} as const;

export interface RootMaterial {
  keys: P256KeyPair;
  certificate: RootCertificate;
  certificateBytes: Uint8Array;
}

/** `xtt genkeypair` then `xtt genrootcert`: a P-256 key pair drawn like the reference, a random root_id. */
export function createRoot(rng: Rng): RootMaterial {
  const privateKey = generateP256PrivateKey(rng);
  const keys = { privateKey, publicKey: p256PublicKey(privateKey) };
  const certificate = { rootId: rng.bytes(ROOT_ID_LENGTH), publicKey: keys.publicKey };
  return { keys, certificate, certificateBytes: encodeRootCertificate(certificate) };
}

/** `xtt genkeypair` then `xtt genservercert`: a server key pair and its certificate signed by the root. */
export function createServerCertificate(
  root: RootMaterial,
  rng: Rng,
  reserved?: Uint8Array,
): { keys: P256KeyPair; certificateBytes: Uint8Array; certificate: ServerCertificate } {
  const privateKey = generateP256PrivateKey(rng);
  const keys = { privateKey, publicKey: p256PublicKey(privateKey) };
  const certificateBytes = issueServerCertificate({
    rootId: root.certificate.rootId,
    rootPrivateKey: root.keys.privateKey,
    serverPublicKey: keys.publicKey,
    ...(reserved === undefined ? {} : { reserved }),
    rng,
  });
  // Never hand out a certificate the devices would reject.
  const certificate = verifyServerCertificate(certificateBytes, [root.certificate]);
  return { keys, certificateBytes, certificate };
}
