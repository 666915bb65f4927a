// The registry suite against the SQLite backend on disk in a temp dir, plus SQLite-specific checks:
// pragmas, migrations table, append-only audit, schema versions newer than the program.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../../../../server-stub/registry/errors.ts';
import { MIGRATIONS } from '../../../../server-stub/registry/schema.ts';
import { migrateSqlite, SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';
import { expectedSchema, readSqliteSchema } from '../../../helpers/registry-schema.ts';
import { comparable, sqliteArgs, V3_ROWS, V3_TABLES } from '../../../helpers/registry-v3-seed.ts';
import { V8_CA_ORGANIZATIONS, V8_ROWS, V8_TABLES } from '../../../helpers/registry-v8-seed.ts';
import { registrySuite, snapshot, testGpk, type RegistryFactory } from './_registry-suite.ts';

function tempFile(): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'enf-registry-'));
  return { dir, file: join(dir, 'registry.sqlite') };
}

const sqliteFactory: RegistryFactory = async () => {
  const { dir, file } = tempFile();
  return {
    open: async () => SqliteRegistry.open(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    sql: {
      dialect: 'sqlite',
      exec: async (statement) => {
        const db = new Database(file);
        try {
          db.exec(statement);
        } finally {
          db.close();
        }
      },
    },
  };
};

registrySuite(test, 'sqlite', sqliteFactory);

/** A registry file at schema `version` holding `rows` (as a registry of that version wrote them). */
function registryAt(file: string, version: number, rows: readonly { sql: string; args: unknown[] }[]) {
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrateSqlite(
    db,
    MIGRATIONS.filter((m) => m.version <= version),
  );
  for (const { sql, args } of rows) db.prepare(sql).run(...sqliteArgs(args));
  return db;
}

/** Every row of `tables`, in insertion order, in comparable form. */
function dumpTables(db: Database.Database, tables: readonly string[]) {
  return Object.fromEntries(
    tables.map((table) => [
      table,
      (db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[]).map(
        comparable,
      ),
    ]),
  );
}

test('sqlite: WAL, foreign keys and the migrations table are set up; reopening keeps data', async (t) => {
  const { dir, file } = tempFile();
  const r = SqliteRegistry.open(file);
  await r.addNetwork({ name: 'n1', prefix: '2001:db8:5::/64' });
  await r.addBatch({ gpk: testGpk(), basename: new Uint8Array([1, 2]), name: 'b1', network: 'n1', size: 3 });
  const before = await snapshot(r);
  await r.close();
  const db = new Database(file, { readonly: true });
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as {
    version: number;
  }[];
  t.deepEqual(
    versions.map((v) => v.version),
    MIGRATIONS.map((m) => m.version),
  );
  db.close();
  const again = SqliteRegistry.open(file);
  t.deepEqual(await snapshot(again), before);
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: the live schema is the one description (schema.ts), also after upgrading a version 1 file', async (t) => {
  const { dir, file } = tempFile();
  // A registry made by the program before migration 2, with data in it.
  const old = new Database(file);
  migrateSqlite(old, MIGRATIONS.slice(0, 1));
  old.close();
  const r = SqliteRegistry.open(file);
  await r.addNetwork({ name: 'n1', prefix: '2001:db8:5::/64' });
  await r.close();
  const db = new Database(file, { readonly: true });
  t.deepEqual(readSqliteSchema(db), expectedSchema('sqlite'));
  db.close();
  const fresh = tempFile();
  await SqliteRegistry.open(fresh.file).close();
  const db2 = new Database(fresh.file, { readonly: true });
  t.deepEqual(readSqliteSchema(db2), expectedSchema('sqlite'));
  db2.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(fresh.dir, { recursive: true, force: true });
});

test('sqlite: a version 3 registry with data migrates to organizations: nothing lost, all in the default organization', async (t) => {
  const { dir, file } = tempFile();
  const old = registryAt(file, 3, V3_ROWS);
  const dump = (db: Database.Database) => dumpTables(db, V3_TABLES);
  const before = dump(old);
  old.close();
  const r = SqliteRegistry.open(file);
  t.deepEqual(
    (await r.listOrganizations()).map((o) => [o.id, o.name]),
    [[1, 'default']],
  );
  t.deepEqual(
    [...(await r.listNetworks()), ...(await r.listBatches())].map((x) => x.organizationId),
    [1, 1, 1, 1],
  );
  t.is((await r.getDeviceByIdentity(new Uint8Array(16).fill(0x20), 1))?.handshakeCount, 2);
  await r.close();
  const db = new Database(file);
  t.deepEqual(dump(db), before);
  t.deepEqual(
    db
      .prepare('SELECT DISTINCT organization_id FROM networks UNION SELECT organization_id FROM batches')
      .pluck()
      .all(),
    [1],
  );
  t.deepEqual(db.pragma('foreign_key_check'), []);
  t.deepEqual(readSqliteSchema(db), expectedSchema('sqlite'));
  db.close();
  // The migrated registry keeps working: a second organization may reuse the names.
  const again = SqliteRegistry.open(file);
  const acme = await again.addOrganization({ name: 'acme' });
  t.is(acme.id, 2);
  t.is((await again.addNetwork({ name: 'plant-a', prefix: '2001:db8:77::/64' }, acme.id)).organizationId, 2);
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: a version 7 registry with users migrates to the shared sign-in throttle (8): users kept, throttle usable', async (t) => {
  const { dir, file } = tempFile();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = new Database(file);
  old.pragma('foreign_keys = ON');
  migrateSqlite(
    old,
    MIGRATIONS.filter((m) => m.version <= 7),
  );
  old
    .prepare(
      `INSERT INTO users (name, organization_id, role, password_hash, disabled, created_at, password_changed_at)
       VALUES ('alice', 1, 'admin', 'scrypt$x', 0, 1, 1)`,
    )
    .run();
  t.false(Boolean(old.prepare("SELECT 1 FROM sqlite_master WHERE name = 'login_failures'").get()));
  old.close();
  const r = SqliteRegistry.open(file);
  t.like(await r.accounts.getUser('alice'), { name: 'alice', organizationId: 1, role: 'admin' });
  await r.accounts.recordLoginFailure('alice', '192.0.2.1', 10, 0);
  t.deepEqual((await r.accounts.loginThrottleState('alice', '192.0.2.1')).account, { count: 1, last: 10 });
  await r.close();
  const db = new Database(file);
  t.deepEqual(readSqliteSchema(db), expectedSchema('sqlite'));
  t.true((db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]).includes(8));
  db.close();
});

