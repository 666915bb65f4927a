// The operator audit through the management API (server-stub/http/routes-operator-audit.ts): every
// route that changes state, called with a named or unnamed token-file token, leaves one entry naming
// the token, the action, the object, its organization and the client's address; refused requests
// leave none; the route table's changing routes are all exercised here (a new one that records
// nothing fails this test); GET /operator-audit filters, pages and shows an organization only its own.
// Each change is made twice: first with a trigger in the database refusing every insert into
// operator_audit, when the route must answer 503 (field operatorAudit) and the stored state must be
// unchanged (the change and its entry are one transaction), then without it, when exactly one entry
// is added.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { startManagementServer } from '../../../../server-stub/http/index.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';
import { makeCrl, makeRoot } from '../../../helpers/openssl-ca.ts';
import { FAIL_OPERATOR_AUDIT } from '../../../helpers/operator-audit-faults.ts';
import { freshGpk, labelPng } from './_fixtures.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const SUPER = 'tok-root-ops-0123456789';
const ACME_OP = 'tok-acme-operator-0123456789';
const ACME_ADMIN = 'tok-acme-admin-0123456789';
const GLOBEX_VIEWER = 'tok-globex-viewer-0123456789';
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
/**
 * Routes that change no object (they read a label, compute a code, or sign a browser in or out):
 * no entry expected.
 */
const READ_ONLY_POSTS = [
  'POST /api/v1/labels/scan',
  'POST /api/v1/cas/registration-code',
  'POST /api/v1/session',
  'DELETE /api/v1/session',
];

