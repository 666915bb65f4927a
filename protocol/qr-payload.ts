// The text carried by a batch's QR label: everything a customer needs to enable the batch on a
// network (the group public key, the basename the devices sign with, and the batch name). Shared by
// the factory (which renders the label) and the server (which decodes a scanned label).
//
//   XTT1:<base64url GPK (258 B)>:<base64url basename>:<base64url UTF-8 name>
//
// base64url never contains ':' so the fields split unambiguously; the version prefix lets the format
// evolve. The QR code's own error correction protects the bytes; the GPK is checked again by the
// ECDAA decoder on the server.
import { DecodeError } from './errors.ts';

export const QR_PAYLOAD_PREFIX = 'XTT1';
export const QR_GPK_LENGTH = 258;
export const QR_MAX_BASENAME_LENGTH = 128;
export const QR_MAX_NAME_LENGTH = 64;

export interface BatchLabel {
  gpk: Uint8Array;
  basename: Uint8Array;
  name: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

function unb64(text: string, field: string, offset: number): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) {
    throw new DecodeError(`QrPayload.${field}`, offset, 'not base64url');
  }
  const out = new Uint8Array(Buffer.from(text, 'base64url'));
  if (b64(out) !== text) throw new DecodeError(`QrPayload.${field}`, offset, 'non-canonical base64url');
  return out;
}

export function encodeQrPayload(label: BatchLabel): string {
  if (label.gpk.length !== QR_GPK_LENGTH) throw new RangeError(`GPK must be ${QR_GPK_LENGTH} bytes`);
  if (label.basename.length === 0 || label.basename.length > QR_MAX_BASENAME_LENGTH) {
    throw new RangeError(`basename must be 1..${QR_MAX_BASENAME_LENGTH} bytes`);
  }
  const name = new TextEncoder().encode(label.name);
  if (name.length > QR_MAX_NAME_LENGTH)
    throw new RangeError(`name must be at most ${QR_MAX_NAME_LENGTH} bytes`);
  return [QR_PAYLOAD_PREFIX, b64(label.gpk), b64(label.basename), b64(name)].join(':');
}

/** Strict decoder: exact prefix, four fields, exact GPK length, bounded basename and name. */
export function decodeQrPayload(text: string): BatchLabel {
  const trimmed = text.trim();
  const parts = trimmed.split(':');
  if (parts[0] !== QR_PAYLOAD_PREFIX) {
    throw new DecodeError('QrPayload.prefix', 0, `expected "${QR_PAYLOAD_PREFIX}:", not an XTT batch label`);
  }
  if (parts.length !== 4) throw new DecodeError('QrPayload', 0, `expected 4 fields, got ${parts.length}`);
  const offsets = [0];
  for (let i = 1; i < parts.length; i++) offsets.push(offsets[i - 1]! + parts[i - 1]!.length + 1);
  const gpk = unb64(parts[1]!, 'gpk', offsets[1]!);
  if (gpk.length !== QR_GPK_LENGTH) {
    throw new DecodeError(
      'QrPayload.gpk',
      offsets[1]!,
      `GPK is ${gpk.length} bytes, expected ${QR_GPK_LENGTH}`,
    );
  }
  const basename = unb64(parts[2]!, 'basename', offsets[2]!);
  if (basename.length === 0 || basename.length > QR_MAX_BASENAME_LENGTH) {
    throw new DecodeError(
      'QrPayload.basename',
      offsets[2]!,
      `basename length ${basename.length} out of range`,
    );
  }
  const nameBytes = unb64(parts[3]!, 'name', offsets[3]!);
  if (nameBytes.length > QR_MAX_NAME_LENGTH) {
    throw new DecodeError('QrPayload.name', offsets[3]!, `name longer than ${QR_MAX_NAME_LENGTH} bytes`);
  }
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
  } catch (cause) {
    throw new DecodeError('QrPayload.name', offsets[3]!, 'name is not valid UTF-8', { cause });
  }
  return { gpk, basename, name };
}