test("sqlite: a version 8 registry with CAs migrates: each CA in its network's organization, nothing lost, names per organization", async (t) => {
  const { dir, file } = tempFile();
  const old = registryAt(file, 8, V8_ROWS);
  const dump = (db: Database.Database) => dumpTables(db, V8_TABLES);
  const before = dump(old);
  old.close();
  const r = SqliteRegistry.open(file);
  t.is((await r.pki.findCa('ca-acme', 2))?.id, 2);
  t.is(await r.pki.findCa('ca-acme'), undefined, "unscoped names are the default organization's");
  t.is((await r.pki.findCa('ca-default'))?.id, 1);
  t.deepEqual(
    (await r.pki.listCas(2)).map((c) => [c.id, c.crlEntries, c.devices]),
    [[2, 1, 1]],
  );
  await r.close();
  const db = new Database(file);
  t.deepEqual(dump(db), before);
  t.deepEqual(
    db.prepare('SELECT id, organization_id FROM cas ORDER BY id').raw().all(),
    V8_CA_ORGANIZATIONS.map(([id, org]) => [id, org]),
  );
  t.deepEqual(db.pragma('foreign_key_check'), []);
  t.deepEqual(readSqliteSchema(db), expectedSchema('sqlite'));
  // A name is now free per organization, still unique inside one.
  const insert = db.prepare(
    `INSERT INTO cas (name, fingerprint, der, subject, not_before, not_after, network_id, max_devices,
                      status, verified, created_at, organization_id)
     VALUES ('ca-acme', ?, x'00', 'CN=x', 0, 1, ?, NULL, 'active', 0, 1, ?)`,
  );
  t.notThrows(() => insert.run('e'.repeat(64), 1, 1));
  t.throws(() => insert.run('f'.repeat(64), 2, 2), { any: true, message: /UNIQUE/ });
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: the audit and operator audit tables refuse updates and deletes', async (t) => {
  const { dir, file } = tempFile();
  const r = SqliteRegistry.open(file);
  await r.appendAudit({
    sourceAddress: '192.0.2.7',
    sourcePort: 5000,
    gid: null,
    pseudonym: null,
    suite: null,
    outcome: 'failed',
    reason: 'bad-message',
    geolocation: null,
    identity: null,
  });
  await r.close();
  const db = new Database(file);
  t.throws(() => db.prepare("UPDATE audit SET reason = 'x'").run(), { any: true, message: /append-only/ });
  t.throws(() => db.prepare('DELETE FROM audit').run(), { any: true, message: /append-only/ });
  t.is((db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n, 1);
  // The operator audit is held to the same rule.
  db.prepare(
    "INSERT INTO operator_audit (at, actor, action, object_type, object_id, source) VALUES (1, 'cli:x', 'network.add', 'network', '1', 'cli')",
  ).run();
  t.throws(() => db.prepare("UPDATE operator_audit SET actor = 'x'").run(), {
    any: true,
    message: /append-only/,
  });
  t.throws(() => db.prepare('DELETE FROM operator_audit').run(), { any: true, message: /append-only/ });
  t.is((db.prepare('SELECT COUNT(*) AS n FROM operator_audit').get() as { n: number }).n, 1);
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: foreign keys refuse a device of an unknown batch inside a transaction', async (t) => {
  const { dir, file } = tempFile();
  const r = SqliteRegistry.open(file);
  const err = await t.throwsAsync(
    r.withTransaction((tx) =>
      tx.insertDevice({
        gid: new Uint8Array(32),
        pseudonym: new Uint8Array(65).fill(4),
        identity: new Uint8Array(16).fill(1),
        longtermPublicKey: new Uint8Array(65).fill(4),
        source: '::1 1',
      }),
    ),
    { instanceOf: RegistryError },
  );
  t.is(err?.code, 'CONFLICT');
  t.deepEqual(await r.listDevices(), []);
  await r.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: a registry written by a newer program is refused, not guessed at', async (t) => {
  const { dir, file } = tempFile();
  await SqliteRegistry.open(file).close();
  const db = new Database(file);
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
    999,
    'future',
    0,
  );
  db.close();
  const err = t.throws(() => SqliteRegistry.open(file), { instanceOf: RegistryError });
  t.is(err?.code, 'SCHEMA');
  t.regex(err?.message ?? '', /999/);
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: an unopenable path is a STORAGE error naming the path', (t) => {
  const err = t.throws(() => SqliteRegistry.open('/nonexistent-dir/x/registry.sqlite'), {
    instanceOf: RegistryError,
  });
  t.is(err?.code, 'STORAGE');
  t.regex(err?.message ?? '', /nonexistent-dir/);
});

