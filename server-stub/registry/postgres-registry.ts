// The PostgreSQL registry backend (issue 7 "Several servers behind one address"): the Registry port
// over a `pg` connection pool, so several enf-server processes share one registry.
// Handshake transactions (withTransaction) run READ COMMITTED under a transaction-level advisory lock
// per batch, taken before the batch is first read (PgTx): decisions for one batch are serialised
// across every instance, like SQLite's BEGIN IMMEDIATE but per batch, and each statement sees what
// the previous holder committed. The quota and "same device, same identity" therefore hold; the
// unique constraints (devices.identity, the primary keys) catch what crosses batches (two batches on
// one network deriving the same address) and surface as CONFLICT, on which IdentityPolicy decides
// again. Operator writes run SERIALIZABLE, retried on serialization failures (40001, 40P01).
// Nothing is cached: every handshake reads the batch and device rows, so a revocation made through
// any instance is effective on all of them at the next handshake. Same validation as the SQLite
// backend (validate.ts) before any query, so bad input never changes state.
import { sha256 } from '@noble/hashes/sha2.js';
import pg from 'pg';
import { concatBytes, fromHex } from '../../protocol/util/bytes.ts';
import { RegistryError, ValidationError } from './errors.ts';
import { parsePrefix64 } from './ipv6.ts';
import { migratePg } from './postgres-migrations.ts';
import { insertAudit, one, PgTx, type PgRow, type Queryable } from './postgres-rows.ts';
import { rowToAudit, rowToBatch, rowToDevice, rowToNetwork, toBuffer } from './rows.ts';
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
  checkDeviceFilter,
  checkGid,
  checkName,
  checkNetworkRef,
  checkNewBatch,
  checkPseudonym,
  IDENTITY_LENGTH,
} from './validate.ts';

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

/** Translate database failures into RegistryError; our own typed errors pass through. */
function storageError(err: unknown, what: string): never {
  if (err instanceof RegistryError) throw err;
  const code = pgCode(err);
  if (code?.startsWith('23'))
    throw new RegistryError('CONFLICT', `${what}: ${(err as Error).message}`, { cause: err });
  throw new RegistryError('STORAGE', `${what}: ${(err as Error).message}`, { cause: err });
}

