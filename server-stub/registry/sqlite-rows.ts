// The in-transaction operations (RegistryTx) of the SQLite registry; rows become domain objects
// through rows.ts, shared with the PostgreSQL backend.
import type Database from 'better-sqlite3';
import { RegistryError, ValidationError } from './errors.ts';
import { rowToAudit, rowToBatch, rowToDevice, rowToNetwork, toBuffer, type Row } from './rows.ts';
import type {
  AuditEntry,
  AuditPageFilter,
  AuditInput,
  Batch,
  Clock,
  Device,
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
      .get(toBuffer(gid), toBuffer(pseudonym)) as Row | undefined;
    return row ? rowToDevice(row) : undefined;
  }

  appendAuditSync(e: AuditInput): AuditEntry {
    checkAuditInput(e);
    const at = this.clock.now();
    const n = (b: Uint8Array | null): Buffer | null => (b === null ? null : toBuffer(b));
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
    if (f.gid) add('gid = ?', toBuffer(f.gid));
    if (f.pseudonym) add('pseudonym = ?', toBuffer(f.pseudonym));
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.beforeId !== undefined) add('id < ?', f.beforeId);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 100) as Row[]).map(rowToAudit);
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    this.live();
    checkGid(gid);
    const row = this.db.prepare('SELECT * FROM batches WHERE gid = ?').get(toBuffer(gid)) as Row | undefined;
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
    const r = this.db.prepare('SELECT COUNT(*) AS n FROM devices WHERE gid = ?').get(toBuffer(gid)) as Row;
    return Number(r.n);
  }

  async findByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    const row = this.db.prepare('SELECT * FROM devices WHERE identity = ?').get(toBuffer(identity)) as
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
      .run(
        toBuffer(d.gid),
        toBuffer(d.pseudonym),
        toBuffer(d.identity),
        toBuffer(d.longtermPublicKey),
        at,
        at,
        d.source,
      );
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
      .run(this.clock.now(), source, toBuffer(gid), toBuffer(pseudonym));
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
      .run(toBuffer(key), toBuffer(gid), toBuffer(pseudonym));
    if (info.changes === 0) {
      throw new ValidationError('device.allowRekey', 'device is unknown or not allowed to re-key');
    }
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    this.live();
    return this.appendAuditSync(e);
  }
}
