// Command and response framing (TCG TPM 2.0 Library Part 1, 18 "Command/Response Structure";
// Part 1, 19.6 password authorizations). A command is header (tag, size, code) + handles +
// [authorizationSize + sessions] + parameters. A response is header (tag, size, rc) + handles +
// [parameterSize] + parameters + [sessions]. Every authorized command here uses the password session
// TPM_RS_PW with an empty nonce, attributes 0 and an empty password, exactly as the reference does
// (auth area 00000009 40000009 0000 00 0000); the TPM answers each with nonce, attributes, hmac.
import { DecodeError } from '../protocol/errors.ts';
import { ByteReader } from '../protocol/util/bytes.ts';
import { TPM_CC, TPM_RS_PW, TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS, type CommandName } from './constants.ts';
import { TpmError } from './errors.ts';
import { readTpm2b, TpmWriter } from './marshal.ts';

export const HEADER_SIZE = 10;

/** One marshaled command plus the parser of its response. Built by tpm/commands/*.ts. */
export interface TpmCommand<T> {
  readonly name: CommandName;
  readonly code: number;
  readonly bytes: Uint8Array;
  /** Parses a complete response; throws TpmError on a non-success code, DecodeError on bad bytes. */
  parse(response: Uint8Array): T;
}

export interface ResponseHeader {
  readonly tag: number;
  readonly size: number;
  readonly rc: number;
}

/** Header of a complete response: checks that the size field equals the byte count. */
export function readResponseHeader(response: Uint8Array): ResponseHeader {
  const r = new ByteReader(response, 'response');
  const tag = r.u16('tag');
  const size = r.u32('responseSize');
  const rc = r.u32('responseCode');
  if (tag !== TPM_ST_NO_SESSIONS && tag !== TPM_ST_SESSIONS) {
    throw new DecodeError('response.tag', 0, `bad tag 0x${tag.toString(16)}`);
  }
  if (size !== response.length) {
    throw new DecodeError('response.responseSize', 2, `size field ${size} but ${response.length} bytes`);
  }
  return { tag, size, rc };
}

/** The empty password session, once per authorized handle. */
export function passwordAuthArea(count: number): Uint8Array {
  const w = new TpmWriter();
  for (let i = 0; i < count; i++) w.u32(TPM_RS_PW).u16(0).u8(0).u16(0);
  const body = w.finish();
  return new TpmWriter().u32(body.length).bytes(body).finish();
}

export interface CommandSpec<T> {
  readonly handles: readonly number[];
  /** Number of handles that need authorization (password sessions sent); 0 = TPM_ST_NO_SESSIONS. */
  readonly authCount: number;
  readonly params: Uint8Array;
  /** Handles in the response (Load, CreatePrimary: 1). */
  readonly responseHandles: number;
  readonly parseParams: (r: ByteReader, handles: number[]) => T;
}

export function buildCommand<T>(name: CommandName, spec: CommandSpec<T>): TpmCommand<T> {
  const code = TPM_CC[name];
  const hasSessions = spec.authCount > 0;
  const w = new TpmWriter();
  for (const h of spec.handles) w.u32(h);
  if (hasSessions) w.bytes(passwordAuthArea(spec.authCount));
  w.bytes(spec.params);
  const body = w.finish();
  const bytes = new TpmWriter()
    .u16(hasSessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS)
    .u32(HEADER_SIZE + body.length)
    .u32(code)
    .bytes(body)
    .finish();
  return {
    name,
    code,
    bytes,
    parse(response: Uint8Array): T {
      const header = readResponseHeader(response);
      if (header.rc !== 0) {
        if (response.length !== HEADER_SIZE) {
          throw new DecodeError(
            'response',
            HEADER_SIZE,
            `error response carries ${response.length - HEADER_SIZE} extra bytes`,
          );
        }
        throw new TpmError(name, header.rc);
      }
      const expectedTag = hasSessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS;
      if (header.tag !== expectedTag) {
        throw new DecodeError(
          'response.tag',
          0,
          `tag 0x${header.tag.toString(16)} for a command sent with 0x${expectedTag.toString(16)}`,
        );
      }
      const r = new ByteReader(response, name);
      r.bytes(HEADER_SIZE, 'header');
      const handles: number[] = [];
      for (let i = 0; i < spec.responseHandles; i++) handles.push(r.u32('handle'));
      let params: ByteReader;
      if (hasSessions) {
        const at = r.offset;
        const parameterSize = r.u32('parameterSize');
        if (parameterSize > r.remaining) {
          throw new DecodeError(
            `${name}.parameterSize`,
            at,
            `${parameterSize} exceeds the ${r.remaining} bytes left`,
          );
        }
        params = new ByteReader(r.bytes(parameterSize, 'parameters'), `${name}.parameters`);
      } else {
        params = new ByteReader(r.rest('parameters'), `${name}.parameters`);
      }
      const out = spec.parseParams(params, handles);
      params.end();
      if (hasSessions) {
        for (let i = 0; i < spec.authCount; i++) {
          readTpm2b(r, 'session.nonce', 64);
          r.u8('session.attributes');
          readTpm2b(r, 'session.hmac', 64);
        }
        r.end();
      }
      return out;
    },
  };
}
