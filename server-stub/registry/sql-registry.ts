// The registry's rules, written once over a SQL driver (driver.ts): validation (validate.ts) before
// any statement, so bad input never changes state; names, prefixes and GPKs unique; a batch's gid is
// SHA-256(gpk || basename) as xtt 0.12 computes it; the audit append-only. The SQLite and PostgreSQL
// backends (sqlite-registry.ts, postgres-registry.ts) supply only the connection and transactions.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex } from '../../protocol/util/bytes.ts';
import type { SqlConn, SqlDriver } from './driver.ts';
import { RegistryError, ValidationError } from './errors.ts';
import { parsePrefix64 } from './ipv6.ts';
import type { PkiRegistry } from './pki-registry.ts';
import type { OperatorAudit, OperatorAuditEntry, OperatorAuditInput } from './operator-audit.ts';
import { SqlOperatorAudit } from './sql-operator-audit.ts';
import type { OverviewStats } from './overview.ts';
import { SqlOverviewStats } from './sql-overview.ts';
import { SqlPkiRegistry } from './sql-pki-registry.ts';
import type { AccountRegistry } from './account-registry.ts';
import { SqlAccountRegistry } from './sql-account-registry.ts';
import {
  rowToAudit,
  rowToBatch,
  rowToDevice,
  rowToNetwork,
  rowToOrganization,
  toBuffer,
  type Row,
} from './rows.ts';
import { DEFAULT_ORGANIZATION_ID } from './schema.ts';
import type {
  AuditEntry,
  AuditFilter,
  AuditInput,
  Batch,
  BatchSummary,
  Clock,
  Device,
  DeviceFilter,
  Network,
  NewBatch,
  NewDevice,
  Organization,
  Registry,
  RegistryTx,
} from './registry.ts';
import {
  checkAuditFilter,
  checkAuditInput,
  checkBytes,
  checkDeviceFilter,
  checkGid,
  checkInt,
  checkLongtermKey,
  checkName,
  checkNetworkRef,
  checkNewBatch,
  checkNewDevice,
  checkPseudonym,
  checkSource,
  IDENTITY_LENGTH,
} from './validate.ts';

const DEVICE_KEY = 'WHERE gid = ? AND pseudonym = ?';
/** Rows of one organization's batches (devices, audit), with its id as the one parameter. */
const IN_ORG_BATCHES = 'gid IN (SELECT gid FROM batches WHERE organization_id = ?)';

/** The device list's order (registry.ts listDevices), by the indexes devices_first and devices_gid_first. */
const DEVICE_ORDER = 'ORDER BY first_handshake_at, identity';
/** Up to this many batches, an organization's device page merges per-batch index ranges. */
const MERGED_BATCHES = 64;

/** SELECT of the devices matching a (checked) filter, without order or limit. */
function deviceQuery(filter: DeviceFilter, org: number | undefined): { sql: string; args: unknown[] } {
  const { after } = filter;
  const w = where([
    filter.gid !== undefined && ['gid = ?', toBuffer(filter.gid)],
    filter.status !== undefined && ['status = ?', filter.status],
    org !== undefined && [IN_ORG_BATCHES, org],
    filter.firstSince !== undefined && ['first_handshake_at >= ?', filter.firstSince],
    filter.firstUntil !== undefined && ['first_handshake_at < ?', filter.firstUntil],
    filter.lastSince !== undefined && ['last_handshake_at >= ?', filter.lastSince],
    // Keyset: strictly after the last device of the previous page, whether or not it still exists.
    // Its second placeholder (the identity) is appended below: keep this condition last.
    after !== undefined && ['(first_handshake_at, identity) > (?, ?)', after.firstHandshakeAt],
  ]);
  return {
    sql: `SELECT * FROM devices ${w.sql}`,
    args: after === undefined ? w.args : [...w.args, toBuffer(after.identity)],
  };
}

/** An optional organization scope (registry.ts): undefined, or a positive integer id. */
function checkOrg(org: number | undefined): number | undefined {
  return org === undefined ? undefined : checkInt(org, 'organization', 1, Number.MAX_SAFE_INTEGER);
}

/** ` AND <column> = ?` and its argument when scoped, nothing when not. */
function scoped(column: string, org: number | undefined): { sql: string; args: unknown[] } {
  return org === undefined ? { sql: '', args: [] } : { sql: ` AND ${column} = ?`, args: [org] };
}