test('sqlite: a transaction that throws leaves nothing behind', async (t) => {
  const { dir, file } = tempFile();
  const r = SqliteRegistry.open(file);
  await r.addNetwork({ name: 'n1', prefix: '2001:db8:5::/64' });
  const b = await r.addBatch({
    gpk: testGpk(),
    basename: new Uint8Array([1]),
    name: 'b1',
    network: 'n1',
    size: 3,
  });
  const before = await snapshot(r);
  await t.throwsAsync(
    r.withTransaction(async (tx) => {
      await tx.insertDevice({
        gid: b.gid,
        pseudonym: new Uint8Array(65).fill(4),
        identity: new Uint8Array(16).fill(1),
        longtermPublicKey: new Uint8Array(65).fill(4),
        source: '::1 1',
      });
      throw new Error('policy blew up');
    }),
    { message: 'policy blew up' },
  );
  t.deepEqual(await snapshot(r), before);
  await r.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Commit frames in a WAL file (frame header bytes 4-7 = database size after a commit, else 0). */
function walCommits(file: string): number {
  const wal = readFileSync(`${file}-wal`);
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
    // only frames of the current WAL generation (salts equal the header's)
    if (
      wal.readUInt32BE(off + 8) !== wal.readUInt32BE(16) ||
      wal.readUInt32BE(off + 12) !== wal.readUInt32BE(20)
    )
      break;
    if (wal.readUInt32BE(off + 4) !== 0) commits++;
  }
  return commits;
}

test('sqlite: transactions queued together share one commit; each answers only once it is committed; a failing one rolls back alone', async (t) => {
  const { dir, file } = tempFile();
  const r = SqliteRegistry.open(file);
  await r.addNetwork({ name: 'n1', prefix: '2001:db8:5::/64' });
  const b = await r.addBatch({
    gpk: testGpk(),
    basename: new Uint8Array([1]),
    name: 'b1',
    network: 'n1',
    size: 100,
  });
  const before = walCommits(file);
  const reader = new Database(file, { readonly: true });
  const committed = (identity: Uint8Array): boolean =>
    reader.prepare('SELECT 1 FROM devices WHERE identity = ?').get(Buffer.from(identity)) !== undefined;
  const device = (i: number) => ({
    gid: b.gid,
    pseudonym: Uint8Array.from({ length: 65 }, (_, k) => (k === 0 ? 4 : i)),
    identity: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, i),
    longtermPublicKey: new Uint8Array(65).fill(4),
    source: '::1 1',
  });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      r
        .withTransaction(async (tx) => {
          await tx.insertDevice(device(i + 1));
          if (i === 7) throw new Error('policy blew up');
          // i = 12 takes i = 11's identity: a UNIQUE violation inside the group
          if (i === 12) await tx.insertDevice({ ...device(40), identity: device(12).identity });
          return i;
        })
        .then((v) => {
          // another connection sees the row by the time the caller hears of it
          t.true(committed(device(v + 1).identity), `device ${v} committed before the answer`);
          return v;
        }),
    ),
  );
  t.is(walCommits(file) - before, 1, 'one COMMIT for the whole group');
  t.deepEqual(
    results.map((x) => x.status),
    results.map((_, i) => (i === 7 || i === 12 ? 'rejected' : 'fulfilled')),
  );
  const err = (results[12] as PromiseRejectedResult).reason as RegistryError;
  t.is(err.code, 'CONFLICT');
  t.is((await r.listDevices()).length, 18);
  t.false(committed(device(8).identity));
  t.false(committed(device(13).identity));
  reader.close();
  await r.close();
  const again = SqliteRegistry.open(file);
  t.is((await again.listDevices()).length, 18);
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});
