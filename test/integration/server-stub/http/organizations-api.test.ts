// Organizations and roles in the management API (server-stub/http/roles.ts, auth.ts): a walk over the
// whole OpenAPI document with a token of each role, checking each answer against the role the
// operation declares; an isolation property test (random sequences of API calls by two
// organizations: no answer to one ever holds an identifier of the other's objects, and the other's
// objects answer 404 as if absent); the live event stream per organization; the token file format.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { TokenAuthenticator, TokenFileError } from '../../../../server-stub/http/auth.ts';
import { startManagementServer, type ManagementServer } from '../../../../server-stub/http/index.ts';
import { OPENAPI } from '../../../../server-stub/http/openapi.ts';
import { allows, ROLES, type Role } from '../../../../server-stub/http/roles.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { formatIpv6 } from '../../../../protocol/util/ipv6.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';
import { Metrics } from '../../../../server-stub/metrics.ts';
import { freshGpk } from './_fixtures.ts';
import { parseCertificate } from '../../../../protocol/pki/certificate.ts';
import { PkiPolicy } from '../../../../server-stub/policy/pki-policy.ts';
import { issue, makeCrl, makeRoot } from '../../../helpers/openssl-ca.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const doc = OPENAPI as unknown as Record<string, AnyJson>;
const METHODS = ['get', 'post', 'put', 'delete'];
const enc = (s: string) => new TextEncoder().encode(s);
const tokenOf = (org: string, role: Role) => `tok-${org}-${role}-0123456789`;
const SUPER = 'tok-superadmin-0123456789';