export class PostgresRegistry implements Registry {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly maxAttempts: number,
  ) {}

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
    return new PostgresRegistry(pool, options.clock ?? systemClock, options.maxAttempts ?? 20);
  }

  private async read<T>(what: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool);
    } catch (err) {
      storageError(err, what);
    }
  }

  /** One SERIALIZABLE transaction on one pooled client, retried on serialization failure. */
  private serializable<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(what, 'BEGIN ISOLATION LEVEL SERIALIZABLE', fn);
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
        if (RETRYABLE.has(pgCode(err) ?? '') && attempt < this.maxAttempts) {
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
          continue;
        }
        storageError(err, what);
      } finally {
        client.release();
      }
    }
  }

  private async resolveNetwork(q: Queryable, ref: string | number): Promise<Network | undefined> {
    const r = await one(
      q,
      typeof ref === 'number'
        ? 'SELECT * FROM networks WHERE id = $1'
        : 'SELECT * FROM networks WHERE name = $1',
      [ref],
    );
    return r ? rowToNetwork(r) : undefined;
  }

  async addNetwork(input: { name: string; prefix: string }): Promise<Network> {
    const name = checkName(input?.name, 'network.name');
    const prefix = parsePrefix64(input.prefix, 'network.prefix');
    return this.serializable('network add', async (c) => {
      if (await this.resolveNetwork(c, name))
        throw new RegistryError('CONFLICT', `network.name: '${name}' exists`);
      const clash = await one(c, 'SELECT name FROM networks WHERE prefix = $1', [toBuffer(prefix)]);
      if (clash)
        throw new RegistryError('CONFLICT', `network.prefix: already used by '${String(clash.name)}'`);
      const r = await one(
        c,
        'INSERT INTO networks (name, prefix, created_at) VALUES ($1, $2, $3) RETURNING *',
        [name, toBuffer(prefix), this.clock.now()],
      );
      return rowToNetwork(r!);
    });
  }

  async listNetworks(): Promise<Network[]> {
    return this.read('network list', async (q) =>
      (await q.query('SELECT * FROM networks ORDER BY id')).rows.map(rowToNetwork),
    );
  }

  async getNetwork(ref: string | number): Promise<Network | undefined> {
    const r = checkNetworkRef(ref, 'network');
    return this.read('network get', (q) => this.resolveNetwork(q, r));
  }

  async deleteNetwork(ref: string | number): Promise<Network> {
    const r = checkNetworkRef(ref, 'network');
    return this.serializable('network delete', async (c) => {
      const net = await this.resolveNetwork(c, r);
      if (!net) throw new RegistryError('NOT_FOUND', `network: no network '${r}'`);
      if (await one(c, 'SELECT 1 FROM batches WHERE network_id = $1 LIMIT 1', [net.id])) {
        throw new RegistryError('CONFLICT', `network: '${net.name}' still has batches`);
      }
      await c.query('DELETE FROM networks WHERE id = $1', [net.id]);
      return net;
    });
  }

  async addBatch(input: NewBatch): Promise<Batch> {
    checkNewBatch(input);
    const gid = sha256(concatBytes(input.gpk, input.basename));
    return this.serializable('batch add', async (c) => {
      let networkId: number | null = null;
      if (input.network !== undefined) {
        const net = await this.resolveNetwork(c, input.network);
        if (!net) throw new ValidationError('batch.network', `no network '${input.network}'`);
        networkId = net.id;
      }
      if (await one(c, 'SELECT 1 FROM batches WHERE gid = $1', [toBuffer(gid)])) {
        throw new RegistryError('CONFLICT', 'batch.gpk: this GPK and basename are already registered');
      }
      if (await one(c, 'SELECT 1 FROM batches WHERE name = $1', [input.name])) {
        throw new RegistryError('CONFLICT', `batch.name: '${input.name}' exists`);
      }
      const r = await one(
        c,
        `INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING *`,
        [
          toBuffer(gid),
          toBuffer(input.gpk),
          toBuffer(input.basename),
          input.name,
          networkId,
          input.size,
          this.clock.now(),
        ],
      );
      return rowToBatch(r!);
    });
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    checkGid(gid);
    return this.read('batch get', async (q) => {
      const r = await one(q, 'SELECT * FROM batches WHERE gid = $1', [toBuffer(gid)]);
      return r ? rowToBatch(r) : undefined;
    });
  }

  async findBatch(ref: string): Promise<Batch | undefined> {
    if (typeof ref !== 'string' || ref.length === 0) throw new ValidationError('batch', 'empty reference');
    if (/^[0-9a-fA-F]{64}$/.test(ref)) {
      const byGid = await this.getBatch(fromHex(ref, 'batch'));
      if (byGid) return byGid;
    }
    const name = checkName(ref, 'batch');
    return this.read('batch find', async (q) => {
      const r = await one(q, 'SELECT * FROM batches WHERE name = $1', [name]);
      return r ? rowToBatch(r) : undefined;
    });
  }

  async listBatches(): Promise<BatchSummary[]> {
    return this.read('batch list', async (q) =>
      (
        await q.query(
          `SELECT b.*, COUNT(d.pseudonym) AS devices, COUNT(*) FILTER (WHERE d.status = 'revoked') AS revoked_devices
           FROM batches b LEFT JOIN devices d ON d.gid = b.gid
           GROUP BY b.gid ORDER BY b.created_at, b.name`,
        )
      ).rows.map((r: PgRow) => ({
        ...rowToBatch(r),
        devices: Number(r.devices),
        revokedDevices: Number(r.revoked_devices),
      })),
    );
  }

  private updateBatch(gid: Uint8Array, what: string, sql: string, args: unknown[]): Promise<Batch> {
    return this.serializable(what, async (c) => {
      const r = await one(c, sql, [...args, toBuffer(gid)]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no batch with this gid`);
      return rowToBatch(r);
    });
  }

  async setBatchNetwork(gid: Uint8Array, network: string | number): Promise<Batch> {
    checkGid(gid);
    const ref = checkNetworkRef(network, 'batch.network');
    const net = await this.getNetwork(ref);
    if (!net) throw new ValidationError('batch.network', `no network '${ref}'`);
    return this.updateBatch(
      gid,
      'batch assign',
      'UPDATE batches SET network_id = $1 WHERE gid = $2 RETURNING *',
      [net.id],
    );
  }

  async revokeBatch(gid: Uint8Array): Promise<Batch> {
    checkGid(gid);
    return this.updateBatch(
      gid,
      'batch revoke',
      "UPDATE batches SET status = 'revoked' WHERE gid = $1 RETURNING *",
      [],
    );
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined> {
    checkGid(gid);
    checkPseudonym(pseudonym);
    return this.read('device get', async (q) => {
      const r = await one(q, 'SELECT * FROM devices WHERE gid = $1 AND pseudonym = $2', [
        toBuffer(gid),
        toBuffer(pseudonym),
      ]);
      return r ? rowToDevice(r) : undefined;
    });
  }

  async getDeviceByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    return this.read('device get', async (q) => {
      const r = await one(q, 'SELECT * FROM devices WHERE identity = $1', [toBuffer(identity)]);
      return r ? rowToDevice(r) : undefined;
    });
  }

  async listDevices(filter: DeviceFilter = {}): Promise<Device[]> {
    checkDeviceFilter(filter);
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.gid) {
      args.push(toBuffer(filter.gid));
      where.push(`gid = $${args.length}`);
    }
    if (filter.status) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    const sql = `SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY first_handshake_at, identity`;
    return this.read('device list', async (q) => (await q.query(sql, args)).rows.map(rowToDevice));
  }

  private updateDevice(
    gid: Uint8Array,
    pseudonym: Uint8Array,
    what: string,
    sql: string,
    args: unknown[],
  ): Promise<Device> {
    checkGid(gid);
    checkPseudonym(pseudonym);
    return this.serializable(what, async (c) => {
      const r = await one(c, sql, [...args, toBuffer(gid), toBuffer(pseudonym)]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no such device in this batch`);
      return rowToDevice(r);
    });
  }

  async revokeDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device> {
    const sql = "UPDATE devices SET status = 'revoked' WHERE gid = $1 AND pseudonym = $2 RETURNING *";
    return this.updateDevice(gid, pseudonym, 'device revoke', sql, []);
  }

  async setAllowRekey(gid: Uint8Array, pseudonym: Uint8Array, allow: boolean): Promise<Device> {
    if (typeof allow !== 'boolean') throw new ValidationError('allowRekey', 'not a boolean');
    const sql = 'UPDATE devices SET allow_rekey = $1 WHERE gid = $2 AND pseudonym = $3 RETURNING *';
    return this.updateDevice(gid, pseudonym, 'device allow-rekey', sql, [allow]);
  }

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.read('audit append', (q) => insertAudit(q, this.clock, entry));
  }

  async queryAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    checkAuditFilter(filter);
    return this.queryAuditPage({ ...filter, limit: filter.limit ?? 100 });
  }

  async queryAuditPage(f: AuditPageFilter): Promise<AuditEntry[]> {
    checkAuditPageFilter(f);
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.since !== undefined) add('at >= ?', f.since);
    if (f.until !== undefined) add('at < ?', f.until);
    if (f.gid) add('gid = ?', toBuffer(f.gid));
    if (f.pseudonym) add('pseudonym = ?', toBuffer(f.pseudonym));
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.beforeId !== undefined) add('id < ?', f.beforeId);
    args.push(f.limit);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return this.read('audit query', async (q) => (await q.query(sql, args)).rows.map(rowToAudit));
  }

  async withTransaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    return this.transaction('transaction', 'BEGIN ISOLATION LEVEL READ COMMITTED', async (c) => {
      const tx = new PgTx(c, this.clock);
      try {
        return await fn(tx);
      } finally {
        tx.invalidate();
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
