// GET /api/v1/devices pages in the database (server-stub/http/device-list.ts): on a SQLite registry on
// disk, and on PostgreSQL when it is installed, two organizations with DAA devices in two batches
// each (first handshakes sharing milliseconds, identities in no particular order, some revoked, some
// seen again) and certificate devices of a CA each. Paging with small limits through every filter
// combination, as each organization and as a superadmin, returns exactly the list a full read
// filtered in memory gives (DAA devices by first handshake then identity, then certificate devices
// by enrollment), each device once, across the DAA/certificate boundary, and never another
// organization's device. A cursor used with another filter or by another organization is refused
// naming the cursor; paging goes on when the device a cursor ends at is revoked meanwhile.
import anyTest, { type TestFn } from 'ava';
import { sha256 } from '@noble/hashes/sha2.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startManagementServer } from '../../../../server-stub/http/index.ts';
import { Metrics } from '../../../../server-stub/metrics.ts';
import type { CertDevice } from '../../../../server-stub/registry/pki-registry.ts';
import { PostgresRegistry } from '../../../../server-stub/registry/postgres-registry.ts';
import type { Device, Registry } from '../../../../server-stub/registry/registry.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';
import { makeRoot } from '../../../helpers/openssl-ca.ts';
import { startPostgres, type PostgresServer } from '../../../helpers/postgres.ts';
import { missingRequirements } from '../../../helpers/requirements.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const test = anyTest as TestFn;
const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const SUPER = 'tok-superadmin-0123456789';
const tokenOf = (org: string) => `tok-${org}-viewer-0123456789`;
const ORGS = ['acme', 'globex'] as const;
type Org = (typeof ORGS)[number];

const base = mkdtempSync(join(tmpdir(), 'device-paging-'));
test.after.always(() => rmSync(base, { recursive: true, force: true }));
/** One CA certificate per organization (CA fingerprints are unique server-wide). */
const roots = Object.fromEntries(ORGS.map((o) => [o, makeRoot(base, `root-${o}`)])) as Record<
  Org,
  ReturnType<typeof makeRoot>
>;

const point = (label: string): Uint8Array => {
  const h = sha256(enc(label));
  return new Uint8Array([4, ...h, ...sha256(h)]);
};

/** Times the registry stamps: set before each insert or touch. */
const clock = {
  t: 1_000,
  now() {
    return this.t;
  },
};

interface World {
  registry: Registry;
  /** Per organization: its id, its batches' gids (hex) and its CA's id. */
  orgs: Record<Org, { id: number; gids: string[]; caId: number }>;
  /** Each device's organization, by identity (hex), as it was made. */
  owner: Map<string, Org>;
}

