// The embedded registry backend: SQLite on disk through better-sqlite3, under the shared rules of
// sql-registry.ts; this file holds only the SQLite driver.
// WAL journal, busy_timeout so several processes can share one file, foreign keys on, versioned
// migrations (schema.ts). Identity allocation runs in BEGIN IMMEDIATE transactions and the
// devices.identity UNIQUE constraint is the last line against handing one address out twice.
// better-sqlite3 is synchronous: a per-connection async mutex keeps one transaction's awaits from
// interleaving with other calls on the same connection.
// Group commit: withTransaction calls queued on one connection in the same event-loop turn share one
// BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT (a failing one rolls back alone). Each
// caller is answered only after the shared COMMIT, so with synchronous=FULL every answered decision
// is on disk, as before, while the fsync (about 5 ms here, on the event loop) is paid once per group
// instead of once per decision. If the COMMIT fails, every member of the group gets the error.
import Database from 'better-sqlite3';
import {
  storageError as toRegistryError,
  type Dialect,
  type SqlConn,
  type SqlDriver,
  type TxKind,
  WriteScopes,
} from './driver.ts';
import { RegistryError } from './errors.ts';
import type { Row } from './rows.ts';
import { systemClock, type Clock } from './registry.ts';
import { MIGRATIONS, pendingMigrations, type Migration } from './schema.ts';
import { SqlRegistry } from './sql-registry.ts';
import { SerialQueue } from '../../protocol/util/serial-queue.ts';

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
  toRegistryError(err, what, err.code.startsWith('SQLITE_CONSTRAINT') ? 'conflict' : 'storage');
}

/** `PRAGMA quick_check`: throws STORAGE naming the first problem SQLite reports. */
function checkIntegrity(db: Database.Database, path: string): void {
  let rows: { quick_check: string }[];
  try {
    rows = db.pragma('quick_check(3)') as { quick_check: string }[];
  } catch (err) {
    // Damage that stops the check itself (SQLITE_CORRUPT, SQLITE_NOTADB) is reported the same way.
    if (!(err instanceof Database.SqliteError) || !/^SQLITE_(CORRUPT|NOTADB)/.test(err.code)) throw err;
    rows = [{ quick_check: err.message }];
  }
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

function asRegistryError(err: unknown, what: string): unknown {
  try {
    storageError(err, what);
  } catch (e) {
    return e;
  }
}

const SQLITE_DIALECT: Dialect = {
  name: 'sqlite',
  countIf: (cond) => `COALESCE(SUM(${cond}), 0)`,
};

/** SQLite binds no booleans: 1 and 0, as the schema's CHECK (allow_rekey IN (0, 1)) expects. */
const bind = (args: readonly unknown[]): unknown[] =>
  args.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));

/** Most withTransaction calls sharing one COMMIT (bounds the time the write lock is held). */
const MAX_GROUP = 64;