test('every changing route records actor, action, object, organization and source; refusals record nothing', async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-opaudit-'));
  const file = join(dir, 'registry.sqlite');
  const registry = SqliteRegistry.open(file);
  const sql = (statement: string) => {
    const db = new Database(file);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  };
  /** Everything stored: what a refused change must leave as it was. */
  const stored = async () => ({
    organizations: await registry.listOrganizations(),
    networks: await registry.listNetworks(),
    batches: await registry.listBatches(),
    devices: await registry.listDevices(),
    cas: await registry.pki.listCas(),
    certDevices: await registry.pki.listCertDevices(),
    users: await registry.accounts.listUsers(),
    tokens: (await registry.accounts.listApiTokens({})).map((x) => ({ ...x, lastUsedAt: null })),
    operatorAudit: await registry.operatorAudit.query({ limit: 10_000 }),
  });
  const acme = (await registry.addOrganization({ name: 'acme' })).id;
  await registry.addOrganization({ name: 'globex' });
  const tokenFile = join(dir, 'tokens');
  writeFileSync(
    tokenFile,
    [
      `${SUPER} name=root-ops`,
      `${ACME_OP} org=acme role=operator name=ci`,
      `${ACME_ADMIN} org=acme role=admin`,
      `${GLOBEX_VIEWER} org=globex role=viewer name=globex-v`,
    ].join('\n'),
  );
  const server = await startManagementServer({ registry, port: 0, tokenFile });
  const exercised = new Set<string>();
  const call = async (
    token: string,
    method: string,
    path: string,
    template: string,
    body?: unknown,
    type?: string,
  ) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': type ?? 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: body instanceof Uint8Array ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status < 300) exercised.add(`${method} ${template}`);
    return { status: res.status, text, json: text ? (JSON.parse(text) as AnyJson) : undefined };
  };
  const entries = async (token = SUPER, query = '') =>
    (await call(token, 'GET', `/api/v1/operator-audit${query}`, '')).json.items as AnyJson[];
  try {
    let atomicRoutes = 0;
    /** A changing call: refused whole while the audit cannot be written, then made with one entry. */
    const ok = async (make: () => Promise<{ status: number; text: string; json: AnyJson }>) => {
      const before = await stored();
      sql(FAIL_OPERATOR_AUDIT.sqlite.on);
      let refused;
      try {
        refused = await make();
      } finally {
        sql(FAIL_OPERATOR_AUDIT.sqlite.off);
      }
      t.is(refused.status, 503, refused.text);
      t.like(refused.json, {
        error: {
          code: 'UNAVAILABLE',
          field: 'operatorAudit',
          message: 'the change was not made: it could not be recorded in the operator audit',
        },
      });
      t.deepEqual(await stored(), before, `refused whole: ${refused.text}`);
      const x = await make();
      t.true(x.status < 300, x.text);
      t.is((await registry.operatorAudit.query({ limit: 10_000 })).length, before.operatorAudit.length + 1);
      atomicRoutes++;
      return x.json;
    };
    // A refused request (bad prefix) records nothing.
    t.is((await call(ACME_OP, 'POST', '/api/v1/networks', '', { name: 'bad', prefix: 'nope' })).status, 400);
    t.is((await entries()).length, 0);

    const net = await ok(() =>
      call(ACME_OP, 'POST', '/api/v1/networks', '/api/v1/networks', {
        name: 'plant',
        prefix: '2001:db8:1::/64',
      }),
    );
    await ok(() =>
      call(ACME_ADMIN, 'POST', '/api/v1/networks', '/api/v1/networks', {
        name: 'spare',
        prefix: '2001:db8:2::/64',
      }),
    );
    const lot = await ok(() =>
      call(ACME_OP, 'POST', '/api/v1/batches', '/api/v1/batches', {
        gpk: b64(freshGpk()),
        basename: b64(new TextEncoder().encode('x')),
        name: 'lot-1',
        size: 5,
      }),
    );
    const png = labelPng({ gpk: freshGpk(), basename: new TextEncoder().encode('y'), name: 'lot-2' });
    const lot2 = await ok(() =>
      call(
        ACME_OP,
        'POST',
        '/api/v1/batches/from-image?size=3',
        '/api/v1/batches/from-image',
        new Uint8Array(png),
        'image/png',
      ),
    );
    await ok(() =>
      call(ACME_OP, 'PUT', `/api/v1/batches/lot-1/network`, '/api/v1/batches/{batch}/network', {
        network: 'plant',
      }),
    );
    const got = await new IdentityPolicy(registry).assignIdentity({
      gid: Buffer.from(lot.gid, 'hex'),
      pseudonym: new Uint8Array(65).fill(4),
      longtermPublicKey: new Uint8Array(65).fill(4),
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.9', port: 4000 },
    });
    if (!got.ok) throw new Error(got.reason);
    const device = toHex(got.id);
    await ok(() =>
      call(ACME_OP, 'PUT', `/api/v1/devices/${device}/allow-rekey`, '/api/v1/devices/{device}/allow-rekey', {
        allow: true,
      }),
    );
    await ok(() =>
      call(ACME_OP, 'POST', `/api/v1/devices/${device}/revoke`, '/api/v1/devices/{device}/revoke'),
    );
    await ok(() => call(ACME_OP, 'POST', `/api/v1/batches/lot-2/revoke`, '/api/v1/batches/{batch}/revoke'));
    await ok(() => call(ACME_OP, 'DELETE', `/api/v1/networks/spare`, '/api/v1/networks/{network}'));
    // CAs (server-wide tokens) on acme's network: recorded in acme.
    const root = makeRoot(dir, 'acme-root');
    const ca = await ok(() =>
      call(SUPER, 'POST', '/api/v1/cas', '/api/v1/cas', {
        certificate: readFileSync(root.certPath, 'utf8'),
        network: String(net.id),
        unverified: true,
      }),
    );
    await ok(() =>
      call(SUPER, 'PUT', `/api/v1/cas/${ca.id}/crl`, '/api/v1/cas/{ca}/crl', {
        crl: readFileSync(makeCrl(root).pemPath, 'utf8'),
      }),
    );
    await ok(() => call(SUPER, 'POST', `/api/v1/cas/${ca.id}/revoke`, '/api/v1/cas/{ca}/revoke'));

    const all = (await entries()).reverse();
    const brief = all.map((e) => [e.actor, e.action, e.objectType, e.objectName ?? e.objectId]);
    t.deepEqual(brief, [
      ['token-file:ci', 'network.add', 'network', 'plant'],
      ['token-file:3', 'network.add', 'network', 'spare'],
      ['token-file:ci', 'batch.add', 'batch', 'lot-1'],
      ['token-file:ci', 'batch.add', 'batch', 'lot-2'],
      ['token-file:ci', 'batch.assign', 'batch', 'lot-1'],
      ['token-file:ci', 'device.allow-rekey', 'device', device],
      ['token-file:ci', 'device.revoke', 'device', device],
      ['token-file:ci', 'batch.revoke', 'batch', 'lot-2'],
      ['token-file:ci', 'network.delete', 'network', 'spare'],
      ['token-file:root-ops', 'ca.add', 'ca', ca.name],
      ['token-file:root-ops', 'ca.crl', 'ca', ca.name],
      ['token-file:root-ops', 'ca.revoke', 'ca', ca.name],
    ]);
    for (const e of all) {
      t.is(e.organizationId, acme, `${e.action} in acme`);
      t.regex(e.source, /^(::ffff:)?127\.0\.0\.1$/);
      t.false(Number.isNaN(Date.parse(e.at)));
    }
    t.is(all[2].objectId, lot.gid);
    t.is(all[3].objectId, lot2.gid);
    t.deepEqual(all[5].detail, { allow: true });
    t.deepEqual(all[4].detail, { networkId: net.id });

    // A new organization's creation is recorded in it.
    const made = await ok(() =>
      call(SUPER, 'POST', '/api/v1/organizations', '/api/v1/organizations', { name: 'initech' }),
    );
    t.like((await entries(SUPER, '?objectType=organization'))[0], {
      organizationId: made.id,
      action: 'organization.add',
      objectName: 'initech',
      actor: 'token-file:root-ops',
    });
    // Filters and paging; organizations see only their own entries.
    t.deepEqual(
      (await entries(ACME_ADMIN, '?action=batch.add')).map((e) => e.objectName),
      ['lot-2', 'lot-1'],
    );
    t.is((await entries(ACME_ADMIN, '?actor=token-file:root-ops')).length, 3);
    t.is((await entries(ACME_ADMIN, `?objectType=device&object=${device}`)).length, 2);
    const p1 = await call(ACME_ADMIN, 'GET', '/api/v1/operator-audit?limit=5', '');
    t.is(p1.json.items.length, 5);
    const p2 = await call(
      ACME_ADMIN,
      'GET',
      `/api/v1/operator-audit?limit=50&cursor=${p1.json.nextCursor}`,
      '',
    );
    t.deepEqual(
      [...p1.json.items, ...p2.json.items].map((e: AnyJson) => e.id),
      all.map((e) => e.id).reverse(),
    );
    t.is(p2.json.nextCursor, null);
    t.deepEqual(await entries(GLOBEX_VIEWER), []);
    t.is((await call(ACME_ADMIN, 'GET', '/api/v1/operator-audit?objectType=robot', '')).status, 400);
    t.is((await call(ACME_ADMIN, 'GET', '/api/v1/operator-audit?cursor=zz', '')).status, 400);

    // Users and named API tokens (routes-accounts.ts).
    const una = await ok(() =>
      call(ACME_ADMIN, 'POST', '/api/v1/users', '/api/v1/users', {
        name: 'una',
        password: 'una-password-1',
        role: 'operator',
      }),
    );
    const pw = '/api/v1/users/{user}/password';
    await ok(() => call(ACME_ADMIN, 'PUT', '/api/v1/users/una/password', pw, { password: 'una-password-2' }));
    const dis = '/api/v1/users/{user}/disabled';
    await ok(() => call(ACME_ADMIN, 'PUT', '/api/v1/users/una/disabled', dis, { disabled: true }));
    await ok(() => call(ACME_ADMIN, 'PUT', '/api/v1/users/una/disabled', dis, { disabled: false }));
    const role = '/api/v1/users/{user}/role';
    await ok(() => call(ACME_ADMIN, 'PUT', '/api/v1/users/una/role', role, { role: 'viewer' }));
    const tok = await ok(() =>
      call(ACME_ADMIN, 'POST', '/api/v1/tokens', '/api/v1/tokens', { name: 'una-ci', user: 'una' }),
    );
    await ok(() =>
      call(tok.token, 'PUT', '/api/v1/session/password', '/api/v1/session/password', {
        current: 'una-password-2',
        password: 'una-password-3',
      }),
    );
    await ok(() => call(ACME_ADMIN, 'DELETE', '/api/v1/tokens/una-ci', '/api/v1/tokens/{token}'));
    const accountEntries = [
      ...(await entries(ACME_ADMIN, '?objectType=user')),
      ...(await entries(ACME_ADMIN, '?objectType=token')),
    ];
    t.deepEqual(
      accountEntries.map((e) => [e.actor, e.action, e.objectName, e.organizationId]),
      [
        ['token:una-ci', 'user.password', 'una', acme],
        ['token-file:3', 'user.role', 'una', acme],
        ['token-file:3', 'user.enable', 'una', acme],
        ['token-file:3', 'user.disable', 'una', acme],
        ['token-file:3', 'user.password', 'una', acme],
        ['token-file:3', 'user.add', 'una', acme],
        ['token-file:3', 'token.revoke', 'una-ci', acme],
        ['token-file:3', 'token.add', 'una-ci', acme],
      ],
    );
    t.is(accountEntries[5].objectId, String(una.id));
    t.false(JSON.stringify(accountEntries).includes('una-password'), 'no password in the audit');
    t.false(JSON.stringify(accountEntries).includes(tok.token), 'no token in the audit');

    // Every changing route of the table was exercised above (and so records).
    const changing = server.routes
      .filter((r) => r.method !== 'GET' && !READ_ONLY_POSTS.includes(`${r.method} ${r.path}`))
      .map((r) => `${r.method} ${r.path}`);
    for (const k of changing) t.true(exercised.has(k), `${k} is exercised (and recorded)`);
    t.true(atomicRoutes >= changing.length, 'each changing route was also refused whole once');
  } finally {
    await server.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