interface Fixture {
  registry: Registry;
  server: ManagementServer;
  call(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string; json: AnyJson }>;
  done(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-orgs-'));
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await registry.addOrganization({ name: 'acme' });
  await registry.addOrganization({ name: 'globex' });
  const grants = ['acme', 'globex'].flatMap((org) =>
    (['viewer', 'operator', 'admin'] as const).map((role) => ({ token: enc(tokenOf(org, role)), org, role })),
  );
  const server = await startManagementServer({
    registry,
    metrics: new Metrics(),
    port: 0,
    tokens: [enc(SUPER), ...grants],
    eventPollMs: 50,
  });
  return {
    registry,
    server,
    call: async (token, method, path, body) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: AnyJson;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    },
    done: async () => {
      await server.close();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An acme network and batch with one provisioned device, for path parameters. */
async function acmeObjects(f: Fixture) {
  const acme = (await f.registry.getOrganization('acme'))!.id;
  await f.registry.addNetwork({ name: 'acme-net', prefix: '2001:db8:ac::/64' }, acme);
  const batch = await f.registry.addBatch(
    { gpk: freshGpk(), basename: enc('acme'), name: 'acme-lot', network: 'acme-net', size: 10 },
    acme,
  );
  const got = await new IdentityPolicy(f.registry).assignIdentity({
    gid: batch.gid,
    pseudonym: new Uint8Array(65).fill(4),
    longtermPublicKey: new Uint8Array(65).fill(4),
    requestedId: null,
    suite: 1,
    source: { address: '::1', port: 4000 },
  });
  if (!got.ok) throw new Error(got.reason);
  const user = await f.registry.accounts.addUser({
    name: 'acme-user',
    organizationId: acme,
    role: 'viewer',
    passwordHash: 'scrypt$ln=1,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  });
  await f.registry.accounts.addApiToken({
    name: 'acme-token',
    organizationId: acme,
    userId: user.id,
    role: 'viewer',
    digest: new Uint8Array(32).fill(9),
    createdBy: 'test',
    expiresAt: null,
  });
  return {
    network: 'acme-net',
    batch: 'acme-lot',
    device: toHex(got.id),
    ca: 'no-such-ca',
    organization: 'acme',
    user: 'acme-user',
    token: 'acme-token',
  };
}

test('every operation of the OpenAPI document answers each role as it declares: 403 below, never 401/403 at or above', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  try {
    const params = await acmeObjects(f);
    let checked = 0;
    for (const [template, item] of Object.entries(doc.paths as Record<string, AnyJson>)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        if (Array.isArray(op.security) && op.security.length === 0) continue;
        const need = op['x-required-role'] as Role;
        t.true(ROLES.includes(need), `${method} ${template} declares a role`);
        const path = template.replace(/\{(\w+)\}/g, (_, k: string) =>
          encodeURIComponent((params as AnyJson)[k]),
        );
        for (const role of ROLES) {
          const token = role === 'superadmin' ? SUPER : tokenOf('acme', role);
          const r =
            template === '/api/v1/events'
              ? await openEvents(f.server.url, token)
              : await f.call(
                  token,
                  method.toUpperCase(),
                  path,
                  method === 'get' || method === 'delete' ? undefined : {},
                );
          const what = `${role} ${method} ${template} -> ${r.status}`;
          if (allows(role, need)) {
            t.not(r.status, 403, what);
            t.not(r.status, 401, what);
          } else {
            t.is(r.status, 403, what);
            t.is(r.json?.error?.code, 'FORBIDDEN', what);
          }
          t.truthy(op.responses[String(r.status)], `${what} is documented`);
          checked++;
        }
      }
    }
    t.true(checked >= 25 * ROLES.length);
    // A token that is no token at all: 401 before any role is looked at.
    t.is((await f.call('not-a-token-at-all-xx', 'GET', '/api/v1/networks')).status, 401);
  } finally {
    await f.done();
  }
});

async function openEvents(
  url: string,
  token: string,
): Promise<{ status: number; json: AnyJson; text: string }> {
  const ac = new AbortController();
  const res = await fetch(`${url}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ac.signal,
  });
  let json: AnyJson;
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) json = await res.json();
  ac.abort();
  return { status: res.status, json, text: '' };
}

/** Everything that names an object of `org` in answers: names, gids, identities (hex and IPv6). */
async function identifiersOf(registry: Registry, org: number): Promise<string[]> {
  const out: string[] = [];
  for (const n of await registry.listNetworks(org)) out.push(n.name);
  for (const b of await registry.listBatches(org)) out.push(b.name, toHex(b.gid));
  for (const d of await registry.listDevices({}, org)) {
    out.push(toHex(d.identity), formatIpv6(d.identity), toHex(d.pseudonym));
  }
  return out;
}

test("isolation: random API calls by two organizations; no answer to one names the other's objects, which answer 404", async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  const orgs = {
    acme: (await f.registry.getOrganization('acme'))!.id,
    globex: (await f.registry.getOrganization('globex'))!.id,
  };
  const policy = new IdentityPolicy(f.registry);
  let n = 0;
  const names = (org: 'acme' | 'globex') => ({ net: `${org}-net`, lot: `${org}-lot` });
  // Each command: the acting organization and what it does; `other` targets the other's object.
  const command = fc.record({
    org: fc.constantFrom('acme' as const, 'globex' as const),
    op: fc.constantFrom(
      'net',
      'batch',
      'provision',
      'list',
      'get',
      'revoke',
      'rekey',
      'audit',
      'delete',
      'assign',
    ),
    other: fc.boolean(),
    pick: fc.nat(),
  });
  // Every sequence starts by giving each organization a network, a batch and a device, so each run
  // has objects on both sides to aim at (and the checks after the runs hold whatever was drawn).
  const preamble = (['acme', 'globex'] as const).flatMap((org) =>
    (['net', 'batch', 'provision'] as const).map((op) => ({ org, op, other: false, pick: 0 })),
  );
  const sequences = fc.array(command, { minLength: 5, maxLength: 25 }).map((cmds) => [...preamble, ...cmds]);
  try {
    const verdict = await fc.check(
      fc.asyncProperty(sequences, async (cmds) => {
        for (const c of cmds) {
          const me = c.org;
          const them = me === 'acme' ? 'globex' : 'acme';
          const token = tokenOf(me, 'operator');
          const target = c.other ? them : me;
          const theirs = (await f.registry.listBatches(orgs[target])) ?? [];
          const batch = theirs.length ? theirs[c.pick % theirs.length]! : undefined;
          const devices = await f.registry.listDevices({}, orgs[target]);
          const device = devices.length ? devices[c.pick % devices.length]! : undefined;
          const nets = await f.registry.listNetworks(orgs[target]);
          const net = nets.length ? nets[c.pick % nets.length]! : undefined;
          const answers: { status: number; text: string; asked: string }[] = [];
          const call = async (method: string, path: string, body?: unknown) => {
            const r = await f.call(token, method, path, body);
            answers.push({ ...r, asked: `${path} ${JSON.stringify(body)}` });
            return r;
          };
          n++;
          switch (c.op) {
            case 'net': {
              const i = n % 250;
              await call('POST', '/api/v1/networks', {
                name: `${names(me).net}-${n}`,
                prefix: `2001:db8:${me === 'acme' ? 'a' : 'b'}${i.toString(16).padStart(2, '0')}:${n.toString(16)}::/64`,
              });
              break;
            }
            case 'batch': {
              const mine = await f.registry.listNetworks(orgs[me]);
              await call('POST', '/api/v1/batches', {
                gpk: Buffer.from(freshGpk()).toString('base64'),
                basename: Buffer.from(`b${n}`).toString('base64'),
                name: `${names(me).lot}-${n}`,
                size: 5,
                ...(mine.length ? { network: mine[c.pick % mine.length]!.name } : {}),
              });
              break;
            }
            case 'provision': {
              // A device handshake (not an API call): gives the batch a device and audit rows.
              const own = await f.registry.listBatches(orgs[me]);
              const b = own[c.pick % Math.max(1, own.length)];
              if (b) {
                const p = new Uint8Array(65).fill(4);
                new DataView(p.buffer).setUint32(1, n);
                await policy.assignIdentity({
                  gid: b.gid,
                  pseudonym: p,
                  longtermPublicKey: p,
                  requestedId: null,
                  suite: 1,
                  source: { address: '192.0.2.7', port: n % 65536 },
                });
              }
              break;
            }
            case 'list':
              for (const p of [
                '/api/v1/networks',
                '/api/v1/batches',
                '/api/v1/devices',
                '/api/v1/audit',
                '/api/v1/operator-audit',
                '/api/v1/organizations',
              ])
                await call('GET', p);
              break;
            case 'get':
              if (batch) await call('GET', `/api/v1/batches/${toHex(batch.gid)}`);
              if (net) await call('GET', `/api/v1/networks/${net.id}`);
              if (device) await call('GET', `/api/v1/devices/${toHex(device.identity)}`);
              if (device) await call('GET', `/api/v1/devices/${toHex(device.identity)}/history`);
              break;
            case 'revoke':
              if (batch) await call('POST', `/api/v1/batches/${toHex(batch.gid)}/revoke`);
              if (device) await call('POST', `/api/v1/devices/${toHex(device.identity)}/revoke`);
              break;
            case 'rekey':
              if (device)
                await call('PUT', `/api/v1/devices/${toHex(device.identity)}/allow-rekey`, { allow: true });
              break;
            case 'audit':
              if (batch) await call('GET', `/api/v1/audit?batch=${toHex(batch.gid)}`);
              if (device) await call('GET', `/api/v1/audit?device=${toHex(device.identity)}`);
              if (batch) await call('GET', `/api/v1/devices?batch=${toHex(batch.gid)}`);
              break;
            case 'delete':
              if (net) await call('DELETE', `/api/v1/networks/${net.id}`);
              break;
            case 'assign':
              if (batch && net)
                await call('PUT', `/api/v1/batches/${toHex(batch.gid)}/network`, { network: net.id });
              break;
          }
          const foreign = await identifiersOf(f.registry, orgs[them]);
          for (const a of answers) {
            // What the caller sent may come back ("batch '<gid>' not found"); nothing else may.
            for (const id of foreign.filter((x) => !a.asked.includes(x))) {
              if (a.text.includes(id))
                throw new Error(`${me} ${c.op} (other=${c.other}) got ${them}'s ${id}: ${a.text}`);
            }
            // The other organization's objects do not exist for this token.
            if (c.other && c.op !== 'list' && c.op !== 'net' && c.op !== 'batch' && c.op !== 'provision') {
              if (a.status !== 404)
                throw new Error(`${me} ${c.op} on ${them}'s object: ${a.status} ${a.text}`);
            }
          }
        }
      }),
      { numRuns: 15 },
    );
    // The failing call, named (fast-check's summary would give the sequence only).
    if (verdict.failed) t.fail(`${fc.defaultReportMessage(verdict)}\n${String(verdict.errorInstance)}`);
    // The runs did make objects on both sides, and the superadmin sees both.
    const all = await f.call(SUPER, 'GET', '/api/v1/batches');
    t.true(all.json.items.some((b: AnyJson) => b.name.startsWith('acme-')));
    t.true(all.json.items.some((b: AnyJson) => b.name.startsWith('globex-')));
    t.true((await f.registry.listDevices()).length > 0);
  } finally {
    await f.done();
  }
});

