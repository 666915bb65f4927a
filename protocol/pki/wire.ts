// The PKI enrollment wire format, version 1 (documented in server-stub/README.md, "PKI enrollment"),
// carried inside TLS 1.3. Each message: version u8 (1) | type u8 | length u16 big-endian | body.
//   0x01 Challenge      server -> client  nonce[32]; sent as soon as the TLS handshake completes
//   0x02 EnrollRequest  client -> server  proof u8 (1 tls-client-certificate, 2 signed-challenge),
//                                         count u8 (1..8), count x (length u16, DER certificate),
//                                         leaf first; proof 2 then signature[64] (ECDSA P-256 r || s)
//   0x03 Enrolled       server -> client  identity[16] (an IPv6 address), prefix length u8
//   0x04 Refused        server -> client  empty: every refusal looks the same (the reason is audited)
// Proof 1: the leaf is the certificate the client authenticated the TLS handshake with.
// Proof 2 (keys in a TPM, which OpenSSL cannot use in the handshake): the leaf's key signs
// SHA-256(bindingMessage), which covers the TLS exporter value (RFC 8446 7.5, label below), the
// server's nonce and the leaf's hash; a signature made for another TLS session is worthless here.
// Decoders are strict: exact lengths, known version and types, no trailing bytes.
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.ts';
import { ByteReader, concatBytes, u16be } from '../util/bytes.ts';

export const PKI_WIRE_VERSION = 1;
export const PKI_HEADER_LENGTH = 4;
export const PKI_MAX_BODY = 16 * 1024;
export const PKI_NONCE_LENGTH = 32;
export const PKI_MAX_CERTIFICATES = 8;
export const PKI_SIGNATURE_LENGTH = 64;
export const PKI_EXPORTER_LABEL = 'EXPORTER-enf-pki-enroll-v1';
export const PKI_EXPORTER_LENGTH = 32;
const BINDING_CONTEXT = new TextEncoder().encode('enf-pki-enroll v1\0');

export const PKI_MSG = { Challenge: 0x01, EnrollRequest: 0x02, Enrolled: 0x03, Refused: 0x04 } as const;
export const PKI_PROOF = { TlsClientCertificate: 1, SignedChallenge: 2 } as const;
export type PkiProof = (typeof PKI_PROOF)[keyof typeof PKI_PROOF];

export type PkiMessage =
  | { type: typeof PKI_MSG.Challenge; nonce: Uint8Array }
  | {
      type: typeof PKI_MSG.EnrollRequest;
      proof: PkiProof;
      /** DER certificates, the leaf first. */
      certificates: Uint8Array[];
      /** Present exactly when proof is SignedChallenge. */
      signature?: Uint8Array;
    }
  | { type: typeof PKI_MSG.Enrolled; identity: Uint8Array; prefixLength: number }
  | { type: typeof PKI_MSG.Refused };

function frame(type: number, body: Uint8Array): Uint8Array {
  if (body.length > PKI_MAX_BODY) throw new RangeError(`PKI message body ${body.length} > ${PKI_MAX_BODY}`);
  return concatBytes(Uint8Array.of(PKI_WIRE_VERSION, type), u16be(body.length), body);
}

export function encodePkiMessage(m: PkiMessage): Uint8Array {
  switch (m.type) {
    case PKI_MSG.Challenge:
      if (m.nonce.length !== PKI_NONCE_LENGTH) throw new RangeError('nonce must be 32 bytes');
      return frame(m.type, m.nonce);
    case PKI_MSG.EnrollRequest: {
      const n = m.certificates.length;
      if (n < 1 || n > PKI_MAX_CERTIFICATES) throw new RangeError(`1..${PKI_MAX_CERTIFICATES} certificates`);
      const hasSig = m.proof === PKI_PROOF.SignedChallenge;
      if (hasSig !== (m.signature !== undefined)) throw new RangeError('signature goes with proof 2 only');
      if (m.signature && m.signature.length !== PKI_SIGNATURE_LENGTH)
        throw new RangeError('signature is 64 bytes');
      const certs = m.certificates.map((c) => concatBytes(u16be(c.length), c));
      return frame(
        m.type,
        concatBytes(Uint8Array.of(m.proof, n), ...certs, m.signature ?? new Uint8Array(0)),
      );
    }
    case PKI_MSG.Enrolled:
      if (m.identity.length !== 16) throw new RangeError('identity must be 16 bytes');
      if (!Number.isInteger(m.prefixLength) || m.prefixLength < 1 || m.prefixLength > 128)
        throw new RangeError('prefix length 1..128');
      return frame(m.type, concatBytes(m.identity, Uint8Array.of(m.prefixLength)));
    case PKI_MSG.Refused:
      return frame(m.type, new Uint8Array(0));
  }
}

