// The PostgreSQL registry backend against a real PostgreSQL server started by the test
// (test/helpers/postgres.ts): the shared registry suite, then what matters with several enf-server
// processes on one registry: concurrent allocation never hands an identity out twice, a revocation
// made through one instance is refused by another at once, concurrent migrations, the append-only
// audit, a newer schema refused, and the management API's network delete and audit paging on it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { toHex } from '../../../protocol/util/bytes.ts';
import { IdentityPolicy, REASONS } from '../../../server-stub/policy/identity-policy.ts';
import { RegistryError } from '../../../server-stub/registry/errors.ts';
import { MIGRATIONS } from '../../../server-stub/registry/schema.ts';
import { migratePg, PostgresRegistry } from '../../../server-stub/registry/postgres-registry.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.ts';
import { expectedSchema, readPostgresSchema } from '../../helpers/registry-schema.ts';
import { comparable, pgPlaceholders, V3_ROWS, V3_TABLES } from '../../helpers/registry-v3-seed.ts';
import { V8_CA_ORGANIZATIONS, V8_ROWS, V8_TABLES } from '../../helpers/registry-v8-seed.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import {
  registrySuite,
  snapshot,
  testGpk,
  type RegistryFactory,
} from '../../unit/server-stub/registry/_registry-suite.ts';
import { deviceKey, devicePseudonym } from './_registry-child.ts';
import { startApi } from './http/_fixtures.ts';

const test = suiteRequires('postgres registry', ['postgres']);
const CHILD = fileURLToPath(new URL('./_postgres-child.ts', import.meta.url));

let server: Promise<PostgresServer> | undefined;
const pgServer = (): Promise<PostgresServer> => (server ??= startPostgres());
test.after.always(async () => {
  if (server) await (await server).stop();
});

const pgFactory: RegistryFactory = async () => {
  const connection = await (await pgServer()).createDatabase();
  return {
    open: () => PostgresRegistry.open({ connection }),
    cleanup: async () => undefined,
    sql: {
      dialect: 'postgres',
      exec: async (statement) => {
        const c = new pg.Client(connection);
        await c.connect();
        try {
          await c.query(statement);
        } finally {
          await c.end();
        }
      },
    },
  };
};

registrySuite(test, 'postgres', pgFactory);

async function setup(size = 1000) {
  const connection = await (await pgServer()).createDatabase();
  const a = await PostgresRegistry.open({ connection });
  await a.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  const batch = await a.addBatch({
    gpk: testGpk(),
    basename: new Uint8Array([1]),
    name: 'lot-1',
    network: 'plant-a',
    size,
  });
  return { connection, a, batch };
}

function runChild(
  conn: pg.PoolConfig,
  gid: Uint8Array,
  label: string,
  start: number,
  count: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, JSON.stringify(conn), toHex(gid), label, String(start), String(count)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`child exit ${code}: ${err}`)),
    );
  });
}

test('postgres: three processes provisioning overlapping devices: one identity each, none shared', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const { connection, a, batch } = await setup();
  try {
    // Each process handshakes devices 0..39 in its own order of start; overlapping ranges race.
    const outs = await Promise.all([
      runChild(connection, batch.gid, 'd', 0, 40),
      runChild(connection, batch.gid, 'd', 10, 30),
      runChild(connection, batch.gid, 'd', 20, 20),
    ]);
    const byDevice = new Map<string, Set<string>>();
    for (const line of outs.flat()) {
      const [kind, p, id] = line.split(' ');
      t.is(kind, 'ok', line);
      const s = byDevice.get(p!) ?? new Set();
      s.add(id!);
      byDevice.set(p!, s);
    }
    t.is(byDevice.size, 40);
    for (const ids of byDevice.values())
      t.is(ids.size, 1, 'one device, one identity, whichever process answered');
    const devices = await a.listDevices();
    t.is(devices.length, 40);
    t.is(new Set(devices.map((d) => toHex(d.identity))).size, 40, 'no identity handed out twice');
    t.is((await a.queryAudit({ outcome: 'provisioned', limit: 1000 })).length, 90);
  } finally {
    await a.close();
  }
});