/** A WHERE clause from optional conditions, each with one `?` and its value. */
function where(conds: readonly (readonly [string, unknown] | false)[]): { sql: string; args: unknown[] } {
  const used = conds.filter((c): c is readonly [string, unknown] => c !== false);
  return {
    sql: used.length ? `WHERE ${used.map(([c]) => c).join(' AND ')}` : '',
    args: used.map(([, v]) => v),
  };
}

/** By id (in `org` when scoped), or by name (in `org`, else the default organization). */
async function networkByRef(c: SqlConn, ref: string | number, org?: number): Promise<Network | undefined> {
  const r =
    typeof ref === 'number'
      ? await c.get(`SELECT * FROM networks WHERE id = ?${scoped('organization_id', org).sql}`, [
          ref,
          ...scoped('organization_id', org).args,
        ])
      : await c.get('SELECT * FROM networks WHERE name = ? AND organization_id = ?', [
          ref,
          org ?? DEFAULT_ORGANIZATION_ID,
        ]);
  return r ? rowToNetwork(r) : undefined;
}

async function batchByGid(c: SqlConn, gid: Uint8Array, org?: number): Promise<Batch | undefined> {
  const s = scoped('organization_id', org);
  const r = await c.get(`SELECT * FROM batches WHERE gid = ?${s.sql}`, [toBuffer(gid), ...s.args]);
  return r ? rowToBatch(r) : undefined;
}

async function deviceByKey(
  c: SqlConn,
  gid: Uint8Array,
  pseudonym: Uint8Array,
  org?: number,
): Promise<Device | undefined> {
  const s = org === undefined ? '' : ` AND ${IN_ORG_BATCHES}`;
  const r = await c.get(`SELECT * FROM devices ${DEVICE_KEY}${s}`, [
    toBuffer(gid),
    toBuffer(pseudonym),
    ...(org === undefined ? [] : [org]),
  ]);
  return r ? rowToDevice(r) : undefined;
}

async function deviceByIdentity(c: SqlConn, identity: Uint8Array, org?: number): Promise<Device | undefined> {
  const s = org === undefined ? '' : ` AND ${IN_ORG_BATCHES}`;
  const r = await c.get(`SELECT * FROM devices WHERE identity = ?${s}`, [
    toBuffer(identity),
    ...(org === undefined ? [] : [org]),
  ]);
  return r ? rowToDevice(r) : undefined;
}