test('organizations: a superadmin lists and creates them; an organization token sees only its own', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  try {
    const names = async (token: string) =>
      (await f.call(token, 'GET', '/api/v1/organizations')).json.items.map((o: AnyJson) => o.name);
    t.deepEqual(await names(SUPER), ['default', 'acme', 'globex']);
    t.deepEqual(await names(tokenOf('acme', 'viewer')), ['acme']);
    t.deepEqual(await names(tokenOf('globex', 'admin')), ['globex']);
    const acme = await f.call(tokenOf('acme', 'viewer'), 'GET', '/api/v1/organizations/acme');
    t.like(acme.json, { name: 'acme', id: 2 });
    t.is((await f.call(tokenOf('acme', 'viewer'), 'GET', '/api/v1/organizations/2')).json.name, 'acme');
    // Another organization, by name or id, and one that does not exist answer alike.
    for (const ref of ['globex', '3', 'nowhere', 'default']) {
      const r = await f.call(tokenOf('acme', 'admin'), 'GET', `/api/v1/organizations/${ref}`);
      t.is(r.status, 404, ref);
      t.false(r.text.includes('"id"'), ref);
    }
    t.is(
      (await f.call(tokenOf('acme', 'admin'), 'POST', '/api/v1/organizations', { name: 'x' })).status,
      403,
    );
    const made = await f.call(SUPER, 'POST', '/api/v1/organizations', { name: 'initech' });
    t.is(made.status, 201, made.text);
    t.like(made.json, { name: 'initech', id: 4 });
    t.is(
      (await f.call(SUPER, 'POST', '/api/v1/organizations', { name: 'initech' })).json.error.code,
      'CONFLICT',
    );
    const bad = await f.call(SUPER, 'POST', '/api/v1/organizations', { name: '12' });
    t.is(bad.json.error.field, 'name');
    t.is((await f.registry.listOrganizations()).length, 4);
    const [entry] = (await f.call(SUPER, 'GET', '/api/v1/operator-audit?action=organization.add')).json.items;
    t.like(entry, { organizationId: 4, objectName: 'initech', actor: 'token-file:1' });
  } finally {
    await f.done();
  }
});

