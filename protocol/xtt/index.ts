// Public API of protocol/xtt: XTT 0.12 identity provisioning, wire-compatible with xaptum/xtt 0.12.0.
// See README.md in this folder for the message layouts, the reference's departures from the draft,
// and how to drive the sans-I/O client and server.
export * from './constants.ts';
export {
  decodeP256KeyFile,
  decodeRootCertificate,
  decodeServerCertificate,
  encodeP256KeyFile,
  encodeRootCertificate,
  encodeServerCertificate,
  issueServerCertificate,
  verifyServerCertificate,
  P256_KEY_FILE_LENGTH,
  type P256KeyPair,
  type RootCertificate,
  type ServerCertificate,
} from './certificates.ts';
export { XttClient, type ClientConfig, type ClientResult, type ClientStep } from './client.ts';
export {
  ReferenceCookieStrategy,
  SealedCookieStrategy,
  systemClock,
  type Clock,
  type CookieState,
  type CookieStrategy,
  type ReferenceCookieOptions,
  type SealedCookieOptions,
} from './cookie.ts';
export {
  generateP256PrivateKey,
  isValidP256PublicKey,
  p256PublicKey,
  signP256,
  signP256WithK,
  verifyP256,
} from './ecdsa-p256.ts';
export { MessageFramer, type FrameResult } from './framer.ts';
export { type HandshakeStep } from './handshake-step.ts';
export * from './key-schedule.ts';
export * from './messages.ts';
export {
  XttServer,
  XttServerHandshake,
  type ServerConfig,
  type ServerResult,
  type ServerStep,
} from './server.ts';
export {
  SoftwareP256Signer,
  type DaaSigner,
  type DaaVerdict,
  type IdentityVerdict,
  type LongtermSigner,
  type ServerPolicy,
  type ServerSigner,
} from './signers.ts';
export { SoftwareDaaSigner, type SoftwareDaaFiles } from './software-daa-signer.ts';
export { SoftwareDaaVerifier, type DaaGroup } from './software-daa-verifier.ts';
export { aeadNonce, suiteOps, type SuiteOps } from './suite-ops.ts';
export {
  buildIdentityCertificate,
  drawSerial,
  ecdsaRawToDer,
  formatIdentity,
  type IdentityCertificateOptions,
} from './x509.ts';
