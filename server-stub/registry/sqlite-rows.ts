// Row mapping and the in-transaction operations of the SQLite registry (RegistryTx). Blobs leave
// SQLite as Buffers and are copied into plain Uint8Arrays so callers never share SQLite's memory.
import type Database from 'better-sqlite3';
import { RegistryError, ValidationError } from './errors.ts';
import type {
  AuditEntry,
  AuditPageFilter,
  AuditInput,
  AuditOutcome,
  Batch,
  BatchStatus,
  Clock,
  Device,
  DeviceStatus,
  Network,
  NewDevice,
  RegistryTx,
} from './registry.ts';
import {
  checkAuditInput,
  checkBytes,
  checkGid,
  checkLongtermKey,
  checkNewDevice,
  checkPseudonym,
  checkSource,
  IDENTITY_LENGTH,
} from './validate.ts';

export type Row = Record<string, unknown>;

/** A Uint8Array as a Buffer view (better-sqlite3 binds Buffers as BLOBs). */
export function blob(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new RegistryError('STORAGE', 'expected a BLOB column');
  return new Uint8Array(v);
}

function bytesOrNull(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : bytes(v);
}

export function rowToNetwork(r: Row): Network {
  return { id: Number(r.id), name: String(r.name), prefix: bytes(r.prefix), createdAt: Number(r.created_at) };
}

export function rowToBatch(r: Row): Batch {
  return {
    gid: bytes(r.gid),
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
    allowRekey: Number(r.allow_rekey) === 1,
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
  };
}

/**
 * RegistryTx over one SQLite connection. The Sync methods are also used by SqliteRegistry outside
 * transactions; the async RegistryTx methods refuse to run once the transaction has ended.
 */
export class SqliteTx implements RegistryTx {
  private isLive = true;
  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {}

  invalidate(): void {
    this.isLive = false;
  }

  private live(): void {
    if (!this.isLive) throw new RegistryError('STORAGE', 'transaction already ended');
  }

  getDeviceSync(gid: Uint8Array, pseudonym: Uint8Array): Device | undefined {
    const row = this.db
      .prepare('SELECT * FROM devices WHERE gid = ? AND pseudonym = ?')
      .get(blob(gid), blob(pseudonym)) as Row | undefined;
    return row ? rowToDevice(row) : undefined;
  }

  appendAuditSync(e: AuditInput): AuditEntry {
    checkAuditInput(e);
    const at = this.clock.now();
    const n = (b: Uint8Array | null): Buffer | null => (b === null ? null : blob(b));
    const info = this.db
      .prepare(
        `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason,
                            geolocation, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        at,
        e.sourceAddress,
        e.sourcePort,
        n(e.gid),
        n(e.pseudonym),
        e.suite,
        e.outcome,
        e.reason,
        e.geolocation,
        n(e.identity),
      );
    return rowToAudit(this.db.prepare('SELECT * FROM audit WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  /** Newest first; the Registry's queryAudit and queryAuditPage (callers validate `f`). */
  queryAuditSync(f: Omit<AuditPageFilter, 'limit'> & { limit?: number }): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      args.push(v);
    };
    if (f.since !== undefined) add('at >= ?', f.since);
    if (f.until !== undefined) add('at < ?', f.until);
    if (f.gid) add('gid = ?', blob(f.gid));
    if (f.pseudonym) add('pseudonym = ?', blob(f.pseudonym));
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.beforeId !== undefined) add('id < ?', f.beforeId);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 100) as Row[]).map(rowToAudit);
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    this.live();
    checkGid(gid);
    const row = this.db.prepare('SELECT * FROM batches WHERE gid = ?').get(blob(gid)) as Row | undefined;
    return row ? rowToBatch(row) : undefined;
  }

  async getNetwork(id: number): Promise<Network | undefined> {
    this.live();
    const row = this.db.prepare('SELECT * FROM networks WHERE id = ?').get(id) as Row | undefined;
    return row ? rowToNetwork(row) : undefined;
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    return this.getDeviceSync(gid, pseudonym);
  }

  async countDevices(gid: Uint8Array): Promise<number> {
    this.live();
    checkGid(gid);
    const r = this.db.prepare('SELECT COUNT(*) AS n FROM devices WHERE gid = ?').get(blob(gid)) as Row;
    return Number(r.n);
  }

  async findByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    const row = this.db.prepare('SELECT * FROM devices WHERE identity = ?').get(blob(identity)) as
      Row | undefined;
    return row ? rowToDevice(row) : undefined;
  }

  async insertDevice(d: NewDevice): Promise<Device> {
    this.live();
    checkNewDevice(d);
    const at = this.clock.now();
    this.db
      .prepare(
        `INSERT INTO devices (gid, pseudonym, identity, longterm_public_key, status, allow_rekey,
                              first_handshake_at, last_handshake_at, handshake_count, last_source)
         VALUES (?, ?, ?, ?, 'active', 0, ?, ?, 1, ?)`,
      )
      .run(blob(d.gid), blob(d.pseudonym), blob(d.identity), blob(d.longtermPublicKey), at, at, d.source);
    return this.getDeviceSync(d.gid, d.pseudonym)!;
  }

  async touchDevice(gid: Uint8Array, pseudonym: Uint8Array, source: string): Promise<void> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkSource(source, 'device.source');
    const info = this.db
      .prepare(
        `UPDATE devices SET last_handshake_at = ?, handshake_count = handshake_count + 1, last_source = ?
         WHERE gid = ? AND pseudonym = ?`,
      )
      .run(this.clock.now(), source, blob(gid), blob(pseudonym));
    if (info.changes === 0) throw new RegistryError('NOT_FOUND', 'device touch: no such device');
  }

  async rekeyDevice(gid: Uint8Array, pseudonym: Uint8Array, key: Uint8Array): Promise<void> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkLongtermKey(key, 'device.longtermPublicKey');
    const info = this.db
      .prepare(
        `UPDATE devices SET longterm_public_key = ?, allow_rekey = 0
         WHERE gid = ? AND pseudonym = ? AND allow_rekey = 1`,
      )
      .run(blob(key), blob(gid), blob(pseudonym));
    if (info.changes === 0) {
      throw new ValidationError('device.allowRekey', 'device is unknown or not allowed to re-key');
    }
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    this.live();
    return this.appendAuditSync(e);
  }
}