test("CAs and certificate devices belong to their network's organization: another's answer 404 and never show", async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const f = await start();
  const work = mkdtempSync(join(tmpdir(), 'enf-orgs-pki-'));
  try {
    await acmeObjects(f);
    const globex = (await f.registry.getOrganization('globex'))!.id;
    await f.registry.addNetwork({ name: 'globex-net', prefix: '2001:db8:6c::/64' }, globex);
    const root = makeRoot(work, 'acme-root');
    const certificate = readFileSync(root.certPath, 'utf8');
    // An organization registers CAs only on its own networks; another's is "no network".
    const foreign = await f.call(tokenOf('acme', 'operator'), 'POST', '/api/v1/cas', {
      certificate,
      network: 'globex-net',
      unverified: true,
    });
    t.is(foreign.json?.error?.field, 'network', foreign.text);
    const made = await f.call(tokenOf('acme', 'operator'), 'POST', '/api/v1/cas', {
      certificate,
      network: 'acme-net',
      unverified: true,
    });
    t.is(made.status, 201, made.text);
    const leaf = issue(root, work, 'gw-1');
    const enrolled = await new PkiPolicy(f.registry.pki, parseCertificate, {
      clock: { now: Date.now },
    }).enroll({
      leaf: parseCertificate(leaf.der),
      intermediates: [],
      method: 'tls-client-certificate',
      source: { address: '192.0.2.44', port: 4000 },
    });
    if (!enrolled.ok) throw new Error(enrolled.reason);
    const device = toHex(enrolled.identity);
    const acmeView = tokenOf('acme', 'viewer');
    const globexOp = tokenOf('globex', 'operator');
    t.deepEqual(
      (await f.call(acmeView, 'GET', '/api/v1/cas')).json.items.map((c: AnyJson) => c.id),
      [made.json.id],
    );
    t.true((await f.call(acmeView, 'GET', '/api/v1/devices?kind=certificate')).text.includes(device));
    t.is((await f.call(acmeView, 'GET', `/api/v1/devices/${device}`)).status, 200);
    t.deepEqual((await f.call(globexOp, 'GET', '/api/v1/cas')).json.items, []);
    for (const [method, path, body] of [
      ['GET', `/api/v1/cas/${made.json.id}`, undefined],
      ['POST', `/api/v1/cas/${made.json.id}/revoke`, undefined],
      ['PUT', `/api/v1/cas/${made.json.id}/crl`, { crl: readFileSync(makeCrl(root).pemPath, 'utf8') }],
      ['GET', `/api/v1/devices/${device}`, undefined],
      ['POST', `/api/v1/devices/${device}/revoke`, undefined],
      ['GET', `/api/v1/devices?ca=${made.json.id}`, undefined],
    ] as const) {
      const r = await f.call(globexOp, method, path, body);
      t.is(r.status, 404, `${method} ${path}: ${r.text}`);
    }
    const list = await f.call(globexOp, 'GET', '/api/v1/devices');
    t.false(list.text.includes(device));
    t.false(list.text.includes('acme'));
    t.is((await f.registry.pki.listCas())[0]!.status, 'active', "globex's attempts changed nothing");
  } finally {
    await f.done();
    rmSync(work, { recursive: true, force: true });
  }
});

