// XTT 0.12 identity-provisioning messages as the reference lays them out (vectors README, "Message
// layouts"): header = type 1 || length 2 (BE, whole message incl. header) || version 1, then
// suite_spec 2 for every message but Error. Decoders are strict: exact sizes, known types and
// suites, version 1, no trailing bytes. Encrypted parts are carried as opaque ciphertext || tag here;
// the plaintext codecs follow at the bottom.
import { DecodeError } from '../errors.ts';
import { ByteReader, concatBytes, u16be } from '../util/bytes.ts';
import {
  AEAD_TAG_LENGTH,
  CLIENT_INIT_LENGTH,
  COOKIE_LENGTH,
  DAA_SIGNATURE_LENGTH,
  ERROR_MSG_LENGTH,
  GID_LENGTH,
  HEADER_LENGTH,
  ICA_UNENCRYPTED_LENGTH,
  IDENTITY_CLIENT_ATTEST_LENGTH,
  IDENTITY_LENGTH,
  IDENTITY_SERVER_FINISHED_LENGTH,
  isSuiteSpec,
  MsgType,
  NONCE_C_LENGTH,
  P256_PUBLIC_KEY_LENGTH,
  P256_SIGNATURE_LENGTH,
  SERVER_CERTIFICATE_LENGTH,
  SERVER_INIT_AND_ATTEST_LENGTH,
  SIAA_UNENCRYPTED_LENGTH,
  type SuiteSpec,
  X25519_LENGTH,
  XTT_VERSION_ONE,
} from './constants.ts';

export interface MessageHeader {
  type: number;
  length: number;
  version: number;
}

/** Expected total length per type (all suites use the same sizes). */
export const MESSAGE_LENGTHS: Readonly<Record<number, number>> = {
  [MsgType.ClientInit]: CLIENT_INIT_LENGTH,
  [MsgType.ServerInitAndAttest]: SERVER_INIT_AND_ATTEST_LENGTH,
  [MsgType.Identity_ClientAttest]: IDENTITY_CLIENT_ATTEST_LENGTH,
  [MsgType.Identity_ServerFinished]: IDENTITY_SERVER_FINISHED_LENGTH,
  [MsgType.Error]: ERROR_MSG_LENGTH,
};

export const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  [MsgType.ClientInit]: 'ClientInit',
  [MsgType.ServerInitAndAttest]: 'ServerInitAndAttest',
  [MsgType.Identity_ClientAttest]: 'Identity_ClientAttest',
  [MsgType.Identity_ServerFinished]: 'Identity_ServerFinished',
  [MsgType.Error]: 'Error',
};