/** Two organizations, each: a network, batches lot-a and lot-b, a CA, DAA and certificate devices. */
async function populate(registry: Registry): Promise<World> {
  const orgs = {} as World['orgs'];
  const owner = new Map<string, Org>();
  for (const [o, name] of ORGS.entries()) {
    const org = await registry.addOrganization({ name });
    const net = await registry.addNetwork({ name: 'plant', prefix: `2001:db8:${o + 1}::/64` }, org.id);
    const gids: string[] = [];
    for (const [b, lot] of ['lot-a', 'lot-b'].entries()) {
      const gpk = new Uint8Array(258).fill(16 * o + b + 1);
      gpk[0] = 4;
      gpk[129] = 4;
      const batch = await registry.addBatch(
        { gpk, basename: new Uint8Array([o, b]), name: lot, network: 'plant', size: 1000 },
        org.id,
      );
      gids.push(hex(batch.gid));
    }
    const ca = await registry.pki.addCa({
      der: roots[name].der,
      name: `ca-${name}`,
      network: net.id,
      maxDevices: null,
    });
    orgs[name] = { id: org.id, gids, caId: ca.id };
  }
  // DAA devices of both organizations interleaved in time; three share each millisecond, so the
  // identity (a hash: in no relation to the insertion order) breaks ties.
  for (let i = 0; i < 42; i++) {
    const name = ORGS[i % 5 === 0 ? 1 : 0]!;
    const gid = new Uint8Array(Buffer.from(orgs[name].gids[i % 3 === 0 ? 1 : 0]!, 'hex'));
    clock.t = 1_000 + Math.floor(i / 3) * 10;
    const pseudonym = point(`nym-${i}`);
    owner.set(hex(sha256(enc(`id-${i}`)).subarray(0, 16)), name);
    await registry.withTransaction((tx) =>
      tx.insertDevice({
        gid,
        pseudonym,
        identity: sha256(enc(`id-${i}`)).subarray(0, 16),
        longtermPublicKey: point(`lt-${i}`),
        source: '192.0.2.7 4000',
      }),
    );
    if (i % 4 === 1) {
      clock.t = 5_000 + i;
      await registry.withTransaction((tx) => tx.touchDevice(gid, pseudonym, '192.0.2.8 4000'));
    }
    if (i % 7 === 2) await registry.revokeDevice(gid, pseudonym);
  }
  // Certificate devices, enrolled after and between the DAA devices.
  for (let i = 0; i < 14; i++) {
    const name = ORGS[i % 3 === 0 ? 1 : 0]!;
    const net = (await registry.getNetwork('plant', orgs[name].id))!;
    clock.t = 1_050 + i * 20;
    const d = await registry.pki.withPkiTransaction((tx) =>
      tx.insertCertDevice({
        caId: orgs[name].caId,
        networkId: net.id,
        keyFingerprint: hex(sha256(enc(`key-${i}`))),
        identity: new Uint8Array([
          0x20,
          0x01,
          0x0d,
          0xb8,
          0,
          name === 'acme' ? 1 : 2,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          1,
          i,
        ]),
        subject: `CN=dev-${i}`,
        issuer: `CN=root-${name}`,
        serial: String(100 + i),
        fingerprint: hex(sha256(enc(`cert-${i}`))),
        notBefore: 0,
        notAfter: 4_000_000_000_000,
        method: 'tls-client-certificate',
        source: '192.0.2.9 4000',
      }),
    );
    owner.set(hex(d.identity), name);
    if (i % 4 === 2) await registry.pki.revokeCertDevice(d.id);
  }
  return { registry, orgs, owner };
}

interface Filter {
  kind?: 'daa' | 'certificate';
  batch?: true;
  ca?: true;
  status?: 'active' | 'revoked';
  since?: number;
  until?: number;
  seenSince?: number;
}

/** The list as the route answered it before paging moved into SQL: everything read, filtered in memory. */
async function expected(w: World, f: Filter, org: Org | undefined): Promise<string[]> {
  const scope = org === undefined ? undefined : w.orgs[org].id;
  const nets = new Set((await w.registry.listNetworks(scope)).map((n) => n.id));
  const gid = f.batch ? w.orgs[org ?? 'acme'].gids[0] : undefined;
  const caId = f.ca ? w.orgs[org ?? 'acme'].caId : undefined;
  const kind = gid ? 'daa' : caId !== undefined ? 'certificate' : f.kind;
  const isWanted = (first: number, last: number, status: string) =>
    (f.status === undefined || status === f.status) &&
    (f.since === undefined || first >= f.since) &&
    (f.until === undefined || first < f.until) &&
    (f.seenSince === undefined || last >= f.seenSince);
  const daa: Device[] =
    kind === 'certificate'
      ? []
      : (await w.registry.listDevices({}, scope))
          .filter(
            (d) =>
              (gid === undefined || hex(d.gid) === gid) &&
              isWanted(d.firstHandshakeAt, d.lastHandshakeAt, d.status),
          )
          .sort((a, b) => a.firstHandshakeAt - b.firstHandshakeAt || Buffer.compare(a.identity, b.identity));
  const certs: CertDevice[] =
    kind === 'daa'
      ? []
      : (await w.registry.pki.listCertDevices())
          .filter((d) => nets.has(d.networkId) && (caId === undefined || d.caId === caId))
          .filter((d) => isWanted(d.firstEnrolledAt, d.lastEnrolledAt, d.status))
          .sort((a, b) => a.id - b.id);
  return [...daa.map((d) => hex(d.identity)), ...certs.map((d) => hex(d.identity))];
}