test('CA names are per organization: acme and globex each register factory-ca, each sees and reaches only its own', async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const f = await start();
  const work = mkdtempSync(join(tmpdir(), 'enf-orgs-ca-names-'));
  try {
    const made: Record<string, AnyJson> = {};
    for (const [org, prefix] of [
      ['acme', '2001:db8:6d::/64'],
      ['globex', '2001:db8:6e::/64'],
    ] as const) {
      const op = tokenOf(org, 'operator');
      t.is((await f.call(op, 'POST', '/api/v1/networks', { name: 'plant', prefix })).status, 201);
      const root = makeRoot(work, `${org}-factory`);
      const r = await f.call(op, 'POST', '/api/v1/cas', {
        certificate: readFileSync(root.certPath, 'utf8'),
        network: 'plant',
        name: 'factory-ca',
        unverified: true,
      });
      // globex's registration must not run into acme's name (no CONFLICT that would reveal it).
      t.is(r.status, 201, `${org}: ${r.text}`);
      made[org] = r.json;
      // A second CA of the same name in one organization is a conflict.
      const again = await f.call(op, 'POST', '/api/v1/cas', {
        certificate: readFileSync(makeRoot(work, `${org}-other`).certPath, 'utf8'),
        network: 'plant',
        name: 'factory-ca',
        unverified: true,
      });
      t.is(again.status, 409, again.text);
    }
    t.not(made.acme.id, made.globex.id);
    for (const [org, other] of [
      ['acme', 'globex'],
      ['globex', 'acme'],
    ] as const) {
      const view = tokenOf(org, 'viewer');
      const op = tokenOf(org, 'operator');
      const list = await f.call(view, 'GET', '/api/v1/cas');
      t.deepEqual(
        list.json.items.map((c: AnyJson) => c.id),
        [made[org].id],
      );
      t.false(list.text.includes(made[other].fingerprint));
      const byName = await f.call(view, 'GET', '/api/v1/cas/factory-ca');
      t.is(byName.json.id, made[org].id, `${org}: factory-ca is its own`);
      // The other's CA by id or fingerprint: 404, and nothing changes.
      for (const [method, path] of [
        ['GET', `/api/v1/cas/${made[other].id}`],
        ['GET', `/api/v1/cas/${made[other].fingerprint}`],
        ['POST', `/api/v1/cas/${made[other].id}/revoke`],
        ['GET', `/api/v1/devices?ca=${made[other].id}`],
      ] as const) {
        const r = await f.call(op, method, path);
        t.is(r.status, 404, `${org} ${method} ${path}: ${r.text}`);
      }
      t.is((await f.call(view, 'GET', '/api/v1/devices?ca=factory-ca')).status, 200);
    }
    // Revoking by name revokes only the caller's own.
    t.is((await f.call(tokenOf('globex', 'operator'), 'POST', '/api/v1/cas/factory-ca/revoke')).status, 200);
    t.deepEqual(
      (await f.registry.pki.listCas()).map((c) => [c.id, c.status]),
      [
        [made.acme.id, 'active'],
        [made.globex.id, 'revoked'],
      ],
    );
  } finally {
    await f.done();
    rmSync(work, { recursive: true, force: true });
  }
});

