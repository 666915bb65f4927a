// The registry's PKI rules (pki-registry.ts), written once over the SQL driver (driver.ts) like
// sql-registry.ts: CAs registered with a network, their newest uploaded CRL (its serials in
// crl_entries), certificate devices (one per key per network, identity UNIQUE), and PKI audit rows
// in the shared append-only audit table (method 'pki', CA, certificate and key fingerprints).
// Decisions run as 'decision' transactions; on PostgreSQL the network's lock (lockBatch on a
// per-network key) serialises the decisions of one network across processes.
import { sha256 } from '@noble/hashes/sha2.js';
import { parseCertificate } from '../../protocol/pki/certificate.ts';
import { concatBytes, u32be } from '../../protocol/util/bytes.ts';
import type { SqlConn, SqlDriver } from './driver.ts';
import { RegistryError, ValidationError } from './errors.ts';
import type {
  CaRecord,
  CaSummary,
  CertDevice,
  CertDeviceFilter,
  CertificateInfo,
  NewCa,
  NewCertDevice,
  PkiAuditInput,
  PkiRegistry,
  PkiRegistryTx,
} from './pki-registry.ts';
import { toBuffer, type Row } from './rows.ts';
import type { Clock } from './registry.ts';
import { DEFAULT_ORGANIZATION_ID } from './schema.ts';
import {
  checkBytes,
  checkCertDeviceFilter,
  checkInt,
  checkName,
  checkNetworkRef,
  IDENTITY_LENGTH,
} from './validate.ts';

const isTrue = (v: unknown): boolean => v === true || Number(v) === 1;
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rowToCa(r: Row): CaRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    fingerprint: String(r.fingerprint),
    der: new Uint8Array(r.der as Uint8Array),
    subject: String(r.subject),
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    networkId: Number(r.network_id),
    maxDevices: numOrNull(r.max_devices),
    status: String(r.status) as CaRecord['status'],
    isVerified: isTrue(r.verified),
    createdAt: Number(r.created_at),
  };
}

