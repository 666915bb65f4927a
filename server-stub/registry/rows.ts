// Row -> domain mapping shared by the SQLite and PostgreSQL registries. Both drivers hand binary
// columns over as Buffers (BLOB, bytea); they are copied into plain Uint8Arrays so callers never
// share the driver's memory. Integers may arrive as numbers (SQLite) or strings (PostgreSQL
// bigint), booleans as 0/1 (SQLite) or true/false (PostgreSQL).
import { RegistryError } from './errors.ts';
import type {
  AuditEntry,
  AuditOutcome,
  Batch,
  BatchStatus,
  Device,
  DeviceStatus,
  Network,
  Organization,
} from './registry.ts';

export type Row = Record<string, unknown>;

/** A Uint8Array as a Buffer view, the form both drivers bind as a binary parameter. */
export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new RegistryError('STORAGE', 'expected a binary column');
  return new Uint8Array(v);
}

function bytesOrNull(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : bytes(v);
}

const isTrue = (v: unknown): boolean => v === true || Number(v) === 1;

export function rowToOrganization(r: Row): Organization {
  return { id: Number(r.id), name: String(r.name), createdAt: Number(r.created_at) };
}

export function rowToNetwork(r: Row): Network {
  return {
    id: Number(r.id),
    organizationId: Number(r.organization_id),
    name: String(r.name),
    prefix: bytes(r.prefix),
    createdAt: Number(r.created_at),
  };
}

export function rowToBatch(r: Row): Batch {
  return {
    gid: bytes(r.gid),
    organizationId: Number(r.organization_id),
    gpk: bytes(r.gpk),
    basename: bytes(r.basename),
    name: String(r.name),
    networkId: r.network_id === null ? null : Number(r.network_id),
    size: Number(r.size),
    status: String(r.status) as BatchStatus,
    createdAt: Number(r.created_at),
  };
}

export function rowToDevice(r: Row): Device {
  return {
    gid: bytes(r.gid),
    pseudonym: bytes(r.pseudonym),
    identity: bytes(r.identity),
    longtermPublicKey: bytes(r.longterm_public_key),
    status: String(r.status) as DeviceStatus,
    allowRekey: isTrue(r.allow_rekey),
    firstHandshakeAt: Number(r.first_handshake_at),
    lastHandshakeAt: Number(r.last_handshake_at),
    handshakeCount: Number(r.handshake_count),
    lastSource: r.last_source === null ? null : String(r.last_source),
  };
}

export function rowToAudit(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    sourceAddress: String(r.source_address),
    sourcePort: Number(r.source_port),
    gid: bytesOrNull(r.gid),
    pseudonym: bytesOrNull(r.pseudonym),
    suite: r.suite === null ? null : Number(r.suite),
    outcome: String(r.outcome) as AuditOutcome,
    reason: String(r.reason),
    geolocation: r.geolocation === null ? null : String(r.geolocation),
    identity: bytesOrNull(r.identity),
    ...(r.method === 'pki'
      ? {
          pki: {
            caId: r.ca_id === null ? null : Number(r.ca_id),
            subject: textOrNull(r.cert_subject),
            serial: textOrNull(r.cert_serial),
            fingerprint: textOrNull(r.cert_fingerprint),
            keyFingerprint: textOrNull(r.key_fingerprint),
          },
        }
      : {}),
  };
}

function textOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