test("/metrics: an organization's token gets its own device gauges and counters, labelled with its name; a superadmin the server's", async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  try {
    await acmeObjects(f); // one acme device
    const text = async (token: string) =>
      (await fetch(`${f.server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const acme = await text(tokenOf('acme', 'viewer'));
    t.regex(acme, /^enf_devices\{organization="acme",status="active"\} 1$/m);
    t.regex(acme, /^enf_pki_devices\{organization="acme",status="active"\} 0$/m);
    // Its own handshake counters only; the server's verify pool figures are not an organization's.
    t.regex(acme, /^enf_handshakes_total\{organization="acme",outcome="provisioned"\} 0$/m);
    t.false(acme.includes('enf_verify_'));
    const globex = await text(tokenOf('globex', 'viewer'));
    t.regex(globex, /^enf_devices\{organization="globex",status="active"\} 0$/m);
    t.false(globex.includes('acme'));
    const all = await text(SUPER);
    t.regex(all, /^enf_devices\{status="active"\} 1$/m);
    t.regex(all, /^enf_handshakes_total\{organization="globex",outcome="provisioned"\} 0$/m);
  } finally {
    await f.done();
  }
});

test('the live event stream of an organization carries only its own events', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  const ac = new AbortController();
  try {
    const res = await fetch(`${f.server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${tokenOf('globex', 'viewer')}` },
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    const acme = await acmeObjects(f); // a handshake in acme: audit polled
    await f.call(tokenOf('acme', 'operator'), 'POST', `/api/v1/batches/${acme.batch}/revoke`);
    // Then one of globex's own: once it arrives, anything of acme's would have come before it.
    const globex = (await f.registry.getOrganization('globex'))!.id;
    await f.registry.addNetwork({ name: 'globex-net', prefix: '2001:db8:6b::/64' }, globex);
    const r = await f.call(tokenOf('globex', 'operator'), 'POST', '/api/v1/batches', {
      gpk: Buffer.from(freshGpk()).toString('base64'),
      basename: Buffer.from('g').toString('base64'),
      name: 'globex-lot',
      network: 'globex-net',
      size: 3,
    });
    t.is(r.status, 201);
    while (!seen.includes('globex-lot')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    t.true(seen.includes('globex-lot'));
    t.false(seen.includes('acme'), seen);
    t.false(seen.includes('event: audit'), seen);
  } finally {
    ac.abort();
    await f.done();
  }
});

test("PKI enrollments reach the event stream of their CA's organization only (and the superadmin's)", async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const f = await start();
  const work = mkdtempSync(join(tmpdir(), 'enf-orgs-pki-events-'));
  const ac = new AbortController();
  try {
    const listen = async (token: string) => {
      const res = await fetch(`${f.server.url}/api/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: ac.signal,
      });
      t.is(res.status, 200);
      const reader = res.body!.getReader();
      let seen = '';
      return async (until: string): Promise<string> => {
        while (!seen.includes(until)) {
          const { value, done } = await reader.read();
          if (done) break;
          seen += new TextDecoder().decode(value);
        }
        return seen;
      };
    };
    const acmeEvents = await listen(tokenOf('acme', 'viewer'));
    const globexEvents = await listen(tokenOf('globex', 'viewer'));
    const allEvents = await listen(SUPER);
    const policy = new PkiPolicy(f.registry.pki, parseCertificate, { clock: { now: Date.now } });
    const caIn = async (org: string, prefix: string) => {
      const id = (await f.registry.getOrganization(org))!.id;
      await f.registry.addNetwork({ name: `${org}-pki-net`, prefix }, id);
      const root = makeRoot(work, `${org}-root`);
      const made = await f.call(tokenOf(org, 'operator'), 'POST', '/api/v1/cas', {
        certificate: readFileSync(root.certPath, 'utf8'),
        network: `${org}-pki-net`,
        unverified: true,
      });
      t.is(made.status, 201, made.text);
      return root;
    };
    const enroll = async (root: ReturnType<typeof makeRoot>, subject: string) => {
      const leaf = issue(root, work, subject);
      const d = await policy.enroll({
        leaf: parseCertificate(leaf.der),
        intermediates: [],
        method: 'tls-client-certificate',
        source: { address: '192.0.2.45', port: 4000 },
      });
      if (!d.ok) throw new Error(d.reason);
    };
    const acmeRoot = await caIn('acme', '2001:db8:a1::/64');
    const globexRoot = await caIn('globex', '2001:db8:b1::/64');
    // Audit order is announcement order: acme's, then globex's, then acme's again.
    await enroll(acmeRoot, 'acme-gw-1');
    await enroll(globexRoot, 'globex-gw-1');
    await enroll(acmeRoot, 'acme-gw-2');
    const acme = await acmeEvents('acme-gw-2');
    t.regex(acme, /event: audit\ndata: .*"subject":"[^"]*acme-gw-1"/);
    t.regex(acme, /event: audit\ndata: .*"subject":"[^"]*acme-gw-2"/);
    t.false(acme.includes('globex'), acme);
    const globex = await globexEvents('globex-gw-1');
    t.regex(globex, /event: audit\ndata: .*"subject":"[^"]*globex-gw-1"/);
    t.false(globex.includes('acme'), globex);
    const all = await allEvents('acme-gw-2');
    for (const s of ['acme-gw-1', 'globex-gw-1', 'acme-gw-2']) t.true(all.includes(s), s);
  } finally {
    ac.abort();
    await f.done();
    rmSync(work, { recursive: true, force: true });
  }
});