function rowToCertDevice(r: Row): CertDevice {
  return {
    id: Number(r.id),
    caId: Number(r.ca_id),
    networkId: Number(r.network_id),
    keyFingerprint: String(r.key_fingerprint),
    identity: new Uint8Array(r.identity as Uint8Array),
    subject: String(r.subject),
    issuer: String(r.issuer),
    serial: String(r.serial),
    fingerprint: String(r.cert_fingerprint),
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    method: String(r.method),
    status: String(r.status) as CertDevice['status'],
    allowRekey: isTrue(r.allow_rekey),
    firstEnrolledAt: Number(r.first_enrolled_at),
    lastEnrolledAt: Number(r.last_enrolled_at),
    enrollCount: Number(r.enroll_count),
    lastSource: r.last_source === null ? null : String(r.last_source),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** An optional organization scope (pki-registry.ts): undefined, or a positive integer id. */
function checkOrg(org: number | undefined): void {
  if (org !== undefined) checkInt(org, 'organization', 1, Number.MAX_SAFE_INTEGER);
}

/** ` AND <column> = ?` and its argument when scoped, nothing when not. */
function scoped(column: string, org: number | undefined): { sql: string; args: unknown[] } {
  return org === undefined ? { sql: '', args: [] } : { sql: ` AND ${column} = ?`, args: [org] };
}

function checkFingerprint(v: string, field: string): void {
  if (!HEX64.test(v)) throw new ValidationError(field, 'not a lower-case hex SHA-256');
}

/** The per-network lock key for decisions (PostgreSQL advisory lock; SQLite needs none). */
function networkLockKey(networkId: number): Uint8Array {
  return sha256(concatBytes(new TextEncoder().encode('enf-pki-network'), u32be(networkId)));
}

async function caById(c: SqlConn, id: number): Promise<CaRecord | undefined> {
  const r = await c.get('SELECT * FROM cas WHERE id = ?', [id]);
  return r ? rowToCa(r) : undefined;
}

class SqlPkiTx implements PkiRegistryTx {
  private readonly locked = new Set<number>();
  constructor(
    private readonly c: SqlConn,
    private readonly clock: Clock,
  ) {}

  private async lock(networkId: number): Promise<void> {
    if (this.locked.has(networkId)) return;
    await this.c.lockBatch(networkLockKey(networkId));
    this.locked.add(networkId);
  }

  async getCa(id: number): Promise<CaRecord | undefined> {
    const ca = await caById(this.c, id);
    if (ca) await this.lock(ca.networkId);
    return ca;
  }

  async getNetworkPrefix(networkId: number): Promise<Uint8Array> {
    const r = await this.c.get('SELECT prefix FROM networks WHERE id = ?', [networkId]);
    if (!r) throw new RegistryError('NOT_FOUND', `network ${networkId} is gone`);
    return new Uint8Array(r.prefix as Uint8Array);
  }

  async countCaDevices(caId: number): Promise<number> {
    return Number((await this.c.get('SELECT COUNT(*) AS n FROM cert_devices WHERE ca_id = ?', [caId]))!.n);
  }

  async getCertDeviceByKey(networkId: number, keyFingerprint: string): Promise<CertDevice | undefined> {
    await this.lock(networkId);
    const r = await this.c.get('SELECT * FROM cert_devices WHERE network_id = ? AND key_fingerprint = ?', [
      networkId,
      keyFingerprint,
    ]);
    return r ? rowToCertDevice(r) : undefined;
  }

  async findRekeyable(caId: number, subject: string): Promise<CertDevice | undefined> {
    const r = await this.c.get(
      'SELECT * FROM cert_devices WHERE ca_id = ? AND subject = ? AND allow_rekey = ? ORDER BY id LIMIT 1',
      [caId, subject, true],
    );
    return r ? rowToCertDevice(r) : undefined;
  }

  async isIdentityTaken(identity: Uint8Array): Promise<boolean> {
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    const b = toBuffer(identity);
    return (
      (await this.c.get('SELECT 1 AS x FROM devices WHERE identity = ?', [b])) !== undefined ||
      (await this.c.get('SELECT 1 AS x FROM cert_devices WHERE identity = ?', [b])) !== undefined
    );
  }

  async insertCertDevice(d: NewCertDevice): Promise<CertDevice> {
    checkFingerprint(d.keyFingerprint, 'device.keyFingerprint');
    checkBytes(d.identity, 'device.identity', IDENTITY_LENGTH);
    await this.lock(d.networkId);
    const at = this.clock.now();
    const r = await this.c.get(
      `INSERT INTO cert_devices (ca_id, network_id, key_fingerprint, identity, subject, issuer, serial,
         cert_fingerprint, not_before, not_after, method, status, allow_rekey, first_enrolled_at,
         last_enrolled_at, enroll_count, last_source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, 1, ?) RETURNING *`,
      [
        d.caId,
        d.networkId,
        d.keyFingerprint,
        toBuffer(d.identity),
        d.subject,
        d.issuer,
        d.serial,
        d.fingerprint,
        d.notBefore,
        d.notAfter,
        d.method,
        false,
        at,
        at,
        d.source,
      ],
    );
    return rowToCertDevice(r!);
  }

  async touchCertDevice(
    id: number,
    cert: CertificateInfo,
    caId: number,
    method: string,
    source: string,
  ): Promise<void> {
    const n = await this.c.run(
      `UPDATE cert_devices SET subject = ?, issuer = ?, serial = ?, cert_fingerprint = ?, not_before = ?,
         not_after = ?, ca_id = ?, method = ?, last_source = ?, last_enrolled_at = ?,
         enroll_count = enroll_count + 1 WHERE id = ?`,
      [
        cert.subject,
        cert.issuer,
        cert.serial,
        cert.fingerprint,
        cert.notBefore,
        cert.notAfter,
        caId,
        method,
        source,
        this.clock.now(),
        id,
      ],
    );
    if (n === 0) throw new RegistryError('NOT_FOUND', `certificate device ${id} is gone`);
  }

  async rekeyCertDevice(id: number, keyFingerprint: string): Promise<void> {
    checkFingerprint(keyFingerprint, 'device.keyFingerprint');
    const n = await this.c.run(
      'UPDATE cert_devices SET key_fingerprint = ?, allow_rekey = ? WHERE id = ? AND allow_rekey = ?',
      [keyFingerprint, false, id, true],
    );
    if (n === 0) throw new ValidationError('device.allowRekey', 'device is unknown or not allowed to re-key');
  }

  async isSerialRevoked(caId: number, serial: string): Promise<boolean> {
    return (
      (await this.c.get('SELECT 1 AS x FROM crl_entries WHERE ca_id = ? AND serial = ?', [caId, serial])) !==
      undefined
    );
  }

  async appendPkiAudit(e: PkiAuditInput): Promise<void> {
    await insertPkiAudit(this.c, this.clock, e);
  }
}

async function insertPkiAudit(c: SqlConn, clock: Clock, e: PkiAuditInput): Promise<void> {
  if (e.identity) checkBytes(e.identity, 'audit.identity', IDENTITY_LENGTH);
  await c.run(
    `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason,
       geolocation, identity, method, ca_id, cert_subject, cert_serial, cert_fingerprint, key_fingerprint)
     VALUES (?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, 'pki', ?, ?, ?, ?, ?)`,
    [
      clock.now(),
      e.sourceAddress,
      e.sourcePort,
      e.outcome,
      e.reason,
      e.geolocation,
      e.identity ? toBuffer(e.identity) : null,
      e.caId,
      e.certificate?.subject ?? null,
      e.certificate?.serial ?? null,
      e.certificate?.fingerprint ?? null,
      e.keyFingerprint,
    ],
  );
}

export class SqlPkiRegistry implements PkiRegistry {
  constructor(
    private readonly driver: SqlDriver,
    private readonly clock: Clock,
  ) {}

  async listCas(org?: number): Promise<CaSummary[]> {
    checkOrg(org);
    const revoked = this.driver.dialect.countIf("d.status = 'revoked'");
    const w = org === undefined ? { sql: '', args: [] } : { sql: 'WHERE a.organization_id = ?', args: [org] };
    return this.driver.run('read', 'ca list', async (c) =>
      (
        await c.all(
          `SELECT a.*, COUNT(d.id) AS devices, ${revoked} AS revoked_devices,
             (SELECT COUNT(*) FROM crl_entries e WHERE e.ca_id = a.id) AS crl_entries,
             (SELECT this_update FROM crls r WHERE r.ca_id = a.id) AS crl_this_update
           FROM cas a LEFT JOIN cert_devices d ON d.ca_id = a.id ${w.sql} GROUP BY a.id ORDER BY a.id`,
          w.args,
        )
      ).map((r) => ({
        ...rowToCa(r),
        devices: Number(r.devices),
        revokedDevices: Number(r.revoked_devices),
        crlEntries: Number(r.crl_entries),
        crlThisUpdate: numOrNull(r.crl_this_update),
      })),
    );
  }

  async addCa(input: NewCa, org?: number): Promise<CaRecord> {
    checkOrg(org);
    const name = checkName(input?.name, 'ca.name');
    const network = checkNetworkRef(input.network, 'ca.network');
    if (input.maxDevices !== null && (!Number.isSafeInteger(input.maxDevices) || input.maxDevices < 1))
      throw new ValidationError('ca.maxDevices', 'must be a positive integer or none');
    let cert;
    try {
      cert = parseCertificate(input.der);
    } catch (e) {
      throw new ValidationError('ca.certificate', `not an X.509 certificate: ${(e as Error).message}`);
    }
    if (!cert.isCa)
      throw new ValidationError(
        'ca.certificate',
        `${cert.subject} is not a CA certificate (basicConstraints cA)`,
      );
    return this.driver.run('write', 'ca add', async (c) => {
      const s = scoped('organization_id', org);
      const net =
        typeof network === 'number'
          ? await c.get(`SELECT id, organization_id FROM networks WHERE id = ?${s.sql}`, [network, ...s.args])
          : await c.get('SELECT id, organization_id FROM networks WHERE name = ? AND organization_id = ?', [
              network,
              org ?? DEFAULT_ORGANIZATION_ID,
            ]);
      if (!net) throw new RegistryError('NOT_FOUND', `no network '${network}'`, { field: 'ca.network' });
      // The CA is in its network's organization; its name need only be free there.
      const orgId = Number(net.organization_id);
      if (await c.get('SELECT 1 AS x FROM cas WHERE name = ? AND organization_id = ?', [name, orgId]))
        throw new RegistryError('CONFLICT', `ca.name: '${name}' exists`);
      if (await c.get('SELECT 1 AS x FROM cas WHERE fingerprint = ?', [cert.fingerprint]))
        throw new RegistryError('CONFLICT', 'ca.certificate: this CA certificate is already registered');
      const r = await c.get(
        `INSERT INTO cas (name, fingerprint, der, subject, not_before, not_after, network_id, max_devices,
           status, verified, created_at, organization_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) RETURNING *`,
        [
          name,
          cert.fingerprint,
          toBuffer(input.der),
          cert.subject,
          cert.notBefore,
          cert.notAfter,
          Number(net.id),
          input.maxDevices,
          false,
          this.clock.now(),
          orgId,
        ],
      );
      return rowToCa(r!);
    });
  }

  async findCa(ref: string, org?: number): Promise<CaRecord | undefined> {
    if (typeof ref !== 'string' || ref.length === 0) throw new ValidationError('ca', 'empty reference');
    checkOrg(org);
    const s = scoped('organization_id', org);
    return this.driver.run('read', 'ca find', async (c) => {
      const r =
        (await c.get('SELECT * FROM cas WHERE name = ? AND organization_id = ?', [
          ref,
          org ?? DEFAULT_ORGANIZATION_ID,
        ])) ??
        (HEX64.test(ref)
          ? await c.get(`SELECT * FROM cas WHERE fingerprint = ?${s.sql}`, [ref, ...s.args])
          : undefined) ??
        (/^[0-9]{1,15}$/.test(ref)
          ? await c.get(`SELECT * FROM cas WHERE id = ?${s.sql}`, [Number(ref), ...s.args])
          : undefined);
      return r ? rowToCa(r) : undefined;
    });
  }

  private updateCa(id: number, what: string, sql: string, args: unknown[]): Promise<CaRecord> {
    return this.driver.run('write', what, async (c) => {
      const r = await c.get(`${sql} WHERE id = ? RETURNING *`, [...args, id]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no CA ${id}`);
      return rowToCa(r);
    });
  }

  revokeCa(id: number): Promise<CaRecord> {
    return this.updateCa(id, 'ca revoke', "UPDATE cas SET status = 'revoked'", []);
  }

  markCaVerified(id: number): Promise<CaRecord> {
    return this.updateCa(id, 'ca verify', 'UPDATE cas SET verified = ?', [true]);
  }

  async putCrl(
    caId: number,
    crl: { der: Uint8Array; thisUpdate: number; nextUpdate: number | null; serials: readonly string[] },
  ): Promise<{ replaced: boolean; entries: number }> {
    for (const s of crl.serials)
      if (!/^[0-9A-F]{1,64}$/.test(s)) throw new ValidationError('crl.serial', `bad serial ${s}`);
    return this.driver.run('write', 'ca crl', async (c) => {
      if (!(await caById(c, caId))) throw new RegistryError('NOT_FOUND', `ca crl: no CA ${caId}`);
      const old = await c.get('SELECT this_update FROM crls WHERE ca_id = ?', [caId]);
      if (old && Number(old.this_update) > crl.thisUpdate) {
        throw new RegistryError('CONFLICT', 'crl: older than the CRL already stored (thisUpdate)');
      }
      await c.run('DELETE FROM crl_entries WHERE ca_id = ?', [caId]);
      await c.run('DELETE FROM crls WHERE ca_id = ?', [caId]);
      await c.run(
        'INSERT INTO crls (ca_id, der, this_update, next_update, uploaded_at) VALUES (?, ?, ?, ?, ?)',
        [caId, toBuffer(crl.der), crl.thisUpdate, crl.nextUpdate, this.clock.now()],
      );
      for (const s of new Set(crl.serials))
        await c.run('INSERT INTO crl_entries (ca_id, serial) VALUES (?, ?)', [caId, s]);
      return { replaced: old !== undefined, entries: new Set(crl.serials).size };
    });
  }

  async listCertDevices(filter: CertDeviceFilter = {}): Promise<CertDevice[]> {
    const f = checkCertDeviceFilter(filter);
    const conds: [string, unknown][] = [];
    if (f.caId !== undefined) conds.push(['ca_id = ?', f.caId]);
    if (f.status !== undefined) conds.push(['status = ?', f.status]);
    if (f.organizationId !== undefined)
      conds.push(['network_id IN (SELECT id FROM networks WHERE organization_id = ?)', f.organizationId]);
    if (f.firstSince !== undefined) conds.push(['first_enrolled_at >= ?', f.firstSince]);
    if (f.firstUntil !== undefined) conds.push(['first_enrolled_at < ?', f.firstUntil]);
    if (f.lastSince !== undefined) conds.push(['last_enrolled_at >= ?', f.lastSince]);
    if (f.afterId !== undefined) conds.push(['id > ?', f.afterId]);
    const whereSql = conds.length ? 'WHERE ' + conds.map(([c]) => c).join(' AND ') : '';
    const args = conds.map(([, v]) => v);
    if (f.limit !== undefined) args.push(f.limit);
    const sql = `SELECT * FROM cert_devices ${whereSql} ORDER BY id${f.limit === undefined ? '' : ' LIMIT ?'}`;
    return this.driver.run('read', 'cert device list', async (c) =>
      (await c.all(sql, args)).map(rowToCertDevice),
    );
  }

  async getCertDeviceByIdentity(identity: Uint8Array): Promise<CertDevice | undefined> {
    checkBytes(identity, 'identity', IDENTITY_LENGTH);
    return this.driver.run('read', 'cert device get', async (c) => {
      const r = await c.get('SELECT * FROM cert_devices WHERE identity = ?', [toBuffer(identity)]);
      return r ? rowToCertDevice(r) : undefined;
    });
  }

  private updateDevice(id: number, what: string, sql: string, args: unknown[]): Promise<CertDevice> {
    return this.driver.run('write', what, async (c) => {
      const r = await c.get(`${sql} WHERE id = ? RETURNING *`, [...args, id]);
      if (!r) throw new RegistryError('NOT_FOUND', `${what}: no certificate device ${id}`);
      return rowToCertDevice(r);
    });
  }

  revokeCertDevice(id: number): Promise<CertDevice> {
    return this.updateDevice(id, 'device revoke', "UPDATE cert_devices SET status = 'revoked'", []);
  }

  setCertDeviceAllowRekey(id: number, allow: boolean): Promise<CertDevice> {
    if (typeof allow !== 'boolean') throw new ValidationError('allowRekey', 'not a boolean');
    return this.updateDevice(id, 'device allow-rekey', 'UPDATE cert_devices SET allow_rekey = ?', [allow]);
  }

  withPkiTransaction<T>(fn: (tx: PkiRegistryTx) => Promise<T>): Promise<T> {
    return this.driver.run('decision', 'pki decision', (c) => fn(new SqlPkiTx(c, this.clock)));
  }
}