function query(w: World, f: Filter, org: Org | undefined, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (f.kind) q.set('kind', f.kind);
  if (f.batch) q.set('batch', w.orgs[org ?? 'acme'].gids[0]!);
  if (f.ca) q.set('ca', String(w.orgs[org ?? 'acme'].caId));
  if (f.status) q.set('status', f.status);
  for (const k of ['since', 'until', 'seenSince'] as const) if (f[k] !== undefined) q.set(k, String(f[k]));
  return q.toString();
}

/** Every filter combination the route supports (batch and ca exclude each other and the other kind). */
function filters(): Filter[] {
  const out: Filter[] = [];
  const refs: Filter[] = [{}, { kind: 'daa' }, { kind: 'certificate' }, { batch: true }, { ca: true }];
  const statuses: Filter[] = [{}, { status: 'active' }, { status: 'revoked' }];
  const times: Filter[] = [
    {},
    { since: 1_040 },
    { until: 1_090 },
    { since: 1_030, until: 1_150 },
    { seenSince: 1_100 },
  ];
  for (const r of refs) for (const s of statuses) for (const t of times) out.push({ ...r, ...s, ...t });
  return out;
}

async function withServer(
  registry: Registry,
  fn: (call: (token: string, path: string) => Promise<{ status: number; json: AnyJson }>) => Promise<void>,
): Promise<void> {
  const server = await startManagementServer({
    registry,
    metrics: new Metrics(),
    host: '127.0.0.1',
    port: 0,
    tokens: [enc(SUPER), ...ORGS.map((org) => ({ token: enc(tokenOf(org)), org, role: 'viewer' as const }))],
  });
  try {
    await fn(async (token, path) => {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, json: await res.json() };
    });
  } finally {
    await server.close();
  }
}

const tokenFor = (org: Org | undefined) => (org === undefined ? SUPER : tokenOf(org));