test('token file: org= and role= bind a token; bare tokens stay superadmins; mistakes are named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-tokens-'));
  const file = join(dir, 'tokens');
  const registry = SqliteRegistry.open(join(dir, 'r.sqlite'));
  try {
    await registry.addOrganization({ name: 'acme' });
    writeFileSync(
      file,
      `# comment\n${SUPER}\n${tokenOf('acme', 'viewer')} org=acme role=viewer\n${tokenOf('acme', 'admin')} name=ops.bot role=admin org=acme\n`,
    );
    const auth = TokenAuthenticator.fromFile(file);
    await auth.resolve(registry);
    const req = (tok: string) => ({ headers: { authorization: `Bearer ${tok}` } }) as AnyJson;
    // The actor the operator audit records: the line's name=, else its line number.
    t.deepEqual(auth.check(req(SUPER)), { role: 'superadmin', org: undefined, actor: 'token-file:2' });
    t.deepEqual(auth.check(req(tokenOf('acme', 'viewer'))), {
      role: 'viewer',
      org: 2,
      actor: 'token-file:3',
    });
    t.deepEqual(auth.check(req(tokenOf('acme', 'admin'))), {
      role: 'admin',
      org: 2,
      actor: 'token-file:ops.bot',
    });
    for (const [line, message] of [
      [`${SUPER} role=root`, /line 1: role must be one of/],
      [`${SUPER} team=x`, /line 1: unknown field/],
      [`${SUPER} role=viewer`, /needs org=NAME/],
      [`${SUPER} org=acme role=superadmin`, /superadmin token has no org=/],
      [`${SUPER} name=42`, /line 1: name must be .*not all digits/],
      [`${SUPER} name=a/b`, /line 1: name must be/],
    ] as const) {
      writeFileSync(file, `${line}\n`);
      t.throws(() => TokenAuthenticator.fromFile(file), { instanceOf: TokenFileError, message });
    }
    writeFileSync(file, `${SUPER} org=nobody role=admin\n`);
    await t.throwsAsync(TokenAuthenticator.fromFile(file).resolve(registry), {
      instanceOf: TokenFileError,
      message: /organization 'nobody', which does not exist/,
    });
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
