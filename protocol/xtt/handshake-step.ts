// What a sans-I/O handshake step asks its driver to do (STYLE.md, "Boundaries": bytes in, then
// bytes to send, a need-more-bytes count, a result or a typed error). The TCP adapters loop on it.
import { DecodeError, ProtocolError, ZtpError } from '../errors.ts';

export type HandshakeStep<R> =
  /** Read at least one more byte (`bytes` is exactly how many the current message still lacks). */
  | { kind: 'need'; bytes: number }
  /** Write `data`, then read (`bytes` more for the next message). */
  | { kind: 'send'; data: Uint8Array; bytes: number }
  /** Finished: write `data` if present, then close. */
  | { kind: 'done'; result: R; data?: Uint8Array }
  /** Failed: write `data` (an Error message) if present, then close. */
  | { kind: 'failed'; error: ProtocolError; data?: Uint8Array };

/** Maps any thrown value to a ProtocolError naming the stage (decode and crypto errors keep their cause). */
export function toProtocolError(e: unknown, stage: string): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof DecodeError) return new ProtocolError('BAD_MESSAGE', stage, e.message, { cause: e });
  if (e instanceof ZtpError) return new ProtocolError(e.code, stage, e.message, { cause: e });
  return new ProtocolError('INTERNAL', stage, 'unexpected failure', { cause: e });
}
