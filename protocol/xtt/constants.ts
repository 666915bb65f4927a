// XTT 0.12 wire constants as the reference xaptum/xtt 0.12.0 uses them (see
// test/vectors/xtt-0.12/README.md, "Message layouts" and "Where the reference differs from the
// draft": the type codes and suite names are the reference's, not draft-xaptum-xtt's).

export const XTT_VERSION_ONE = 0x01;

/** Message type codes (reference numbering; the draft's 0x11/0x12/0x13/0x15 are not used). */
export const MsgType = {
  ClientInit: 0x01,
  ServerInitAndAttest: 0x02,
  Identity_ClientAttest: 0x11,
  Identity_ServerFinished: 0x13,
  Error: 0x41,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** Suite specs 1..4 (the reference rejects the draft's null-cipher suites 5 and 6). */
export const SuiteSpec = {
  X25519_LRSW_ECDSAP256_CHACHA20POLY1305_SHA512: 0x0001,
  X25519_LRSW_ECDSAP256_CHACHA20POLY1305_BLAKE2B: 0x0002,
  X25519_LRSW_ECDSAP256_AES256GCM_SHA512: 0x0003,
  X25519_LRSW_ECDSAP256_AES256GCM_BLAKE2B: 0x0004,
} as const;
export type SuiteSpec = (typeof SuiteSpec)[keyof typeof SuiteSpec];
export const ALL_SUITES: readonly SuiteSpec[] = [1, 2, 3, 4];

export function isSuiteSpec(n: number): n is SuiteSpec {
  return n === 1 || n === 2 || n === 3 || n === 4;
}

// Field sizes (bytes).
export const HEADER_LENGTH = 4; // type, length (u16 BE, whole message), version
export const SUITE_LENGTH = 2;
export const NONCE_C_LENGTH = 32;
export const X25519_LENGTH = 32;
export const COOKIE_LENGTH = 130;
export const HASH_LENGTH = 64;
export const AEAD_KEY_LENGTH = 32;
export const AEAD_IV_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;
export const P256_PUBLIC_KEY_LENGTH = 65;
export const P256_SIGNATURE_LENGTH = 64;
export const ROOT_ID_LENGTH = 16;
export const IDENTITY_LENGTH = 16;
export const GID_LENGTH = 32;
export const DAA_SIGNATURE_LENGTH = 421;
export const SERVER_CERT_RESERVED_LENGTH = 24;
export const SERVER_CERTIFICATE_LENGTH = 169;
export const SERVER_CERTIFICATE_SIGNED_LENGTH = 105;
export const ROOT_CERTIFICATE_LENGTH = 81;

// Whole-message sizes (identical in all four suites).
export const CLIENT_INIT_LENGTH = 70;
export const SERVER_INIT_AND_ATTEST_LENGTH = 417;
export const SIAA_UNENCRYPTED_LENGTH = 168; // header 6 + dh_keyshare_s 32 + cookie 130
export const IDENTITY_CLIENT_ATTEST_LENGTH = 750;
export const ICA_UNENCRYPTED_LENGTH = 136; // header 6 + cookie 130
export const IDENTITY_SERVER_FINISHED_LENGTH = 103;
export const ERROR_MSG_LENGTH = 4;
/** Largest message either side ever reads (the framer's bound). */
export const MAX_MESSAGE_LENGTH = IDENTITY_CLIENT_ATTEST_LENGTH;

/** The all-zero id in Identity_ClientAttest asks the server to assign one. */
export const NULL_IDENTITY: Uint8Array = new Uint8Array(IDENTITY_LENGTH);

/** Key-schedule labels: ASCII, no NUL, no length prefix (reference behaviour). */
export const LABEL_CLIENT_KEY = 'XTT handshake client key';
export const LABEL_CLIENT_IV = 'XTT handshake client iv';
export const LABEL_SERVER_KEY = 'XTT handshake server key';
export const LABEL_SERVER_IV = 'XTT handshake server iv';

/** Default reserved field of `xtt genservercert`; clients ignore it. */
export const DEFAULT_SERVER_CERT_RESERVED = 'XAPTUMSERVER000199991231';
