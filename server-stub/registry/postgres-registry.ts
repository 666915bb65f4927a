// The PostgreSQL registry backend: the shared rules of sql-registry.ts over a `pg` connection pool, so
// several enf-server processes share one registry; this file holds only the PostgreSQL driver.
// Handshake transactions (withTransaction) run READ COMMITTED under a transaction-level advisory lock
// per batch, taken before the batch is first read (SqlConn.lockBatch): decisions for one batch are serialised
// across every instance, like SQLite's BEGIN IMMEDIATE but per batch, and each statement sees what
// the previous holder committed. The quota and "same device, same identity" therefore hold; the
// unique constraints (devices.identity, the primary keys) catch what crosses batches (two batches on
// one network deriving the same address) and surface as CONFLICT, on which IdentityPolicy decides
// again. Operator writes run SERIALIZABLE, retried on serialization failures (40001, 40P01).
// Nothing is cached: every handshake reads the batch and device rows, so a revocation made through
// any instance is effective on all of them at the next handshake.
import pg from 'pg';
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

export interface PostgresRegistryOptions {
  /** pg pool settings (host or unix socket directory, port, user, database, password, ssl...). */
  connection: pg.PoolConfig;
  clock?: Clock;
  /** Attempts of a write transaction that keeps failing serialization; default 20. */
  maxAttempts?: number;
}

const RETRYABLE = new Set(['40001', '40P01']);

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A serialization failure or deadlock, possibly wrapped by a run that joined the write (its
 * RegistryError keeps the database error as its cause): the whole transaction is retried.
 */
function isRetryable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (RETRYABLE.has(pgCode(e) ?? '')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Translate database failures into RegistryError (class 23, integrity violations: CONFLICT). */
function storageError(err: unknown, what: string): never {
  toRegistryError(err, what, pgCode(err)?.startsWith('23') ? 'conflict' : 'storage');
}

/** Arbitrary constant key of the migration advisory lock ("ENF1"). */
export const MIGRATION_LOCK_KEY = 0x454e4631;
/** Advisory lock class of handshake transactions ("ENF2"); the second key comes from the gid. */
export const BATCH_LOCK_CLASS = 0x454e4632;

const PG_DIALECT: Dialect = {
  name: 'postgres',
  countIf: (cond) => `COUNT(*) FILTER (WHERE ${cond})`,
};

const numbered = new Map<string, string>();
/** `?` placeholders as PostgreSQL's $1, $2, ... (our SQL has no `?` inside literals). */
function placeholders(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, out);
  }
  return out;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** A SqlConn over a pool (reads) or one client (transactions); `locks` only inside decisions. */
function connection(q: Queryable, locks?: Set<string>): SqlConn {
  const query = async (sql: string, args: readonly unknown[] = []) =>
    q.query(placeholders(sql), args as unknown[]);
  return {
    all: async (sql, args) => (await query(sql, args)).rows as Row[],
    get: async (sql, args) => (await query(sql, args)).rows[0] as Row | undefined,
    run: async (sql, args) => (await query(sql, args)).rowCount ?? 0,
    lockBatch: async (gid) => {
      if (!locks) return;
      const key = Buffer.from(gid).toString('hex');
      if (locks.has(key)) return;
      const k2 = new DataView(gid.buffer, gid.byteOffset, 4).getInt32(0);
      await q.query('SELECT pg_advisory_xact_lock($1, $2)', [BATCH_LOCK_CLASS, k2]);
      locks.add(key);
    },
  };
}

/** Apply pending migrations in one transaction under an advisory lock (safe for concurrent starts). */
export async function migratePg(
  client: pg.ClientBase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM schema_migrations',
    );
    for (const m of pendingMigrations(rows[0]?.v ?? 0, migrations)) {
      if (m.postgres) await client.query(m.postgres);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** The SQL driver over a pg pool: isolation per kind, serialization retries, advisory locks. */
class PostgresDriver implements SqlDriver {
  readonly dialect = PG_DIALECT;
  /** The write transaction the current call chain is inside, if any (driver.ts). */
  private readonly scopes = new WriteScopes();
  constructor(
    private readonly pool: pg.Pool,
    private readonly maxAttempts: number,
  ) {}

  async run<T>(kind: TxKind, what: string, fn: (c: SqlConn) => Promise<T>): Promise<T> {
    // Inside a write: its client and transaction (reads too, so they see what it changed so far).
    if (this.scopes.isInside()) return this.scopes.join(kind, what, fn, storageError);
    if (kind === 'read') {
      try {
        return await fn(connection(this.pool));
      } catch (err) {
        storageError(err, what);
      }
    }
    // Operator writes SERIALIZABLE (retried); decisions READ COMMITTED under the batch's lock.
    if (kind === 'write')
      return this.transaction(what, 'BEGIN ISOLATION LEVEL SERIALIZABLE', (c) =>
        this.scopes.open(connection(c), fn),
      );
    return this.transaction(what, 'BEGIN ISOLATION LEVEL READ COMMITTED', (c) =>
      fn(connection(c, new Set())),
    );
  }

  private async transaction<T>(
    what: string,
    begin: string,
    fn: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        storageError(err, what);
      }
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (isRetryable(err) && attempt < this.maxAttempts) {
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
          continue;
        }
        storageError(err, what);
      } finally {
        client.release();
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export class PostgresRegistry extends SqlRegistry {
  /** Connect and bring the schema up to date (under an advisory lock: safe for concurrent starts). */
  static async open(options: PostgresRegistryOptions): Promise<PostgresRegistry> {
    const pool = new pg.Pool({ max: 10, ...options.connection });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migratePg(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('STORAGE', `opening PostgreSQL registry: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new PostgresRegistry(
      new PostgresDriver(pool, options.maxAttempts ?? 20),
      options.clock ?? systemClock,
    );
  }
}
