// The embedded registry backend: SQLite on disk through better-sqlite3 (issue 5 "Registry").
// WAL journal, busy_timeout so several processes can share one file, foreign keys on, versioned
// migrations (sqlite-migrations.ts). Identity allocation runs in BEGIN IMMEDIATE transactions and the
// devices.identity UNIQUE constraint is the last line against handing one address out twice.
// better-sqlite3 is synchronous: a per-connection async mutex keeps one transaction's awaits from
// interleaving with other calls on the same connection.
// Group commit: withTransaction calls queued on one connection in the same event-loop turn share one
// BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT (a failing one rolls back alone). Each
// caller is answered only after the shared COMMIT, so with synchronous=FULL every answered decision
// is on disk, as before, while the fsync (about 5 ms here, on the event loop) is paid once per group
// instead of once per decision. If the COMMIT fails, every member of the group gets the error.
import { sha256 } from '@noble/hashes/sha2.js';
import Database from 'better-sqlite3';
import { concatBytes, fromHex } from '../../protocol/util/bytes.ts';
import { RegistryError, ValidationError } from './errors.ts';
import { parsePrefix64 } from './ipv6.ts';
import { migrate } from './sqlite-migrations.ts';
import { rowToBatch, rowToDevice, rowToNetwork, toBuffer, type Row } from './rows.ts';
import { SqliteTx } from './sqlite-rows.ts';
import {
  systemClock,
  type AuditEntry,
  type AuditFilter,
  type AuditPageFilter,
  type AuditInput,
  type Batch,
  type BatchSummary,
  type Clock,
  type Device,
  type DeviceFilter,
  type Network,
  type NewBatch,
  type Registry,
  type RegistryTx,
} from './registry.ts';
import {
  checkAuditFilter,
  checkAuditPageFilter,
  checkBytes,
  IDENTITY_LENGTH,
  checkDeviceFilter,
  checkGid,
  checkName,
  checkNetworkRef,
  checkNewBatch,
  checkPseudonym,
} from './validate.ts';

export interface SqliteRegistryOptions {
  clock?: Clock;
  /** How long a writer waits for another process's lock before failing (ms); default 10000. */
  busyTimeoutMs?: number;
  /**
   * 'full' (default): every commit is fsynced, nothing committed is lost even on power loss.
   * 'normal': WAL commits reach the OS but are fsynced at checkpoints; a killed process loses
   * nothing, an OS crash or power loss may lose the last commits (about 5 ms less per decision).
   */
  synchronous?: 'full' | 'normal';
  /** Refuse to create the file: it must exist (only `enf-server init` creates a registry). */
  mustExist?: boolean;
  /**
   * Run SQLite's `PRAGMA quick_check` (every page's b-tree structure, reading the whole file) before
   * using the file, so a registry damaged behind an intact header is refused at open, not mid-service.
   */
  isChecked?: boolean;
}

/** Translate SQLite failures into RegistryError (constraint violations: CONFLICT); others pass. */
function storageError(err: unknown, what: string): never {
  if (!(err instanceof Database.SqliteError)) throw err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    throw new RegistryError('CONFLICT', `${what}: ${(err as Error).message}`, { cause: err });
  }
  throw new RegistryError('STORAGE', `${what}: ${(err as Error).message}`, { cause: err });
}

/** `PRAGMA quick_check`: throws STORAGE naming the first problem SQLite reports. */
function checkIntegrity(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check(3)') as { quick_check: string }[];
  // One row may hold several lines ("*** in database main ***\nTree 9 page 9: ..."): keep one line each.
  const problems = rows
    .flatMap((r) => r.quick_check.split('\n'))
    .filter((m) => m !== 'ok' && !m.startsWith('***'))
    .slice(0, 3);
  if (problems.length > 0) {
    throw new RegistryError(
      'STORAGE',
      `registry ${path} is damaged (SQLite quick_check: ${problems.join('; ')}); restore it from a backup`,
    );
  }
}

/** Most withTransaction calls sharing one COMMIT (bounds the time the write lock is held). */
const MAX_GROUP = 64;

interface CommitGroup {
  members: { resolve: () => void; reject: (err: unknown) => void }[];
}

function asRegistryError(err: unknown, what: string): unknown {
  try {
    storageError(err, what);
  } catch (e) {
    return e;
  }
}

export class SqliteRegistry implements Registry {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private queue: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  /** The open group transaction, if any (see the file comment). */
  private group: CommitGroup | undefined;

