// The project's error hierarchy (../shared/STYLE.md "Errors"): one base class with a stable string
// `code`, one subclass per layer. Messages name the field and stage, never secret bytes.

/** Base of every error this project throws on purpose. `code` is stable and documented. */
export class ZtpError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Malformed bytes: names the field being decoded and the byte offset where it failed. */
export class DecodeError extends ZtpError {
  readonly field: string;
  readonly offset: number;
  /** What was wrong, without the field and offset (for messages that name a file instead). */
  readonly reason: string;
  constructor(field: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super('DECODE', `${field} at offset ${offset}: ${reason}`, options);
    this.field = field;
    this.offset = offset;
    this.reason = reason;
  }
}

/** A cryptographic check failed (bad signature, bad proof, point not in group, revoked key). */
export class CryptoError extends ZtpError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The handshake failed at a named stage (ClientInit, ServerInitAndAttest, ...). */
export class ProtocolError extends ZtpError {
  readonly stage: string;
  constructor(code: string, stage: string, message: string, options?: { cause?: unknown }) {
    super(code, `${stage}: ${message}`, options);
    this.stage = stage;
  }
}