test('postgres: a revocation through one instance is refused by another at the next handshake', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const { connection, a, batch } = await setup();
  const b = await PostgresRegistry.open({ connection });
  try {
    const pa = new IdentityPolicy(a);
    const pb = new IdentityPolicy(b);
    const req = {
      gid: batch.gid,
      pseudonym: devicePseudonym('r', 1),
      longtermPublicKey: deviceKey('r', 1),
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.1', port: 1 },
    };
    const first = await pa.assignIdentity(req);
    t.true(first.ok);
    t.true((await pb.assignIdentity(req)).ok);
    await a.revokeDevice(batch.gid, req.pseudonym);
    const after = await pb.assignIdentity(req);
    t.deepEqual(after, { ok: false, reason: REASONS.deviceRevoked });
    await b.revokeBatch(batch.gid);
    const other = await pa.assignIdentity({
      ...req,
      pseudonym: devicePseudonym('r', 2),
      longtermPublicKey: deviceKey('r', 2),
    });
    t.deepEqual(other, { ok: false, reason: REASONS.batchRevoked });
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: the quota holds under concurrent new devices from two instances', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const { connection, a, batch } = await setup(5);
  const b = await PostgresRegistry.open({ connection });
  try {
    const policies = [new IdentityPolicy(a), new IdentityPolicy(b)];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        policies[i % 2]!.assignIdentity({
          gid: batch.gid,
          pseudonym: devicePseudonym('q', i),
          longtermPublicKey: deviceKey('q', i),
          requestedId: null,
          suite: 1,
          source: { address: '192.0.2.2', port: i },
        }),
      ),
    );
    t.is(results.filter((r) => r.ok).length, 5);
    t.true(results.filter((r) => !r.ok).every((r) => r.reason === REASONS.quotaExceeded));
    t.is((await a.listDevices()).length, 5);
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: concurrent first opens migrate once; newer schema refused; audit append-only', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const connection = await (await pgServer()).createDatabase();
  const opened = await Promise.all([1, 2, 3].map(() => PostgresRegistry.open({ connection })));
  const c = new pg.Client(connection);
  await c.connect();
  try {
    const { rows } = await c.query('SELECT version FROM schema_migrations ORDER BY version');
    t.deepEqual(
      rows.map((r: { version: number }) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
    const r = opened[0]!;
    await r.appendAudit({
      sourceAddress: '192.0.2.1',
      sourcePort: 1,
      gid: null,
      pseudonym: null,
      suite: null,
      outcome: 'failed',
      reason: 'bad-signature',
      geolocation: null,
      identity: null,
    });
    await r.operatorAudit.append({
      organizationId: null,
      actor: 'cli:x',
      action: 'network.add',
      objectType: 'network',
      objectId: '1',
      objectName: null,
      source: 'cli',
      detail: null,
    });
    const before = await snapshot(r);
    await t.throwsAsync(c.query("UPDATE audit SET reason = 'x'"), { message: /append-only/ });
    await t.throwsAsync(c.query('DELETE FROM audit'), { message: /append-only/ });
    await t.throwsAsync(c.query('TRUNCATE audit'), { message: /append-only/ });
    await t.throwsAsync(c.query("UPDATE operator_audit SET actor = 'x'"), { message: /append-only/ });
    await t.throwsAsync(c.query('DELETE FROM operator_audit'), { message: /append-only/ });
    await t.throwsAsync(c.query('TRUNCATE operator_audit'), { message: /append-only/ });
    t.deepEqual(await snapshot(r), before);
    await c.query("INSERT INTO schema_migrations VALUES (999, 'future', 0)");
    const err = await t.throwsAsync(PostgresRegistry.open({ connection }), { instanceOf: RegistryError });
    t.is(err?.code, 'SCHEMA');
  } finally {
    await c.end();
    await Promise.all(opened.map((r) => r.close()));
  }
});

test('postgres: the live schema is the one description (schema.ts), as on SQLite, also after upgrading from version 1', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  for (const fromVersion1 of [false, true]) {
    const connection = await (await pgServer()).createDatabase();
    const c = new pg.Client(connection);
    await c.connect();
    try {
      if (fromVersion1) await migratePg(c, MIGRATIONS.slice(0, 1));
      await (await PostgresRegistry.open({ connection })).close();
      t.deepEqual(
        await readPostgresSchema(c),
        expectedSchema('postgres'),
        fromVersion1 ? 'upgraded' : 'fresh',
      );
    } finally {
      await c.end();
    }
  }
});

