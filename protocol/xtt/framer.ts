// Message framing for XTT 0.12 over a byte stream (vectors README, "Message layouts": peers read the
// 4-byte header, then length - 4 bytes). Pure: the TCP adapters feed it chunks. It checks the header
// as soon as it has 4 bytes (known type, that type's exact length, version 1, allowed in this state)
// so a bad peer is rejected before we buffer its payload; nothing beyond MAX_MESSAGE_LENGTH is held.
// XTT is strictly request/response, so bytes past the current message are a protocol violation.
import { DecodeError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.ts';
import { decodeHeader, MESSAGE_NAMES, type MessageHeader } from './messages.ts';

export type FrameResult =
  { kind: 'need'; bytes: number } | { kind: 'message'; header: MessageHeader; bytes: Uint8Array };

export class MessageFramer {
  #buf: Uint8Array = new Uint8Array(0);
  #header: MessageHeader | undefined;
  #expect: readonly number[];
  readonly #maxLength: number;

  constructor(opts: { expect: readonly number[]; maxLength?: number }) {
    this.#expect = opts.expect;
    this.#maxLength = opts.maxLength ?? MAX_MESSAGE_LENGTH;
  }

  /** Which message types the next frame may have (the state machine moves this along). */
  expect(types: readonly number[]): void {
    this.#expect = types;
  }

  /** Bytes still missing for the current frame (header first). */
  get needed(): number {
    return (this.#header?.length ?? HEADER_LENGTH) - this.#buf.length;
  }

  get buffered(): number {
    return this.#buf.length;
  }

  /** Adds bytes; returns the complete message or how many more bytes are needed. Throws DecodeError. */
  push(chunk: Uint8Array): FrameResult {
    let rest = chunk;
    for (;;) {
      const take = Math.min(this.needed, rest.length);
      this.#buf =
        this.#buf.length === 0 ? rest.slice(0, take) : concatBytes(this.#buf, rest.subarray(0, take));
      rest = rest.subarray(take);
      if (!this.#header && this.#buf.length === HEADER_LENGTH) {
        this.#header = this.#checkHeader(this.#buf);
        continue;
      }
      break;
    }
    const h = this.#header;
    if (!h || this.#buf.length < h.length) {
      if (rest.length > 0)
        throw new DecodeError('Frame', this.#buf.length, 'bytes beyond the current message');
      return { kind: 'need', bytes: this.needed };
    }
    if (rest.length > 0) throw new DecodeError('Frame', h.length, 'bytes beyond the current message');
    const bytes = this.#buf;
    this.#buf = new Uint8Array(0);
    this.#header = undefined;
    return { kind: 'message', header: h, bytes };
  }

  #checkHeader(b: Uint8Array): MessageHeader {
    const h = decodeHeader(b);
    if (h.length > this.#maxLength)
      throw new DecodeError('MessageHeader.length', 1, `exceeds ${this.#maxLength}`);
    if (!this.#expect.includes(h.type)) {
      throw new DecodeError(
        'MessageHeader.type',
        0,
        `${MESSAGE_NAMES[h.type] ?? 'unknown'} not expected here`,
      );
    }
    return h;
  }
}
