// The agent's persistent state: the identity the server assigned, the long-term public key, the
// certificate, which server, and when. StateStore is the port; FileStateStore keeps one JSON file
// in the state directory (systemd StateDirectory=, /var/lib/xtt-agent).
// Crash safety (atomic-file.ts): the file is written to a temporary name, fsync'd, hard-linked to
// its final name (link(2) is atomic and refuses to replace an existing file), then the directory is
// fsync'd. A reader therefore sees either no file or a complete one, and a stored identity is never replaced:
// the identity is the device's for life. A file that exists but does not decode is a StateError
// naming what is wrong, and it is left in place for a human to look at.
import { join } from 'node:path';
import { AlreadyExistsError, createFileAtomically, readOptional } from '../common/fs-atomic.ts';
import { IdentityStoredError, StateError } from './errors.ts';

export const STATE_FILE = 'state.json';
const FORMAT_VERSION = 1;

export interface StoredIdentity {
  /** The 16-byte identity: an IPv6 address. */
  identity: Uint8Array;
  /** The device's long-term public key as sent in the handshake. */
  longtermPublicKey: Uint8Array;
  /** The server-issued certificate over the identity and long-term key, when the server sent one. */
  certificate?: Uint8Array;
  /** `host:port` of the server that provisioned us. */
  server: string;
  provisionedAt: Date;
}

export interface StateStore {
  /** The stored identity, undefined when none was stored yet; StateError when the file is corrupt. */
  load(): Promise<StoredIdentity | undefined>;
  /** Stores atomically; fails with StateError if an identity is already stored. */
  save(state: StoredIdentity): Promise<void>;
}

const HEX = /^(?:[0-9a-f]{2})*$/;
const KEYS = ['version', 'identity', 'longtermPublicKey', 'certificate', 'server', 'provisionedAt'];

export function encodeState(s: StoredIdentity): string {
  if (s.identity.length !== 16) throw new RangeError(`identity must be 16 bytes, got ${s.identity.length}`);
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  const doc: Record<string, unknown> = {
    version: FORMAT_VERSION,
    identity: hex(s.identity),
    longtermPublicKey: hex(s.longtermPublicKey),
    server: s.server,
    provisionedAt: s.provisionedAt.toISOString(),
  };
  if (s.certificate) doc.certificate = hex(s.certificate);
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Strict decoder: every field present with the right type and length, no unknown fields. */
export function decodeState(text: string, path: string): StoredIdentity {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StateError(path, `not valid JSON (truncated or corrupt, ${text.length} bytes)`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new StateError(path, 'not a JSON object');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new StateError(path, `unknown field ${k}`);
  if (o.version !== FORMAT_VERSION)
    throw new StateError(path, `version ${String(o.version)} is not ${FORMAT_VERSION}`);
  const bytes = (field: string, required: boolean): Uint8Array | undefined => {
    const v = o[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !HEX.test(v)) throw new StateError(path, `${field} is not lower-case hex`);
    return new Uint8Array(Buffer.from(v, 'hex'));
  };
  const identity = bytes('identity', true)!;
  if (identity.length !== 16) throw new StateError(path, `identity is ${identity.length} bytes, not 16`);
  const longtermPublicKey = bytes('longtermPublicKey', true)!;
  if (longtermPublicKey.length === 0) throw new StateError(path, 'longtermPublicKey is empty');
  const certificate = bytes('certificate', false);
  if (typeof o.server !== 'string' || o.server.length === 0) throw new StateError(path, 'server is missing');
  const at = typeof o.provisionedAt === 'string' ? new Date(o.provisionedAt) : undefined;
  if (!at || Number.isNaN(at.getTime()) || at.toISOString() !== o.provisionedAt) {
    throw new StateError(path, 'provisionedAt is not an ISO-8601 UTC timestamp');
  }
  const out: StoredIdentity = { identity, longtermPublicKey, server: o.server, provisionedAt: at };
  if (certificate) out.certificate = certificate;
  return out;
}

export class FileStateStore implements StateStore {
  readonly path: string;
  constructor(readonly dir: string) {
    this.path = join(dir, STATE_FILE);
  }

  async load(): Promise<StoredIdentity | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readOptional(this.path);
    } catch (e) {
      throw new StateError(this.path, `cannot read: ${(e as Error).message}`, { cause: e });
    }
    if (!bytes) return undefined;
    return decodeState(Buffer.from(bytes).toString('utf8'), this.path);
  }

  async save(state: StoredIdentity): Promise<void> {
    try {
      await createFileAtomically(this.dir, STATE_FILE, new TextEncoder().encode(encodeState(state)), 0o640);
    } catch (e) {
      if (e instanceof AlreadyExistsError) {
        throw new IdentityStoredError(this.path, { cause: e });
      }
      throw new StateError(this.path, `cannot store: ${(e as Error).message}`, { cause: e });
    }
  }
}