/** Reads and checks the 4-byte header: known type, the type's exact length, version 1. */
export function decodeHeader(b: Uint8Array): MessageHeader {
  const r = new ByteReader(b, 'MessageHeader');
  const type = r.u8('type');
  const length = r.u16('length');
  const version = r.u8('version');
  r.end();
  const expected = MESSAGE_LENGTHS[type];
  if (expected === undefined)
    throw new DecodeError('MessageHeader.type', 0, `unknown message type 0x${hex2(type)}`);
  if (length !== expected) {
    throw new DecodeError(
      'MessageHeader.length',
      1,
      `${MESSAGE_NAMES[type]} must be ${expected} bytes, says ${length}`,
    );
  }
  if (version !== XTT_VERSION_ONE)
    throw new DecodeError('MessageHeader.version', 3, `unsupported version ${version}`);
  return { type, length, version };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function header(type: MsgType, length: number): Uint8Array {
  return concatBytes(Uint8Array.of(type), u16be(length), Uint8Array.of(XTT_VERSION_ONE));
}

/** Header plus suite_spec: the 6-byte prefix every non-Error message starts with. */
export function messagePrefix(type: MsgType, suite: SuiteSpec): Uint8Array {
  const length = MESSAGE_LENGTHS[type];
  if (length === undefined) throw new RangeError(`unknown type ${type}`);
  return concatBytes(header(type, length), u16be(suite));
}

function readPrefix(b: Uint8Array, type: MsgType, name: string): { r: ByteReader; suite: SuiteSpec } {
  const expected = MESSAGE_LENGTHS[type]!;
  if (b.length !== expected)
    throw new DecodeError(name, Math.min(b.length, expected), `must be ${expected} bytes, got ${b.length}`);
  const h = decodeHeader(b.subarray(0, HEADER_LENGTH));
  if (h.type !== type)
    throw new DecodeError(`${name}.type`, 0, `expected 0x${hex2(type)}, got 0x${hex2(h.type)}`);
  const r = new ByteReader(b, name);
  r.bytes(HEADER_LENGTH, 'header');
  const suite = r.u16('suite_spec');
  if (!isSuiteSpec(suite))
    throw new DecodeError(`${name}.suite_spec`, 4, `unknown suite 0x${suite.toString(16)}`);
  return { r, suite };
}

// ClientInit (0x01, 70 B): header 6 || nonce_c 32 || dh_keyshare_c 32.
export interface ClientInit {
  suite: SuiteSpec;
  nonceC: Uint8Array;
  dhKeyshareC: Uint8Array;
}

export function encodeClientInit(m: ClientInit): Uint8Array {
  if (m.nonceC.length !== NONCE_C_LENGTH || m.dhKeyshareC.length !== X25519_LENGTH)
    throw new RangeError('ClientInit field sizes');
  return concatBytes(messagePrefix(MsgType.ClientInit, m.suite), m.nonceC, m.dhKeyshareC);
}

export function decodeClientInit(b: Uint8Array): ClientInit {
  const { r, suite } = readPrefix(b, MsgType.ClientInit, 'ClientInit');
  const nonceC = r.bytes(NONCE_C_LENGTH, 'nonce_c').slice();
  const dhKeyshareC = r.bytes(X25519_LENGTH, 'dh_keyshare_c').slice();
  r.end();
  return { suite, nonceC, dhKeyshareC };
}

// ServerInitAndAttest (0x02, 417 B): [header 6 || dh_keyshare_s 32 || cookie 130] || AEAD(cert 169 || sig 64) || tag.
export interface ServerInitAndAttest {
  suite: SuiteSpec;
  dhKeyshareS: Uint8Array;
  cookie: Uint8Array;
  /** ciphertext || tag of certificate || signature_s */
  sealed: Uint8Array;
  /** bytes [0:168], the AEAD associated data */
  unencrypted: Uint8Array;
}

export const SIAA_PLAINTEXT_LENGTH = SERVER_CERTIFICATE_LENGTH + P256_SIGNATURE_LENGTH;

export function encodeSiaaUnencrypted(
  suite: SuiteSpec,
  dhKeyshareS: Uint8Array,
  cookie: Uint8Array,
): Uint8Array {
  if (dhKeyshareS.length !== X25519_LENGTH || cookie.length !== COOKIE_LENGTH)
    throw new RangeError('ServerInitAndAttest field sizes');
  return concatBytes(messagePrefix(MsgType.ServerInitAndAttest, suite), dhKeyshareS, cookie);
}

export function decodeServerInitAndAttest(b: Uint8Array): ServerInitAndAttest {
  const { r, suite } = readPrefix(b, MsgType.ServerInitAndAttest, 'ServerInitAndAttest');
  const dhKeyshareS = r.bytes(X25519_LENGTH, 'dh_keyshare_s').slice();
  const cookie = r.bytes(COOKIE_LENGTH, 'server_cookie').slice();
  const sealed = r.bytes(SIAA_PLAINTEXT_LENGTH + AEAD_TAG_LENGTH, 'encrypted').slice();
  r.end();
  return { suite, dhKeyshareS, cookie, sealed, unencrypted: b.slice(0, SIAA_UNENCRYPTED_LENGTH) };
}

// Identity_ClientAttest (0x11, 750 B): [header 6 || cookie 130] || AEAD(598) || tag.
export interface IdentityClientAttest {
  suite: SuiteSpec;
  cookie: Uint8Array;
  sealed: Uint8Array;
  unencrypted: Uint8Array;
}

export const ICA_PLAINTEXT_LENGTH =
  P256_PUBLIC_KEY_LENGTH + GID_LENGTH + IDENTITY_LENGTH + P256_SIGNATURE_LENGTH + DAA_SIGNATURE_LENGTH;

export function encodeIcaUnencrypted(suite: SuiteSpec, cookie: Uint8Array): Uint8Array {
  if (cookie.length !== COOKIE_LENGTH) throw new RangeError('cookie must be 130 bytes');
  return concatBytes(messagePrefix(MsgType.Identity_ClientAttest, suite), cookie);
}

export function decodeIdentityClientAttest(b: Uint8Array): IdentityClientAttest {
  const { r, suite } = readPrefix(b, MsgType.Identity_ClientAttest, 'Identity_ClientAttest');
  const cookie = r.bytes(COOKIE_LENGTH, 'server_cookie').slice();
  const sealed = r.bytes(ICA_PLAINTEXT_LENGTH + AEAD_TAG_LENGTH, 'encrypted').slice();
  r.end();
  return { suite, cookie, sealed, unencrypted: b.slice(0, ICA_UNENCRYPTED_LENGTH) };
}

// Identity_ServerFinished (0x13, 103 B): [header 6] || AEAD(id 16 || longterm key 65) || tag.
export interface IdentityServerFinished {
  suite: SuiteSpec;
  sealed: Uint8Array;
  unencrypted: Uint8Array;
}

export const ISF_PLAINTEXT_LENGTH = IDENTITY_LENGTH + P256_PUBLIC_KEY_LENGTH;

export function decodeIdentityServerFinished(b: Uint8Array): IdentityServerFinished {
  const { r, suite } = readPrefix(b, MsgType.Identity_ServerFinished, 'Identity_ServerFinished');
  const sealed = r.bytes(ISF_PLAINTEXT_LENGTH + AEAD_TAG_LENGTH, 'encrypted').slice();
  r.end();
  return { suite, sealed, unencrypted: b.slice(0, 6) };
}

// Error (0x41, 4 B): 41 00 04 <version>. No suite, no reason, not encrypted.
export function encodeErrorMsg(): Uint8Array {
  return header(MsgType.Error, ERROR_MSG_LENGTH);
}

export function decodeErrorMsg(b: Uint8Array): { version: number } {
  if (b.length !== ERROR_MSG_LENGTH)
    throw new DecodeError('Error', Math.min(b.length, 4), `must be 4 bytes, got ${b.length}`);
  const h = decodeHeader(b);
  if (h.type !== MsgType.Error)
    throw new DecodeError('Error.type', 0, `expected 0x41, got 0x${hex2(h.type)}`);
  return { version: h.version };
}

// Plaintexts of the encrypted parts.
export interface SiaaPlaintext {
  certificate: Uint8Array;
  signatureS: Uint8Array;
}

export function encodeSiaaPlaintext(p: SiaaPlaintext): Uint8Array {
  if (p.certificate.length !== SERVER_CERTIFICATE_LENGTH || p.signatureS.length !== P256_SIGNATURE_LENGTH) {
    throw new RangeError('ServerInitAndAttest plaintext sizes');
  }
  return concatBytes(p.certificate, p.signatureS);
}

export function decodeSiaaPlaintext(b: Uint8Array): SiaaPlaintext {
  const r = new ByteReader(b, 'ServerInitAndAttest.plaintext');
  const certificate = r.bytes(SERVER_CERTIFICATE_LENGTH, 'certificate').slice();
  const signatureS = r.bytes(P256_SIGNATURE_LENGTH, 'signature_s').slice();
  r.end();
  return { certificate, signatureS };
}

export interface IcaPlaintext {
  longtermKey: Uint8Array;
  daaGid: Uint8Array;
  idC: Uint8Array;
  longtermSignature: Uint8Array;
  daaSignature: Uint8Array;
}

export function encodeIcaPlaintext(p: IcaPlaintext): Uint8Array {
  const out = concatBytes(p.longtermKey, p.daaGid, p.idC, p.longtermSignature, p.daaSignature);
  if (
    p.longtermKey.length !== P256_PUBLIC_KEY_LENGTH ||
    p.daaGid.length !== GID_LENGTH ||
    p.idC.length !== IDENTITY_LENGTH ||
    p.longtermSignature.length !== P256_SIGNATURE_LENGTH ||
    p.daaSignature.length !== DAA_SIGNATURE_LENGTH
  ) {
    throw new RangeError('Identity_ClientAttest plaintext sizes');
  }
  return out;
}

export function decodeIcaPlaintext(b: Uint8Array): IcaPlaintext {
  const r = new ByteReader(b, 'Identity_ClientAttest.plaintext');
  const longtermKey = r.bytes(P256_PUBLIC_KEY_LENGTH, 'longterm_key').slice();
  const daaGid = r.bytes(GID_LENGTH, 'daa_gid').slice();
  const idC = r.bytes(IDENTITY_LENGTH, 'id_c').slice();
  const longtermSignature = r.bytes(P256_SIGNATURE_LENGTH, 'longterm_signature').slice();
  const daaSignature = r.bytes(DAA_SIGNATURE_LENGTH, 'daa_signature').slice();
  r.end();
  return { longtermKey, daaGid, idC, longtermSignature, daaSignature };
}

export interface IsfPlaintext {
  id: Uint8Array;
  longtermKey: Uint8Array;
}

export function encodeIsfPlaintext(p: IsfPlaintext): Uint8Array {
  if (p.id.length !== IDENTITY_LENGTH || p.longtermKey.length !== P256_PUBLIC_KEY_LENGTH) {
    throw new RangeError('Identity_ServerFinished plaintext sizes');
  }
  return concatBytes(p.id, p.longtermKey);
}

export function decodeIsfPlaintext(b: Uint8Array): IsfPlaintext {
  const r = new ByteReader(b, 'Identity_ServerFinished.plaintext');
  const id = r.bytes(IDENTITY_LENGTH, 'id').slice();
  const longtermKey = r.bytes(P256_PUBLIC_KEY_LENGTH, 'longterm_key').slice();
  r.end();
  return { id, longtermKey };
}