test('postgres: a version 3 registry with data migrates to organizations: nothing lost, all in the default organization', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const connection = await (await pgServer()).createDatabase();
  const c = new pg.Client(connection);
  await c.connect();
  try {
    await migratePg(
      c,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    for (const { sql, args } of V3_ROWS) await c.query(pgPlaceholders(sql), args);
    // The seed names its ids; the program's own rows take them from the identity sequences.
    for (const table of ['networks', 'cas', 'cert_devices']) {
      await c.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT MAX(id) FROM ${table}))`,
      );
    }
    const dump = async () => {
      const out: Record<string, unknown[]> = {};
      for (const table of V3_TABLES) {
        // Every table's rows in a stable order: by all columns as text.
        const { rows } = await c.query(`SELECT * FROM ${table} t ORDER BY t::text`);
        out[table] = rows.map(comparable);
      }
      return out;
    };
    const before = await dump();
    const r = await PostgresRegistry.open({ connection });
    try {
      t.deepEqual(
        (await r.listOrganizations()).map((o) => [o.id, o.name]),
        [[1, 'default']],
      );
      t.deepEqual(
        [...(await r.listNetworks()), ...(await r.listBatches())].map((x) => x.organizationId),
        [1, 1, 1, 1],
      );
      t.deepEqual(await dump(), before);
      t.deepEqual(await readPostgresSchema(c), expectedSchema('postgres'));
      // The migrated registry keeps working: the identity continues after the default organization.
      const acme = await r.addOrganization({ name: 'acme' });
      t.is(acme.id, 2);
      t.is((await r.addNetwork({ name: 'plant-a', prefix: '2001:db8:77::/64' }, acme.id)).organizationId, 2);
    } finally {
      await r.close();
    }
  } finally {
    await c.end();
  }
});

test("postgres: a version 8 registry with CAs migrates: each CA in its network's organization, nothing lost, names per organization", async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const connection = await (await pgServer()).createDatabase();
  const c = new pg.Client(connection);
  await c.connect();
  try {
    await migratePg(
      c,
      MIGRATIONS.filter((m) => m.version <= 8),
    );
    for (const { sql, args } of V8_ROWS) await c.query(pgPlaceholders(sql), args);
    await c.query(`SELECT setval(pg_get_serial_sequence('cas', 'id'), (SELECT MAX(id) FROM cas))`);
    const dump = async () => {
      const out: Record<string, unknown[]> = {};
      for (const table of V8_TABLES) {
        const { rows } = await c.query(`SELECT * FROM ${table} t ORDER BY t::text`);
        out[table] = rows.map(comparable);
      }
      return out;
    };
    const before = await dump();
    const r = await PostgresRegistry.open({ connection });
    try {
      t.is((await r.pki.findCa('ca-acme', 2))?.id, 2);
      t.is(await r.pki.findCa('ca-acme'), undefined, "unscoped names are the default organization's");
      t.deepEqual(
        (await r.pki.listCas(2)).map((x) => [x.id, x.crlEntries, x.devices]),
        [[2, 1, 1]],
      );
    } finally {
      await r.close();
    }
    t.deepEqual(await dump(), before);
    const { rows } = await c.query('SELECT id, organization_id FROM cas ORDER BY id');
    t.deepEqual(
      rows.map((x) => [Number(x.id), Number(x.organization_id)]),
      V8_CA_ORGANIZATIONS.map(([id, org]) => [id, org]),
    );
    t.deepEqual(await readPostgresSchema(c), expectedSchema('postgres'));
    const insert = (fp: string, net: number, org: number) =>
      c.query(
        `INSERT INTO cas (name, fingerprint, der, subject, not_before, not_after, network_id, max_devices,
                          status, verified, created_at, organization_id)
         VALUES ('ca-acme', $1, '\\x00', 'CN=x', 0, 1, $2, NULL, 'active', false, 1, $3)`,
        [fp, net, org],
      );
    await t.notThrowsAsync(insert('e'.repeat(64), 1, 1));
    await t.throwsAsync(insert('f'.repeat(64), 2, 2), { message: /unique/i });
  } finally {
    await c.end();
  }
});

test('postgres: the management API deletes empty networks and pages the audit natively', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const { a } = await setup();
  const f = await startApi(a);
  try {
    await f.call('POST', '/api/v1/networks', { name: 'spare', prefix: '2001:db8:cc::/64' });
    t.is((await f.call('DELETE', '/api/v1/networks/plant-a')).json.error.code, 'CONFLICT');
    const del = await f.call('DELETE', '/api/v1/networks/spare');
    t.is(del.status, 200);
    t.is(del.json.name, 'spare');
    t.is((await f.call('GET', '/api/v1/networks/spare')).status, 404);
    for (let i = 0; i < 5; i++) {
      await a.appendAudit({
        sourceAddress: `192.0.2.${i}`,
        sourcePort: i,
        gid: null,
        pseudonym: null,
        suite: null,
        outcome: 'failed',
        reason: 'bad-signature',
        geolocation: null,
        identity: null,
      });
    }
    const p1 = await f.call('GET', '/api/v1/audit?limit=3');
    const p2 = await f.call('GET', `/api/v1/audit?limit=3&cursor=${p1.json.nextCursor}`);
    t.deepEqual(
      [...p1.json.items, ...p2.json.items].map((e: { sourcePort: number }) => e.sourcePort),
      [4, 3, 2, 1, 0],
    );
    t.is(p2.json.nextCursor, null);
  } finally {
    await f.done();
    await a.close();
  }
});
