// The in-transaction operations (RegistryTx) of the PostgreSQL registry; rows become domain objects
// through rows.ts (bytea arrives as Buffer, bigint columns such as times as strings).
import type pg from 'pg';
import { RegistryError, ValidationError } from './errors.ts';
import { rowToAudit, rowToBatch, rowToDevice, rowToNetwork, toBuffer, type Row } from './rows.ts';
import type {
  AuditEntry,
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

export type PgRow = Row;
export type Queryable = Pick<pg.ClientBase, 'query'>;

export async function one(q: Queryable, sql: string, args: unknown[]): Promise<PgRow | undefined> {
  return (await q.query(sql, args)).rows[0] as PgRow | undefined;
}

export async function insertAudit(q: Queryable, clock: Clock, e: AuditInput): Promise<AuditEntry> {
  checkAuditInput(e);
  const n = (b: Uint8Array | null) => (b === null ? null : toBuffer(b));
  const row = await one(
    q,
    `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason, geolocation, identity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      clock.now(),
      e.sourceAddress,
      e.sourcePort,
      n(e.gid),
      n(e.pseudonym),
      e.suite,
      e.outcome,
      e.reason,
      e.geolocation,
      n(e.identity),
    ],
  );
  return rowToAudit(row!);
}

/** Advisory lock class of handshake transactions ("ENF2"); the second key comes from the gid. */
export const BATCH_LOCK_CLASS = 0x454e4632;

/**
 * RegistryTx over one pooled client inside BEGIN ... COMMIT; refuses calls after the end. Before a
 * batch's rows are first touched it takes that batch's advisory transaction lock, so handshake
 * decisions for one batch never interleave across instances (see postgres-registry.ts).
 */
export class PgTx implements RegistryTx {
  private isLive = true;
  private readonly locked = new Set<string>();
  constructor(
    private readonly client: pg.ClientBase,
    private readonly clock: Clock,
  ) {}

  invalidate(): void {
    this.isLive = false;
  }

  private live(): void {
    if (!this.isLive) throw new RegistryError('STORAGE', 'transaction already ended');
  }

  private async lock(gid: Uint8Array): Promise<void> {
    const key = Buffer.from(gid).toString('hex');
    if (this.locked.has(key)) return;
    const k2 = new DataView(gid.buffer, gid.byteOffset, 4).getInt32(0);
    await this.client.query('SELECT pg_advisory_xact_lock($1, $2)', [BATCH_LOCK_CLASS, k2]);
    this.locked.add(key);
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    this.live();
    checkGid(gid);
    await this.lock(gid);
    const r = await one(this.client, 'SELECT * FROM batches WHERE gid = $1', [toBuffer(gid)]);
    return r ? rowToBatch(r) : undefined;
  }

  async getNetwork(id: number): Promise<Network | undefined> {
    this.live();
    const r = await one(this.client, 'SELECT * FROM networks WHERE id = $1', [id]);
    return r ? rowToNetwork(r) : undefined;
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkGid(gid);
    await this.lock(gid);
    checkPseudonym(pseudonym);
    const r = await one(this.client, 'SELECT * FROM devices WHERE gid = $1 AND pseudonym = $2', [
      toBuffer(gid),
      toBuffer(pseudonym),
    ]);
    return r ? rowToDevice(r) : undefined;
  }

  async countDevices(gid: Uint8Array): Promise<number> {
    this.live();
    checkGid(gid);
    await this.lock(gid);
    const r = await one(this.client, 'SELECT COUNT(*) AS n FROM devices WHERE gid = $1', [toBuffer(gid)]);
    return Number(r!.n);
  }

  async findByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    const r = await one(this.client, 'SELECT * FROM devices WHERE identity = $1', [toBuffer(identity)]);
    return r ? rowToDevice(r) : undefined;
  }

  async insertDevice(d: NewDevice): Promise<Device> {
    this.live();
    checkNewDevice(d);
    await this.lock(d.gid);
    const at = this.clock.now();
    const r = await one(
      this.client,
      `INSERT INTO devices (gid, pseudonym, identity, longterm_public_key, status, allow_rekey,
                            first_handshake_at, last_handshake_at, handshake_count, last_source)
       VALUES ($1, $2, $3, $4, 'active', false, $5, $5, 1, $6) RETURNING *`,
      [
        toBuffer(d.gid),
        toBuffer(d.pseudonym),
        toBuffer(d.identity),
        toBuffer(d.longtermPublicKey),
        at,
        d.source,
      ],
    );
    return rowToDevice(r!);
  }

  async touchDevice(gid: Uint8Array, pseudonym: Uint8Array, source: string): Promise<void> {
    this.live();
    checkGid(gid);
    await this.lock(gid);
    checkPseudonym(pseudonym);
    checkSource(source, 'device.source');
    const res = await this.client.query(
      `UPDATE devices SET last_handshake_at = $1, handshake_count = handshake_count + 1, last_source = $2
       WHERE gid = $3 AND pseudonym = $4`,
      [this.clock.now(), source, toBuffer(gid), toBuffer(pseudonym)],
    );
    if (res.rowCount === 0) throw new RegistryError('NOT_FOUND', 'device touch: no such device');
  }

  async rekeyDevice(gid: Uint8Array, pseudonym: Uint8Array, key: Uint8Array): Promise<void> {
    this.live();
    checkGid(gid);
    await this.lock(gid);
    checkPseudonym(pseudonym);
    checkLongtermKey(key, 'device.longtermPublicKey');
    const res = await this.client.query(
      `UPDATE devices SET longterm_public_key = $1, allow_rekey = false
       WHERE gid = $2 AND pseudonym = $3 AND allow_rekey`,
      [toBuffer(key), toBuffer(gid), toBuffer(pseudonym)],
    );
    if (res.rowCount === 0)
      throw new ValidationError('device.allowRekey', 'device is unknown or not allowed to re-key');
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    this.live();
    return insertAudit(this.client, this.clock, e);
  }
}