async function insertAudit(c: SqlConn, clock: Clock, e: AuditInput): Promise<AuditEntry> {
  checkAuditInput(e);
  const n = (b: Uint8Array | null): Buffer | null => (b === null ? null : toBuffer(b));
  const r = await c.get(
    `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason,
                        geolocation, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
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
  return rowToAudit(r!);
}

/**
 * RegistryTx over one decision transaction; refuses calls once the transaction has ended. Before a
 * batch's rows are first touched it takes that batch's lock (SqlConn.lockBatch), so handshake
 * decisions for one batch never interleave across processes.
 */
class SqlTx implements RegistryTx {
  private isLive = true;
  constructor(
    private readonly c: SqlConn,
    private readonly clock: Clock,
  ) {}

  end(): void {
    this.isLive = false;
  }

  private live(): void {
    if (!this.isLive) throw new RegistryError('STORAGE', 'transaction already ended');
  }

  async getBatch(gid: Uint8Array): Promise<Batch | undefined> {
    this.live();
    checkGid(gid);
    await this.c.lockBatch(gid);
    return batchByGid(this.c, gid);
  }

  async getNetwork(id: number): Promise<Network | undefined> {
    this.live();
    return networkByRef(this.c, id);
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    await this.c.lockBatch(gid);
    return deviceByKey(this.c, gid, pseudonym);
  }

  async countDevices(gid: Uint8Array): Promise<number> {
    this.live();
    checkGid(gid);
    await this.c.lockBatch(gid);
    return Number((await this.c.get('SELECT COUNT(*) AS n FROM devices WHERE gid = ?', [toBuffer(gid)]))!.n);
  }

  async findByIdentity(identity: Uint8Array): Promise<Device | undefined> {
    this.live();
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    return deviceByIdentity(this.c, identity);
  }

  async insertDevice(d: NewDevice): Promise<Device> {
    this.live();
    checkNewDevice(d);
    await this.c.lockBatch(d.gid);
    const at = this.clock.now();
    const r = await this.c.get(
      `INSERT INTO devices (gid, pseudonym, identity, longterm_public_key, status, allow_rekey,
                            first_handshake_at, last_handshake_at, handshake_count, last_source)
       VALUES (?, ?, ?, ?, 'active', ?, ?, ?, 1, ?) RETURNING *`,
      [
        toBuffer(d.gid),
        toBuffer(d.pseudonym),
        toBuffer(d.identity),
        toBuffer(d.longtermPublicKey),
        false,
        at,
        at,
        d.source,
      ],
    );
    return rowToDevice(r!);
  }

  async touchDevice(gid: Uint8Array, pseudonym: Uint8Array, source: string): Promise<void> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkSource(source, 'device.source');
    await this.c.lockBatch(gid);
    const changed = await this.c.run(
      `UPDATE devices SET last_handshake_at = ?, handshake_count = handshake_count + 1, last_source = ?
       ${DEVICE_KEY}`,
      [this.clock.now(), source, toBuffer(gid), toBuffer(pseudonym)],
    );
    if (changed === 0) throw new RegistryError('NOT_FOUND', 'device touch: no such device');
  }

  async rekeyDevice(gid: Uint8Array, pseudonym: Uint8Array, key: Uint8Array): Promise<void> {
    this.live();
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkLongtermKey(key, 'device.longtermPublicKey');
    await this.c.lockBatch(gid);
    const changed = await this.c.run(
      `UPDATE devices SET longterm_public_key = ?, allow_rekey = ? ${DEVICE_KEY} AND allow_rekey = ?`,
      [toBuffer(key), false, toBuffer(gid), toBuffer(pseudonym), true],
    );
    if (changed === 0) {
      throw new ValidationError('device.allowRekey', 'device is unknown or not allowed to re-key');
    }
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    this.live();
    return insertAudit(this.c, this.clock, e);
  }
}

/** The Registry port over a SQL driver; the backends construct it with theirs. */
export class SqlRegistry implements Registry {
  readonly pki: PkiRegistry;
  readonly operatorAudit: OperatorAudit;
  readonly accounts: AccountRegistry;
  readonly overview: OverviewStats;

  constructor(
    private readonly driver: SqlDriver,
    private readonly clock: Clock,
  ) {
    this.pki = new SqlPkiRegistry(driver, clock);
    this.operatorAudit = new SqlOperatorAudit(driver, clock);
    this.accounts = new SqlAccountRegistry(driver, clock);
    this.overview = new SqlOverviewStats(driver);
  }

  async addOrganization(input: { name: string }): Promise<Organization> {
    const name = checkName(input?.name, 'organization.name');
    return this.driver.run('write', 'organization add', async (c) => {
      if (await c.get('SELECT 1 FROM organizations WHERE name = ?', [name])) {
        throw new RegistryError('CONFLICT', `'${name}' exists`, { field: 'organization.name' });
      }
      const r = await c.get('INSERT INTO organizations (name, created_at) VALUES (?, ?) RETURNING *', [
        name,
        this.clock.now(),
      ]);
      return rowToOrganization(r!);
    });
  }

  async listOrganizations(): Promise<Organization[]> {
    return this.driver.run('read', 'organization list', async (c) =>
      (await c.all('SELECT * FROM organizations ORDER BY id')).map(rowToOrganization),
    );
  }

  async getOrganization(ref: string | number): Promise<Organization | undefined> {
    const r = checkNetworkRef(ref, 'organization');
    return this.driver.run('read', 'organization get', async (c) => {
      const row = await c.get(
        `SELECT * FROM organizations WHERE ${typeof r === 'number' ? 'id' : 'name'} = ?`,
        [r],
      );
      return row ? rowToOrganization(row) : undefined;
    });
  }

  /** The organization new objects go to; NOT_FOUND (field organization) if it does not exist. */
  private async targetOrg(c: SqlConn, org: number | undefined): Promise<number> {
    const id = org ?? DEFAULT_ORGANIZATION_ID;
    if (!(await c.get('SELECT 1 FROM organizations WHERE id = ?', [id]))) {
      throw new RegistryError('NOT_FOUND', `no organization ${id}`, { field: 'organization' });
    }
    return id;
  }

  async addNetwork(input: { name: string; prefix: string }, org?: number): Promise<Network> {
    const name = checkName(input?.name, 'network.name');
    const prefix = parsePrefix64(input.prefix, 'network.prefix');
    checkOrg(org);
    return this.driver.run('write', 'network add', async (c) => {
      const orgId = await this.targetOrg(c, org);
      if (await networkByRef(c, name, orgId))
        throw new RegistryError('CONFLICT', `'${name}' exists`, { field: 'network.name' });
      // Prefixes are unique across organizations (identities are); another's network stays unnamed.
      const clash = await c.get('SELECT name, organization_id FROM networks WHERE prefix = ?', [
        toBuffer(prefix),
      ]);
      if (clash) {
        const by = Number(clash.organization_id) === orgId ? `'${String(clash.name)}'` : 'another network';
        throw new RegistryError('CONFLICT', `already used by ${by}`, { field: 'network.prefix' });
      }
      const r = await c.get(
        'INSERT INTO networks (name, prefix, created_at, organization_id) VALUES (?, ?, ?, ?) RETURNING *',
        [name, toBuffer(prefix), this.clock.now(), orgId],
      );
      return rowToNetwork(r!);
    });
  }

  async listNetworks(org?: number): Promise<Network[]> {
    const w = where([checkOrg(org) !== undefined && ['organization_id = ?', org]]);
    return this.driver.run('read', 'network list', async (c) =>
      (await c.all(`SELECT * FROM networks ${w.sql} ORDER BY id`, w.args)).map(rowToNetwork),
    );
  }

  async getNetwork(ref: string | number, org?: number): Promise<Network | undefined> {
    const r = checkNetworkRef(ref, 'network');
    checkOrg(org);
    return this.driver.run('read', 'network get', (c) => networkByRef(c, r, org));
  }

  async deleteNetwork(ref: string | number, org?: number): Promise<Network> {
    const r = checkNetworkRef(ref, 'network');
    checkOrg(org);
    return this.driver.run('write', 'network delete', async (c) => {
      const net = await networkByRef(c, r, org);
      if (!net) throw new RegistryError('NOT_FOUND', `no network '${r}'`, { field: 'network' });
      if (await c.get('SELECT 1 FROM batches WHERE network_id = ? LIMIT 1', [net.id])) {
        throw new RegistryError('CONFLICT', `'${net.name}' still has batches`, { field: 'network' });
      }
      await c.run('DELETE FROM networks WHERE id = ?', [net.id]);
      return net;
    });
  }

  async addBatch(input: NewBatch, org?: number): Promise<Batch> {
    checkNewBatch(input);
    checkOrg(org);
    const gid = sha256(concatBytes(input.gpk, input.basename));
    return this.driver.run('write', 'batch add', async (c) => {
      let networkId: number | null = null;
      let orgId = org;
      if (input.network !== undefined) {
        const net = await networkByRef(c, input.network, org);
        if (!net)
          throw new RegistryError('NOT_FOUND', `no network '${input.network}'`, { field: 'batch.network' });
        networkId = net.id;
        orgId = net.organizationId;
      }
      orgId = await this.targetOrg(c, orgId);
      // A gid belongs to at most one organization; the answer is the same whoever holds it.
      if (await c.get('SELECT 1 FROM batches WHERE gid = ?', [toBuffer(gid)])) {
        throw new RegistryError('CONFLICT', 'this GPK and basename are already registered', {
          field: 'batch.gpk',
        });
      }
      if (await c.get('SELECT 1 FROM batches WHERE name = ? AND organization_id = ?', [input.name, orgId])) {
        throw new RegistryError('CONFLICT', `'${input.name}' exists`, { field: 'batch.name' });
      }
      const r = await c.get(
        `INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at, organization_id)
         VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING *`,
        [
          toBuffer(gid),
          toBuffer(input.gpk),
          toBuffer(input.basename),
          input.name,
          networkId,
          input.size,
          this.clock.now(),
          orgId,
        ],
      );
      return rowToBatch(r!);
    });
  }

  async getBatch(gid: Uint8Array, org?: number): Promise<Batch | undefined> {
    checkGid(gid);
    checkOrg(org);
    return this.driver.run('read', 'batch get', (c) => batchByGid(c, gid, org));
  }

  async findBatch(ref: string, org?: number): Promise<Batch | undefined> {
    if (typeof ref !== 'string' || ref.length === 0) throw new ValidationError('batch', 'empty reference');
    checkOrg(org);
    if (/^[0-9a-fA-F]{64}$/.test(ref)) {
      const byGid = await this.getBatch(fromHex(ref, 'batch'), org);
      if (byGid) return byGid;
    }
    const name = checkName(ref, 'batch');
    return this.driver.run('read', 'batch find', async (c) => {
      const r = await c.get('SELECT * FROM batches WHERE name = ? AND organization_id = ?', [
        name,
        org ?? DEFAULT_ORGANIZATION_ID,
      ]);
      return r ? rowToBatch(r) : undefined;
    });
  }

  async listBatches(org?: number): Promise<BatchSummary[]> {
    const revoked = this.driver.dialect.countIf("d.status = 'revoked'");
    const w = where([checkOrg(org) !== undefined && ['b.organization_id = ?', org]]);
    return this.driver.run('read', 'batch list', async (c) =>
      (
        await c.all(
          `SELECT b.*, COUNT(d.pseudonym) AS devices, ${revoked} AS revoked_devices
           FROM batches b LEFT JOIN devices d ON d.gid = b.gid ${w.sql}
           GROUP BY b.gid ORDER BY b.created_at, b.name`,
          w.args,
        )
      ).map((r: Row) => ({
        ...rowToBatch(r),
        devices: Number(r.devices),
        revokedDevices: Number(r.revoked_devices),
      })),
    );
  }

  /** One UPDATE of a batch by gid (and organization when scoped), returning the updated row. */
  private updateBatch(
    gid: Uint8Array,
    org: number | undefined,
    what: string,
    sql: string,
    args: unknown[],
  ): Promise<Batch> {
    const s = scoped('organization_id', org);
    return this.driver.run('write', what, async (c) => {
      const r = await c.get(`${sql} WHERE gid = ?${s.sql} RETURNING *`, [...args, toBuffer(gid), ...s.args]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no batch with this gid`);
      return rowToBatch(r);
    });
  }

  async setBatchNetwork(gid: Uint8Array, network: string | number, org?: number): Promise<Batch> {
    checkGid(gid);
    checkOrg(org);
    const ref = checkNetworkRef(network, 'batch.network');
    return this.driver.run('write', 'batch assign', async (c) => {
      const batch = await batchByGid(c, gid, org);
      if (!batch) throw new RegistryError('NOT_FOUND', 'batch assign: no batch with this gid');
      // Only a network of the batch's own organization: a batch never crosses organizations.
      const net = await networkByRef(c, ref, batch.organizationId);
      if (!net) throw new RegistryError('NOT_FOUND', `no network '${ref}'`, { field: 'batch.network' });
      const r = await c.get('UPDATE batches SET network_id = ? WHERE gid = ? RETURNING *', [
        net.id,
        toBuffer(gid),
      ]);
      return rowToBatch(r!);
    });
  }

  async revokeBatch(gid: Uint8Array, org?: number): Promise<Batch> {
    checkGid(gid);
    checkOrg(org);
    return this.updateBatch(gid, org, 'batch revoke', "UPDATE batches SET status = 'revoked'", []);
  }

  async getDevice(gid: Uint8Array, pseudonym: Uint8Array, org?: number): Promise<Device | undefined> {
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkOrg(org);
    return this.driver.run('read', 'device get', (c) => deviceByKey(c, gid, pseudonym, org));
  }

  async getDeviceByIdentity(identity: Uint8Array, org?: number): Promise<Device | undefined> {
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    checkOrg(org);
    return this.driver.run('read', 'device get', (c) => deviceByIdentity(c, identity, org));
  }

  async listDevices(filter: DeviceFilter = {}, org?: number): Promise<Device[]> {
    checkDeviceFilter(filter);
    checkOrg(org);
    const { limit } = filter;
    return this.driver.run('read', 'device list', async (c) => {
      if (org !== undefined && filter.gid === undefined && limit !== undefined) {
        // A page of one organization: each of its batches' first `limit` devices by the index
        // (gid, first_handshake_at, identity), merged; no sort of the organization's whole fleet.
        const gids = (await c.all('SELECT gid FROM batches WHERE organization_id = ?', [org])).map(
          (r) => r.gid as Uint8Array,
        );
        if (gids.length === 0) return [];
        if (gids.length <= MERGED_BATCHES) {
          const parts = gids.map((gid) => deviceQuery({ ...filter, gid }, undefined));
          const sql = `${parts
            .map((q, i) => `SELECT * FROM (${q.sql} ${DEVICE_ORDER} LIMIT ?) AS p${i}`)
            .join(' UNION ALL ')} ${DEVICE_ORDER} LIMIT ?`;
          const args = [...parts.flatMap((q) => [...q.args, limit]), limit];
          return (await c.all(sql, args)).map(rowToDevice);
        }
      }
      const q = deviceQuery(filter, org);
      const sql = `${q.sql} ${DEVICE_ORDER}${limit === undefined ? '' : ' LIMIT ?'}`;
      return (await c.all(sql, limit === undefined ? q.args : [...q.args, limit])).map(rowToDevice);
    });
  }

  /** One UPDATE of a device by (gid, pseudonym) (and organization when scoped), returning the row. */
  private updateDevice(
    gid: Uint8Array,
    pseudonym: Uint8Array,
    org: number | undefined,
    what: string,
    sql: string,
    args: unknown[],
  ): Promise<Device> {
    checkGid(gid);
    checkPseudonym(pseudonym);
    checkOrg(org);
    const s = org === undefined ? '' : ` AND ${IN_ORG_BATCHES}`;
    return this.driver.run('write', what, async (c) => {
      const r = await c.get(`${sql} ${DEVICE_KEY}${s} RETURNING *`, [
        ...args,
        toBuffer(gid),
        toBuffer(pseudonym),
        ...(org === undefined ? [] : [org]),
      ]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no such device in this batch`);
      return rowToDevice(r);
    });
  }

  async revokeDevice(gid: Uint8Array, pseudonym: Uint8Array, org?: number): Promise<Device> {
    return this.updateDevice(
      gid,
      pseudonym,
      org,
      'device revoke',
      "UPDATE devices SET status = 'revoked'",
      [],
    );
  }

  async setAllowRekey(gid: Uint8Array, pseudonym: Uint8Array, allow: boolean, org?: number): Promise<Device> {
    if (typeof allow !== 'boolean') throw new ValidationError('allowRekey', 'not a boolean');
    return this.updateDevice(
      gid,
      pseudonym,
      org,
      'device allow-rekey',
      'UPDATE devices SET allow_rekey = ?',
      [allow],
    );
  }

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.driver.run('write', 'audit append', (c) => insertAudit(c, this.clock, entry));
  }

  async queryAudit(f: AuditFilter = {}, org?: number): Promise<AuditEntry[]> {
    checkAuditFilter(f);
    checkOrg(org);
    const w = where([
      org !== undefined && [
        `(${IN_ORG_BATCHES} OR ca_id IN (SELECT c.id FROM cas c JOIN networks n ON n.id = c.network_id
                                         WHERE n.organization_id = ?))`,
        org,
      ],
      f.since !== undefined && ['at >= ?', f.since],
      f.until !== undefined && ['at < ?', f.until],
      f.gid !== undefined && ['gid = ?', toBuffer(f.gid)],
      f.pseudonym !== undefined && ['pseudonym = ?', toBuffer(f.pseudonym)],
      f.outcome !== undefined && ['outcome = ?', f.outcome],
      f.beforeId !== undefined && ['id < ?', f.beforeId],
      f.identity !== undefined && ['identity = ?', toBuffer(f.identity)],
      f.method !== undefined && ["COALESCE(method, 'xtt') = ?", f.method],
    ]);
    // The organization condition has two placeholders, both its id.
    const args = org === undefined ? w.args : [org, ...w.args];
    const sql = `SELECT * FROM audit ${w.sql} ORDER BY id DESC LIMIT ?`;
    return this.driver.run('read', 'audit query', async (c) =>
      (await c.all(sql, [...args, f.limit ?? 100])).map(rowToAudit),
    );
  }

  async withOperatorAudit<T>(
    change: () => Promise<T>,
    describe: (result: T) => OperatorAuditInput | Promise<OperatorAuditInput>,
  ): Promise<{ result: T; entry: OperatorAuditEntry }> {
    // Every driver.run below joins this one write (driver.ts WriteScopes): one BEGIN..COMMIT.
    return this.driver.run('write', 'change with operator audit', async () => {
      const result = await change();
      const input = await describe(result);
      let entry: OperatorAuditEntry;
      try {
        entry = await this.operatorAudit.append(input);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new RegistryError(
          'STORAGE',
          `the change was not made: recording it in the operator audit failed (${why})`,
          { field: 'operatorAudit', cause: err },
        );
      }
      return { result, entry };
    });
  }

  async withTransaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    return this.driver.run('decision', 'transaction', async (c) => {
      const tx = new SqlTx(c, this.clock);
      try {
        return await fn(tx);
      } finally {
        tx.end();
      }
    });
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