/** Decodes one whole message (header and body, nothing more). */
export function decodePkiMessage(bytes: Uint8Array): PkiMessage {
  const r = new ByteReader(bytes, 'PkiMessage');
  const version = r.u8('version');
  if (version !== PKI_WIRE_VERSION)
    throw new DecodeError('PkiMessage.version', 0, `unsupported version ${version}`);
  const type = r.u8('type');
  const length = r.u16('length');
  if (length > PKI_MAX_BODY) throw new DecodeError('PkiMessage.length', 2, `${length} > ${PKI_MAX_BODY}`);
  const body = new ByteReader(r.bytes(length, 'body'), 'PkiMessage.body');
  r.end();
  let m: PkiMessage;
  switch (type) {
    case PKI_MSG.Challenge:
      m = { type, nonce: body.bytes(PKI_NONCE_LENGTH, 'nonce').slice() };
      break;
    case PKI_MSG.EnrollRequest: {
      const proof = body.u8('proof');
      if (proof !== PKI_PROOF.TlsClientCertificate && proof !== PKI_PROOF.SignedChallenge)
        throw new DecodeError('EnrollRequest.proof', 4, `unknown proof ${proof}`);
      const count = body.u8('count');
      if (count < 1 || count > PKI_MAX_CERTIFICATES)
        throw new DecodeError(
          'EnrollRequest.count',
          5,
          `${count} certificates, expected 1..${PKI_MAX_CERTIFICATES}`,
        );
      const certificates: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const len = body.u16(`certificate[${i}].length`);
        if (len === 0)
          throw new DecodeError(`EnrollRequest.certificate[${i}]`, body.offset, 'empty certificate');
        certificates.push(body.bytes(len, `certificate[${i}]`).slice());
      }
      m = { type, proof, certificates };
      if (proof === PKI_PROOF.SignedChallenge)
        m.signature = body.bytes(PKI_SIGNATURE_LENGTH, 'signature').slice();
      break;
    }
    case PKI_MSG.Enrolled: {
      const identity = body.bytes(16, 'identity').slice();
      const prefixLength = body.u8('prefixLength');
      if (prefixLength < 1 || prefixLength > 128)
        throw new DecodeError('Enrolled.prefixLength', 20, `${prefixLength} is not 1..128`);
      m = { type, identity, prefixLength };
      break;
    }
    case PKI_MSG.Refused:
      m = { type };
      break;
    default:
      throw new DecodeError('PkiMessage.type', 1, `unknown type 0x${type.toString(16)}`);
  }
  body.end();
  return m;
}

/**
 * Sans-I/O framing over a byte stream: push what arrived, get whole messages. The header is checked
 * (version, length bound) as soon as it is complete, so an oversized peer is refused before its body
 * is buffered. Bytes beyond the one expected message are an error (the exchange is lock-step).
 */
export class PkiFramer {
  #buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): { kind: 'need'; bytes: number } | { kind: 'message'; message: PkiMessage } {
    this.#buf = concatBytes(this.#buf, chunk);
    if (this.#buf.length < PKI_HEADER_LENGTH)
      return { kind: 'need', bytes: PKI_HEADER_LENGTH - this.#buf.length };
    if (this.#buf[0] !== PKI_WIRE_VERSION)
      throw new DecodeError('PkiMessage.version', 0, `unsupported version ${this.#buf[0]}`);
    const length = (this.#buf[2]! << 8) | this.#buf[3]!;
    if (length > PKI_MAX_BODY) throw new DecodeError('PkiMessage.length', 2, `${length} > ${PKI_MAX_BODY}`);
    const total = PKI_HEADER_LENGTH + length;
    if (this.#buf.length < total) return { kind: 'need', bytes: total - this.#buf.length };
    if (this.#buf.length > total)
      throw new DecodeError('PkiMessage', total, 'bytes beyond the current message');
    const bytes = this.#buf;
    this.#buf = new Uint8Array(0);
    return { kind: 'message', message: decodePkiMessage(bytes) };
  }
}

/** What the leaf's key signs for proof 2 (the signer hashes it with SHA-256 once more, as ECDSA does). */
export function bindingMessage(exporter: Uint8Array, nonce: Uint8Array, leaf: Uint8Array): Uint8Array {
  if (exporter.length !== PKI_EXPORTER_LENGTH) throw new RangeError('exporter value must be 32 bytes');
  if (nonce.length !== PKI_NONCE_LENGTH) throw new RangeError('nonce must be 32 bytes');
  return concatBytes(BINDING_CONTEXT, exporter, nonce, sha256(leaf));
}