interface CommitGroup {
  members: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** Apply every pending migration in one BEGIN IMMEDIATE (two servers opening a fresh file apply each once). */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  db.exec('BEGIN IMMEDIATE');
  try {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of pendingMigrations(row.v ?? 0, migrations)) {
      if (m.sqlite) db.exec(m.sqlite);
      record.run(m.version, m.name, Date.now());
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** The SQL driver over one better-sqlite3 connection: a serial queue, BEGIN IMMEDIATE, group commit. */
class SqliteDriver implements SqlDriver {
  readonly dialect = SQLITE_DIALECT;
  private readonly queue = new SerialQueue();
  private isClosed = false;
  /** The open group transaction, if any (see the file comment). */
  private group: CommitGroup | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  /** The write transaction the current call chain is inside, if any (driver.ts). */
  private readonly scopes = new WriteScopes();
  private readonly conn: SqlConn = {
    all: async (sql, args = []) => this.statement(sql).all(...bind(args)) as Row[],
    get: async (sql, args = []) => this.statement(sql).get(...bind(args)) as Row | undefined,
    run: async (sql, args = []) => this.statement(sql).run(...bind(args)).changes,
    // BEGIN IMMEDIATE already excludes every other writer on the file.
    lockBatch: async () => undefined,
  };

  constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  /** Prepared statements are kept: the handshake path runs the same few thousands of times. */
  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * A transaction-control statement or pragma, prepared once like the others (db.exec and db.pragma
   * parse the text on every call; a handshake runs about six of these).
   */
  private control(sql: string): void {
    const s = this.statement(sql);
    if (s.reader) s.get();
    else s.run();
  }

  run<T>(kind: TxKind, what: string, fn: (c: SqlConn) => Promise<T>): Promise<T> {
    // Inside a write this connection's queue is held by that write: join it, never queue behind it.
    if (this.scopes.isInside()) return this.scopes.join(kind, what, fn, storageError);
    if (kind === 'read') return this.serial(what, () => fn(this.conn));
    if (kind === 'write') return this.write(what, () => this.scopes.open(this.conn, fn));
    return this.decision(fn);
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
    return this.queue.run(run);
  }

  /**
   * BEGIN IMMEDIATE without blocking the event loop: SQLite's own busy handler would sleep the whole
   * thread, so a second connection in this process (or any await inside a transaction) could never
   * release the lock. Instead try with busy_timeout 0 and back off asynchronously until the deadline.
   */
  private async beginImmediate(what: string): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 1;
    this.control('PRAGMA busy_timeout = 0');
    try {
      for (;;) {
        try {
          this.control('BEGIN IMMEDIATE');
          return;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (code !== 'SQLITE_BUSY' || Date.now() >= deadline) storageError(err, what);
          await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
          delay = Math.min(delay * 2, 50);
        }
      }
    } finally {
      this.control(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** A short write in its own immediate transaction. */
  private write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.serial(what, async () => {
      await this.beginImmediate(what);
      try {
        const result = await fn();
        this.control('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.control('ROLLBACK');
        throw err;
      }
    });
  }

  /** COMMIT the open group and settle its members (the error goes to them, not to the caller). */
  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    let failure: unknown;
    try {
      this.control('COMMIT');
    } catch (err) {
      failure = asRegistryError(err, 'transaction commit');
      if (this.db.inTransaction) this.control('ROLLBACK');
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

  private async decision<T>(fn: (c: SqlConn) => Promise<T>): Promise<T> {
    const { result, committed } = await this.serial(
      'transaction',
      async () => {
        if (!this.group) {
          await this.beginImmediate('transaction');
          this.group = { members: [] };
          // Commit once this turn's queued transactions have run: the commit queues behind them.
          setImmediate(() => {
            // commitGroup hands its errors to the members.
            this.queue.run(() => this.commitGroup()).catch(() => undefined);
          });
        }
        const group = this.group;
        this.control('SAVEPOINT decision');
        try {
          const value = await fn(this.conn);
          this.control('RELEASE decision');
          const done = new Promise<void>((resolve, reject) => group.members.push({ resolve, reject }));
          // The caller awaits `done` a few microtasks later; a COMMIT failing before then must not
          // count as an unhandled rejection (it still reaches the caller through the await below).
          done.catch(() => undefined);
          if (group.members.length >= MAX_GROUP) this.commitGroup();
          return { result: value, committed: done };
        } catch (err) {
          if (this.db.inTransaction) {
            this.control('ROLLBACK TO decision');
            this.control('RELEASE decision');
          } else {
            this.failGroup(err);
          }
          throw err;
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

export class SqliteRegistry extends SqlRegistry {
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
      migrateSqlite(db);
    } catch (err) {
      db?.close();
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('STORAGE', `opening registry ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new SqliteRegistry(new SqliteDriver(db, busyTimeoutMs), options.clock ?? systemClock);
  }
}
