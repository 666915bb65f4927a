// The small interface between the registry's rules (sql-registry.ts, written once) and a database
// backend (sqlite-registry.ts, postgres-registry.ts), in the way Directus keeps one service layer over
// per-database helpers. A backend supplies a connection that runs SQL written with `?` placeholders,
// transactions of three kinds, and a dialect for the few things the two databases spell differently.
// Backends keep only what really differs: SQLite's group commit and its non-blocking BEGIN IMMEDIATE,
// PostgreSQL's isolation levels, serialization retries and per-batch advisory locks.
// A run started inside a write run of the same driver joins that write (WriteScopes below): this is
// how a state change and its operator-audit row share one transaction (Registry.withOperatorAudit).
import { AsyncLocalStorage } from 'node:async_hooks';
import { RegistryError } from './errors.ts';
import type { Row } from './rows.ts';

/** One connection (or one transaction on it). SQL uses `?` placeholders; booleans bind as booleans. */
export interface SqlConn {
  all(sql: string, args?: readonly unknown[]): Promise<Row[]>;
  get(sql: string, args?: readonly unknown[]): Promise<Row | undefined>;
  /** Run a statement; returns the number of rows it changed. */
  run(sql: string, args?: readonly unknown[]): Promise<number>;
  /**
   * Inside a decision transaction: serialise the decisions of this batch with every other writer
   * before its rows are first read (PostgreSQL: a per-batch advisory lock). A no-op where the
   * transaction already excludes every other writer (SQLite's BEGIN IMMEDIATE).
   */
  lockBatch(gid: Uint8Array): Promise<void>;
}

/**
 * read: statements outside any explicit transaction (each sees committed data).
 * write: an operator change, atomic and isolated from every other writer (SQLite: BEGIN IMMEDIATE;
 *   PostgreSQL: SERIALIZABLE, retried on serialization failure).
 * decision: a handshake decision (Registry.withTransaction); SQLite: grouped under one COMMIT,
 *   each in a SAVEPOINT; PostgreSQL: READ COMMITTED with lockBatch taken before a batch is read.
 */
export type TxKind = 'read' | 'write' | 'decision';

export interface SqlDriver {
  readonly dialect: Dialect;
  /**
   * Run `fn` as one unit of the given kind; database failures reach the caller as RegistryError.
   * Called (directly or through any await) from inside a 'write' run of this driver, a 'read' or
   * 'write' run joins it: same connection, same transaction, committed or rolled back with it. A
   * 'decision' there is a bug and throws.
   */
  run<T>(kind: TxKind, what: string, fn: (c: SqlConn) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** What the two SQL dialects spell differently, for the rules and the schema. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Rows of a group matching `cond`, an integer in both. */
  countIf(cond: string): string;
}

/** How a backend classifies a thrown value: a constraint violation, another database failure, or not its own. */
export type ErrorKind = 'conflict' | 'storage' | 'other';

/**
 * Database failures as RegistryError: constraint violations are CONFLICT, the rest STORAGE. Our own
 * RegistryErrors and values the backend does not recognise (kind 'other': bugs) pass unchanged.
 */
export function storageError(err: unknown, what: string, kind: ErrorKind): never {
  if (err instanceof RegistryError || kind === 'other') throw err;
  const message = err instanceof Error ? err.message : String(err);
  throw new RegistryError(kind === 'conflict' ? 'CONFLICT' : 'STORAGE', `${what}: ${message}`, {
    cause: err,
  });
}

/** The write transaction runs join: its connection, and whether it is still open. */
interface WriteScope {
  readonly conn: SqlConn;
  isOpen: boolean;
}

/**
 * Which write transaction the current async call chain is inside (node:async_hooks AsyncLocalStorage,
 * one per driver), so the registry's methods, each written as its own `driver.run`, compose into one
 * transaction when called inside another write, without passing a handle through every signature.
 */
export class WriteScopes {
  private readonly als = new AsyncLocalStorage<WriteScope>();

  /** True inside a write run of this driver: the caller must join it (`join`) instead of starting one. */
  isInside(): boolean {
    return this.als.getStore() !== undefined;
  }

  /** Run the body of a write transaction on `conn`; runs started inside it join it. */
  async open<T>(conn: SqlConn, fn: (c: SqlConn) => Promise<T>): Promise<T> {
    const scope: WriteScope = { conn, isOpen: true };
    try {
      return await this.als.run(scope, () => fn(conn));
    } finally {
      scope.isOpen = false;
    }
  }

  /** A run inside the current write: `fn` on its connection; failures classified by `classify`. */
  async join<T>(
    kind: TxKind,
    what: string,
    fn: (c: SqlConn) => Promise<T>,
    classify: (err: unknown, what: string) => never,
  ): Promise<T> {
    const scope = this.als.getStore();
    // Bugs, not database failures: a decision holds its own locks; a promise left running past the
    // write's COMMIT must not write outside any transaction.
    if (!scope) throw new Error(`${what}: not inside a write transaction`);
    if (!scope.isOpen) throw new Error(`${what}: its enclosing write transaction has already ended`);
    if (kind === 'decision')
      throw new Error(`${what}: a handshake decision cannot run inside an operator write`);
    try {
      return await fn(scope.conn);
    } catch (err) {
      classify(err, what);
    }
  }
}