function pagingSuite(name: string, open: () => Promise<{ registry: Registry; done: () => Promise<void> }>) {
  test(`${name}: paging with small limits through every filter combination gives each device once, in order, in its organization only`, async (t) => {
    t.timeout(600_000);
    const { registry, done } = await open();
    try {
      const w = await populate(registry);
      await withServer(registry, async (call) => {
        let checked = 0;
        let crossed = 0;
        for (const [i, f] of filters().entries()) {
          for (const org of [...ORGS, undefined]) {
            const want = await expected(w, f, org);
            const limit = 1 + ((i + (org === 'globex' ? 1 : 0)) % 5);
            const got: string[] = [];
            let kinds = '';
            let cursor: string | null = null;
            let pages = 0;
            do {
              const path: string = `/api/v1/devices?${query(w, f, org, limit)}${cursor ? `&cursor=${cursor}` : ''}`;
              const r = await call(tokenFor(org), path);
              t.is(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
              t.true(r.json.items.length <= limit);
              t.true(r.json.items.length > 0 || (pages === 0 && want.length === 0), `${path}: an empty page`);
              got.push(...r.json.items.map((d: AnyJson) => d.id));
              kinds += r.json.items.map((d: AnyJson) => (d.kind === 'daa' ? 'd' : 'c')).join('');
              cursor = r.json.nextCursor;
              pages++;
            } while (cursor !== null && pages < 200);
            const label = `${JSON.stringify(f)} as ${org ?? 'superadmin'}, limit ${limit}`;
            t.deepEqual(got, want, label);
            t.regex(kinds, /^d*c*$/, `${label}: DAA devices first`);
            if (org !== undefined)
              t.deepEqual(
                got.filter((id) => w.owner.get(id) !== org),
                [],
                `${label}: another organization's devices`,
              );
            if (/dc/.test(kinds)) crossed++;
            checked += want.length;
          }
        }
        // The fixture is not vacuous: lists are long and cross the DAA/certificate boundary.
        t.true(checked > 1000, `${checked} devices checked`);
        t.true(crossed > 20, `${crossed} lists crossed from DAA to certificate devices`);
        // Both organizations have devices of both kinds; the superadmin sees them all.
        const all = await Promise.all([...ORGS, undefined].map((o) => expected(w, {}, o)));
        t.true(all[0]!.length > 10 && all[1]!.length > 10);
        t.deepEqual([...all[0]!, ...all[1]!].sort(), [...all[2]!].sort());
        t.is(all[2]!.length, w.owner.size);
      });
    } finally {
      await done();
    }
  });

  test(`${name}: every limit crosses the DAA/certificate boundary without loss or repeat`, async (t) => {
    t.timeout(600_000);
    const { registry, done } = await open();
    try {
      const w = await populate(registry);
      await withServer(registry, async (call) => {
        const want = await expected(w, {}, 'acme');
        for (let limit = 1; limit <= want.length + 1; limit++) {
          const got: string[] = [];
          let cursor: string | null = null;
          do {
            const r: { json: AnyJson } = await call(
              tokenOf('acme'),
              `/api/v1/devices?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
            );
            got.push(...r.json.items.map((d: AnyJson) => d.id));
            cursor = r.json.nextCursor;
          } while (cursor !== null);
          t.deepEqual(got, want, `limit ${limit}`);
        }
      });
    } finally {
      await done();
    }
  });

  test(`${name}: a cursor for another filter or organization is refused naming the cursor; revoking the last device shown does not break paging`, async (t) => {
    t.timeout(600_000);
    const { registry, done } = await open();
    try {
      const w = await populate(registry);
      await withServer(registry, async (call) => {
        const first = await call(tokenOf('acme'), '/api/v1/devices?limit=3&status=active');
        const cursor = first.json.nextCursor as string;
        t.truthy(cursor);
        const refused = async (token: string, q: string, message: RegExp) => {
          const r = await call(token, `/api/v1/devices?${q}&cursor=${cursor}`);
          t.is(r.status, 400, q);
          t.is(r.json.error.code, 'VALIDATION', q);
          t.is(r.json.error.field, 'cursor', q);
          t.regex(r.json.error.message, message, q);
        };
        const other = /^cursor: no longer matches this filter/;
        for (const q of [
          'limit=3&status=revoked',
          'limit=3',
          'limit=3&status=active&kind=daa',
          'limit=3&status=active&since=0',
          'limit=3&status=active&seenSince=1',
          `limit=3&status=active&batch=lot-a`,
        ])
          await refused(tokenOf('acme'), q, other);
        // The same filter in another organization, or unscoped: refused, never a page of other devices.
        await refused(tokenOf('globex'), 'limit=3&status=active', other);
        await refused(SUPER, 'limit=3&status=active', other);
        // Another list's cursor, a cursor of the list before keyset paging, and garbage.
        const old = Buffer.from(`d1:${first.json.items[2].id}`).toString('base64url');
        for (const [c, m] of [
          [old, other],
          [Buffer.from('a1:5').toString('base64url'), /^cursor: not a cursor from this list/],
          ['Zm9v', /^cursor: not a cursor from this list/],
          ['!!', /^cursor: not a cursor from this list/],
        ] as const) {
          const r = await call(tokenOf('acme'), `/api/v1/devices?limit=3&status=active&cursor=${c}`);
          t.is(r.status, 400);
          t.is(r.json.error.field, 'cursor');
          t.regex(r.json.error.message, m);
        }
        // The limit is not part of the filter: a cursor goes on with another page size.
        const want = await expected(w, { status: 'active' }, 'acme');
        const wider = await call(tokenOf('acme'), `/api/v1/devices?limit=5&status=active&cursor=${cursor}`);
        t.deepEqual(
          wider.json.items.map((d: AnyJson) => d.id),
          want.slice(3, 8),
        );
        // The last device shown is revoked (no longer matches status=active): the next page goes on
        // right after where it stood, without it and without repeating anything.
        const last = first.json.items[2].id as string;
        t.is((await call(SUPER, `/api/v1/devices/${last}`)).json.status, 'active');
        const d = (await registry.getDeviceByIdentity(new Uint8Array(Buffer.from(last, 'hex'))))!;
        await registry.revokeDevice(d.gid, d.pseudonym);
        const next = await call(tokenOf('acme'), `/api/v1/devices?limit=3&status=active&cursor=${cursor}`);
        t.is(next.status, 200);
        t.deepEqual(
          next.json.items.map((x: AnyJson) => x.id),
          want.slice(3, 6),
        );
      });
    } finally {
      await done();
    }
  });
  test(`${name}: an organization with more batches than the page merges (registry): the sorting query pages the same`, async (t) => {
    t.timeout(600_000);
    const { registry, done } = await open();
    try {
      const org = await registry.addOrganization({ name: 'many' });
      await registry.addOrganization({ name: 'other' });
      await registry.addNetwork({ name: 'plant', prefix: '2001:db8:9::/64' }, org.id);
      for (let b = 0; b < 70; b++) {
        const gpk = new Uint8Array(258).fill(b + 1);
        gpk[0] = 4;
        gpk[129] = 4;
        const batch = await registry.addBatch(
          { gpk, basename: new Uint8Array([b]), name: `lot-${b}`, network: 'plant', size: 10 },
          org.id,
        );
        for (let i = 0; i < 2; i++) {
          clock.t = 2_000 + ((b * 7 + i) % 9);
          await registry.withTransaction((tx) =>
            tx.insertDevice({
              gid: batch.gid,
              pseudonym: point(`many-${b}-${i}`),
              identity: sha256(enc(`many-${b}-${i}`)).subarray(0, 16),
              longtermPublicKey: point(`many-lt-${b}-${i}`),
              source: '192.0.2.7 4000',
            }),
          );
        }
      }
      const all = await registry.listDevices({}, org.id);
      t.is(all.length, 140);
      for (const limit of [1, 6, 139, 140]) {
        const got: Device[] = [];
        for (;;) {
          const last = got[got.length - 1];
          const page = await registry.listDevices(
            {
              limit,
              ...(last
                ? { after: { firstHandshakeAt: last.firstHandshakeAt, identity: last.identity } }
                : {}),
            },
            org.id,
          );
          got.push(...page);
          if (page.length < limit) break;
        }
        t.deepEqual(
          got.map((d) => hex(d.identity)),
          all.map((d) => hex(d.identity)),
          `limit ${limit}`,
        );
      }
      t.deepEqual(await registry.listDevices({ limit: 5 }, org.id + 1), []);
      // Bad filters are refused before any statement, naming the field.
      await t.throwsAsync(registry.listDevices({ limit: 0 }, org.id), { message: /filter\.limit/ });
      await t.throwsAsync(
        registry.listDevices({ after: { firstHandshakeAt: -1, identity: new Uint8Array(16) } }),
        { message: /filter\.after\.firstHandshakeAt/ },
      );
      await t.throwsAsync(registry.pki.listCertDevices({ afterId: 0 }), { message: /filter\.afterId/ });
    } finally {
      await done();
    }
  });
}

pagingSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-paging-sqlite-'));
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'), { clock });
  return {
    registry,
    done: async () => {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// PostgreSQL when installed (test/helpers/requirements.ts: skipped with the reason otherwise, an error under CI).
const pgMissing = missingRequirements(['postgres']);
if (pgMissing.length === 0) {
  let server: Promise<PostgresServer> | undefined;
  test.after.always(async () => {
    if (server) await (await server).stop();
  });
  pagingSuite('postgres', async () => {
    const connection = await (await (server ??= startPostgres())).createDatabase();
    const registry = await PostgresRegistry.open({ connection, clock });
    return { registry, done: () => registry.close() };
  });
} else {
  if (process.env.CI) throw new Error(`device paging on postgres: ${pgMissing.join('; ')}`);
  test('postgres: device paging skipped', (t) => t.log(pgMissing.join('; ')) ?? t.pass());
}