  private constructor(
    db: Database.Database,
    clock: Clock,
    private readonly busyTimeoutMs: number,
  ) {
    this.db = db;
    this.clock = clock;
  }

  /** Open (creating if needed) the registry file and bring its schema up to date. */
  static open(path: string, options: SqliteRegistryOptions = {}): SqliteRegistry {
    let db: Database.Database | undefined;
    const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 10_000));
    try {
      db = new Database(path, { fileMustExist: options.mustExist ?? false });
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (options.isChecked) checkIntegrity(db, path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (err) {
      db?.close();
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('STORAGE', `opening registry ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new SqliteRegistry(db, options.clock ?? systemClock, busyTimeoutMs);
  }

  /**
   * Serialise work on this connection; `fn` runs after every earlier call has finished. Anything but
   * a grouped transaction first commits the open group, so it never runs inside someone's transaction.
   */
  private serial<T>(what: string, fn: () => T | Promise<T>, joinsGroup = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.isClosed) throw new RegistryError('STORAGE', `${what}: registry is closed`);
      try {
        if (!joinsGroup) this.commitGroup();
        return await fn();
      } catch (err) {
        storageError(err, what);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * BEGIN IMMEDIATE without blocking the event loop: SQLite's own busy handler would sleep the whole
   * thread, so a second connection in this process (or any await inside a transaction) could never
   * release the lock. Instead try with busy_timeout 0 and back off asynchronously until the deadline.
   */
  private async beginImmediate(what: string): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 1;
    this.db.pragma('busy_timeout = 0');
    try {
      for (;;) {
        try {
          this.db.exec('BEGIN IMMEDIATE');
          return;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (code !== 'SQLITE_BUSY' || Date.now() >= deadline) storageError(err, what);
          await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
          delay = Math.min(delay * 2, 50);
        }
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** A short write in its own immediate transaction. */
  private write<T>(what: string, fn: () => T): Promise<T> {
    return this.serial(what, async () => {
      await this.beginImmediate(what);
      try {
        const result = fn();
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  private resolveNetwork(ref: string | number): Network | undefined {
    const row = (
      typeof ref === 'number'
        ? this.db.prepare('SELECT * FROM networks WHERE id = ?').get(ref)
        : this.db.prepare('SELECT * FROM networks WHERE name = ?').get(ref)
    ) as Row | undefined;
    return row ? rowToNetwork(row) : undefined;
  }

  async addNetwork(input: { name: string; prefix: string }): Promise<Network> {
    const name = checkName(input?.name, 'network.name');
    const prefix = parsePrefix64(input.prefix, 'network.prefix');
    return this.write('network add', () => {
      if (this.resolveNetwork(name)) throw new RegistryError('CONFLICT', `network.name: '${name}' exists`);
      const clash = this.db.prepare('SELECT name FROM networks WHERE prefix = ?').get(toBuffer(prefix)) as
        Row | undefined;
      if (clash)
        throw new RegistryError('CONFLICT', `network.prefix: already used by '${String(clash.name)}'`);
      const at = this.clock.now();
      const info = this.db
        .prepare('INSERT INTO networks (name, prefix, created_at) VALUES (?, ?, ?)')
        .run(name, toBuffer(prefix), at);
      return { id: Number(info.lastInsertRowid), name, prefix: prefix.slice(), createdAt: at };
    });
  }

  async listNetworks(): Promise<Network[]> {
    return this.serial('network list', () =>
      (this.db.prepare('SELECT * FROM networks ORDER BY id').all() as Row[]).map(rowToNetwork),
    );
  }

  async getNetwork(ref: string | number): Promise<Network | undefined> {
    const r = checkNetworkRef(ref, 'network');
    return this.serial('network get', () => this.resolveNetwork(r));
  }

  async deleteNetwork(ref: string | number): Promise<Network> {
    const r = checkNetworkRef(ref, 'network');
    return this.write('network delete', () => {
      const net = this.resolveNetwork(r);
      if (!net) throw new RegistryError('NOT_FOUND', `network: no network '${r}'`);
      if (this.db.prepare('SELECT 1 FROM batches WHERE network_id = ? LIMIT 1').get(net.id)) {
        throw new RegistryError('CONFLICT', `network: '${net.name}' still has batches`);
      }
      this.db.prepare('DELETE FROM networks WHERE id = ?').run(net.id);
      return net;
    });
  }

  async addBatch(input: NewBatch): Promise<Batch> {
    checkNewBatch(input);
    const gid = sha256(concatBytes(input.gpk, input.basename));
    return this.write('batch add', () => {
      let networkId: number | null = null;
      if (input.network !== undefined) {
        const net = this.resolveNetwork(input.network);
        if (!net) throw new ValidationError('batch.network', `no network '${input.network}'`);
        networkId = net.id;
      }
      if (this.db.prepare('SELECT 1 FROM batches WHERE gid = ?').get(toBuffer(gid))) {
        throw new RegistryError('CONFLICT', 'batch.gpk: this GPK and basename are already registered');
      }
      if (this.db.prepare('SELECT 1 FROM batches WHERE name = ?').get(input.name)) {
        throw new RegistryError('CONFLICT', `batch.name: '${input.name}' exists`);
      }
      const at = this.clock.now();
      this.db
        .prepare(
          `INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'active', ?)`,
        )
        .run(
          toBuffer(gid),
          toBuffer(input.gpk),
          toBuffer(input.basename),
          input.name,
          networkId,
          input.size,
          at,
        );
      return rowToBatch(this.db.prepare('SELECT * FROM batches WHERE gid = ?').get(toBuffer(gid)) as Row);
    });
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    checkGid(gid);
    return this.serial('batch get', () => {
      const row = this.db.prepare('SELECT * FROM batches WHERE gid = ?').get(toBuffer(gid)) as
        Row | undefined;
      return row ? rowToBatch(row) : undefined;
    });
  }

  async findBatch(ref: string): Promise<Batch | undefined> {
    if (typeof ref !== 'string' || ref.length === 0) throw new ValidationError('batch', 'empty reference');
    if (/^[0-9a-fA-F]{64}$/.test(ref)) {
      const byGid = await this.getBatch(fromHex(ref, 'batch'));
      if (byGid) return byGid;
    }
    const name = checkName(ref, 'batch');
    return this.serial('batch find', () => {
      const row = this.db.prepare('SELECT * FROM batches WHERE name = ?').get(name) as Row | undefined;
      return row ? rowToBatch(row) : undefined;
    });
  }

  async listBatches(): Promise<BatchSummary[]> {
    return this.serial('batch list', () =>
      (
        this.db
          .prepare(
            `SELECT b.*, COUNT(d.pseudonym) AS devices,
                    COALESCE(SUM(d.status = 'revoked'), 0) AS revoked_devices
             FROM batches b LEFT JOIN devices d ON d.gid = b.gid
             GROUP BY b.gid ORDER BY b.created_at, b.name`,
          )
          .all() as Row[]
      ).map((r) => ({
        ...rowToBatch(r),
        devices: Number(r.devices),
        revokedDevices: Number(r.revoked_devices),
      })),
    );
  }

  private updateBatch(gid: Uint8Array, what: string, sql: string, ...args: unknown[]): Promise<Batch> {
    return this.write(what, () => {
      const info = this.db.prepare(sql).run(...args, toBuffer(gid));
      if (info.changes === 0) throw new RegistryError('NOT_FOUND', `${what}: no batch with this gid`);
      return rowToBatch(this.db.prepare('SELECT * FROM batches WHERE gid = ?').get(toBuffer(gid)) as Row);
    });
  }

  async setBatchNetwork(gid: Uint8Array, network: string | number): Promise<Batch> {
    checkGid(gid);
    const ref = checkNetworkRef(network, 'batch.network');
    const net = await this.getNetwork(ref);
    if (!net) throw new ValidationError('batch.network', `no network '${ref}'`);
    return this.updateBatch(gid, 'batch assign', 'UPDATE batches SET network_id = ? WHERE gid = ?', net.id);
  }

  async revokeBatch(gid: Uint8Array): Promise<Batch> {
    checkGid(gid);
    return this.updateBatch(gid, 'batch revoke', "UPDATE batches SET status = 'revoked' WHERE gid = ?");
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined> {
    checkGid(gid);
    checkPseudonym(pseudonym);
    return this.serial('device get', () => new SqliteTx(this.db, this.clock).getDeviceSync(gid, pseudonym));
  }

  async getDeviceByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    return this.serial('device get', () => {
      const row = this.db.prepare('SELECT * FROM devices WHERE identity = ?').get(toBuffer(identity)) as
        Row | undefined;
      return row ? rowToDevice(row) : undefined;
    });
  }

  async listDevices(filter: DeviceFilter = {}): Promise<Device[]> {
    checkDeviceFilter(filter);
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.gid) {
      where.push('gid = ?');
      args.push(toBuffer(filter.gid));
    }
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    const sql = `SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY first_handshake_at, identity`;
    return this.serial('device list', () => (this.db.prepare(sql).all(...args) as Row[]).map(rowToDevice));
  }

  private updateDevice(
    gid: Uint8Array,
    pseudonym: Uint8Array,
    what: string,
    sql: string,
    ...args: unknown[]
  ) {
    checkGid(gid);
    checkPseudonym(pseudonym);
    return this.write(what, () => {
      const info = this.db.prepare(sql).run(...args, toBuffer(gid), toBuffer(pseudonym));
      if (info.changes === 0) throw new RegistryError('NOT_FOUND', `${what}: no such device in this batch`);
      return new SqliteTx(this.db, this.clock).getDeviceSync(gid, pseudonym)!;
    });
  }

  async revokeDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device> {
    return this.updateDevice(
      gid,
      pseudonym,
      'device revoke',
      "UPDATE devices SET status = 'revoked' WHERE gid = ? AND pseudonym = ?",
    );
  }

  async setAllowRekey(gid: Uint8Array, pseudonym: Uint8Array, allow: boolean): Promise<Device> {
    if (typeof allow !== 'boolean') throw new ValidationError('allowRekey', 'not a boolean');
    return this.updateDevice(
      gid,
      pseudonym,
      'device allow-rekey',
      'UPDATE devices SET allow_rekey = ? WHERE gid = ? AND pseudonym = ?',
      allow ? 1 : 0,
    );
  }

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.write('audit append', () => new SqliteTx(this.db, this.clock).appendAuditSync(entry));
  }

  async queryAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    checkAuditFilter(filter);
    return this.serial('audit query', () => new SqliteTx(this.db, this.clock).queryAuditSync(filter));
  }

  async queryAuditPage(filter: AuditPageFilter): Promise<AuditEntry[]> {
    checkAuditPageFilter(filter);
    return this.serial('audit page', () => new SqliteTx(this.db, this.clock).queryAuditSync(filter));
  }

  /** COMMIT the open group and settle its members (the error goes to them, not to the caller). */
  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    let failure: unknown;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      failure = asRegistryError(err, 'transaction commit');
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } finally {
      for (const m of group.members) {
        if (failure === undefined) m.resolve();
        else m.reject(failure);
      }
    }
  }

  /** SQLite rolled the whole transaction back (e.g. an I/O error): the group's members are lost. */
  private failGroup(err: unknown): void {
    const group = this.group;
    this.group = undefined;
    const failure = asRegistryError(err, 'transaction');
    for (const m of group?.members ?? []) m.reject(failure);
  }

  async withTransaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    const { result, committed } = await this.serial(
      'transaction',
      async () => {
        if (!this.group) {
          await this.beginImmediate('transaction');
          this.group = { members: [] };
          // Commit once this turn's queued transactions have run: the commit queues behind them.
          setImmediate(() => {
            const p = this.queue.then(() => this.commitGroup());
            this.queue = p.catch(() => undefined); // commitGroup hands its errors to the members
          });
        }
        const group = this.group;
        this.db.exec('SAVEPOINT decision');
        const tx = new SqliteTx(this.db, this.clock);
        try {
          const value = await fn(tx);
          this.db.exec('RELEASE decision');
          const done = new Promise<void>((resolve, reject) => group.members.push({ resolve, reject }));
          // The caller awaits `done` a few microtasks later; a COMMIT failing before then must not
          // count as an unhandled rejection (it still reaches the caller through the await below).
          done.catch(() => undefined);
          if (group.members.length >= MAX_GROUP) this.commitGroup();
          return { result: value, committed: done };
        } catch (err) {
          if (this.db.inTransaction) {
            this.db.exec('ROLLBACK TO decision');
            this.db.exec('RELEASE decision');
          } else {
            this.failGroup(err);
          }
          throw err;
        } finally {
          tx.invalidate();
        }
      },
      true,
    );
    await committed;
    return result;
  }

  async close(): Promise<void> {
    await this.serial('close', () => {
      this.db.close();
    });
    this.isClosed = true;
  }
}
