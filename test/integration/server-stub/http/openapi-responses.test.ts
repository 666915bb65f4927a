// Real responses of a running management server checked against the OpenAPI document's schemas
// (server-stub/http/openapi.ts): one scenario calls every JSON operation, each response is validated
// against the schema documented for its path, method and status, and the test fails if an operation
// with a JSON response was not exercised.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../../../../protocol/pki/certificate.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { PkiPolicy } from '../../../../server-stub/policy/pki-policy.ts';
import { issue, makeCrl, makeRoot } from '../../../helpers/openssl-ca.ts';
import { OPENAPI } from '../../../../server-stub/http/openapi.ts';
import { validate } from '../../../unit/server-stub/http/_schema.ts';
import { freshGpk, labelPng, startApi } from './_fixtures.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const doc = OPENAPI as unknown as Record<string, AnyJson>;

test('every JSON response matches its documented schema', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await startApi();
  const exercised = new Set<string>();
  const call = async (
    method: string,
    template: string,
    params: Record<string, string>,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    const path = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k]!));
    const [pathOnly] = template.split('?') as [string];
    const r = await f.call(method, path, body, headers);
    const op = doc.paths[pathOnly]?.[method.toLowerCase()];
    t.truthy(op, `${method} ${pathOnly} documented`);
    const resp = op.responses[String(r.status)];
    t.truthy(resp, `${method} ${pathOnly} documents status ${r.status}`);
    const resolved = resp.$ref ? doc.components.responses.Error : resp;
    const schema = resolved.content['application/json'].schema;
    t.deepEqual(validate(doc, schema, r.json), [], `${method} ${pathOnly} ${r.status}`);
    if (r.status < 300) exercised.add(`${method} ${pathOnly}`);
    return r;
  };
  try {
    await call('POST', '/api/v1/networks', {}, { name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
    await call('POST', '/api/v1/networks', {}, { name: 'spare', prefix: '2001:db8:bb:1::/64' });
    await call('POST', '/api/v1/networks', {}, { name: 'bad', prefix: 'nope' });
    await call('GET', '/api/v1/networks', {});
    await call('GET', '/api/v1/networks/{network}', { network: 'plant-a' });
    await call('GET', '/api/v1/networks/{network}', { network: 'missing' });
    await call('DELETE', '/api/v1/networks/{network}', { network: 'spare' });
    const label = { gpk: freshGpk(), basename: new TextEncoder().encode('B'), name: 'lot-1' };
    const png = new Uint8Array(labelPng(label));
    const scanned = await call('POST', '/api/v1/labels/scan', {}, png, { 'content-type': 'image/png' });
    await call('POST', '/api/v1/labels/scan', {}, png, { 'content-type': 'image/gif' });
    await call('POST', '/api/v1/batches', {}, { qr: scanned.json.qr, size: 10 });
    const img = { gpk: freshGpk(), basename: new TextEncoder().encode('C'), name: 'lot-2' };
    await call(
      'POST',
      '/api/v1/batches/from-image?size=5&network=plant-a',
      {},
      new Uint8Array(labelPng(img)),
      { 'content-type': 'image/png' },
    );
    await call('POST', '/api/v1/batches', {}, { qr: scanned.json.qr, size: 10 });
    await call('GET', '/api/v1/batches', {});
    await call('PUT', '/api/v1/batches/{batch}/network', { batch: 'lot-1' }, { network: 'plant-a' });
    const batch = await call('GET', '/api/v1/batches/{batch}', { batch: 'lot-1' });
    const gid = new Uint8Array(Buffer.from(batch.json.gid as string, 'hex'));
    const policy = new IdentityPolicy(f.registry);
    const p = new Uint8Array(65).fill(3);
    p[0] = 4;
    const r = await policy.assignIdentity({
      gid,
      pseudonym: p,
      longtermPublicKey: p,
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.1', port: 7 },
    });
    t.true(r.ok);
    await policy.recordFailure(
      { address: '192.0.2.2', port: 8 },
      { gid, pseudonym: null, suite: 1, reason: 'bad-signature' },
    );
    const devices = await call('GET', '/api/v1/devices', {});
    const device = devices.json.items[0].id as string;
    await call('GET', '/api/v1/devices/{device}', { device });
    await call('GET', '/api/v1/devices/{device}/history', { device });
    await call('PUT', '/api/v1/devices/{device}/allow-rekey', { device }, { allow: true });
    await call('POST', '/api/v1/devices/{device}/revoke', { device });
    // PKI option: a CA, a certificate device beside the DAA one, its CRL, its revocation.
    const root = makeRoot(f.dir, 'acme-root');
    const rootPem = readFileSync(root.certPath, 'utf8');
    await call('POST', '/api/v1/cas/registration-code', {}, { certificate: rootPem });
    await call('POST', '/api/v1/cas', {}, { certificate: rootPem, network: 'plant-a' });
    await call('POST', '/api/v1/cas', {}, { certificate: rootPem, network: 'plant-a', unverified: true });
    await call('GET', '/api/v1/cas', {});
    await call('GET', '/api/v1/cas/{ca}', { ca: 'acme-root' });
    const leaf = issue(root, f.dir, 'gw-1');
    const pki = new PkiPolicy(f.registry.pki, parseCertificate, { clock: { now: Date.now } });
    const enrolled = await pki.enroll({
      leaf: parseCertificate(leaf.der),
      intermediates: [],
      method: 'signed-challenge',
      source: { address: '192.0.2.3', port: 9 },
    });
    t.true(enrolled.ok);
    const mixed = await call('GET', '/api/v1/devices', {});
    t.deepEqual(
      mixed.json.items.map((d: { kind: string }) => d.kind),
      ['daa', 'certificate'],
    );
    const certDevice = mixed.json.items[1].id as string;
    await call('GET', '/api/v1/devices/{device}', { device: certDevice });
    await call('GET', '/api/v1/devices/{device}/history', { device: certDevice });
    await call('POST', '/api/v1/devices/{device}/revoke', { device: certDevice });
    const crl = makeCrl(root);
    await call(
      'PUT',
      '/api/v1/cas/{ca}/crl',
      { ca: 'acme-root' },
      { crl: readFileSync(crl.pemPath, 'utf8') },
    );
    await call('PUT', '/api/v1/cas/{ca}/crl', { ca: 'acme-root' }, { crl: 'nope' });
    await call('POST', '/api/v1/cas/{ca}/revoke', { ca: 'acme-root' });
    await call('GET', '/api/v1/audit', {});
    await call('GET', '/api/v1/audit?outcome=nope', {});
    await call('GET', '/api/v1/operator-audit', {});
    await call('GET', '/api/v1/organizations', {});
    await call('GET', '/api/v1/overview?days=7', {});
    await call('GET', '/api/v1/overview?days=0', {});
    await call('POST', '/api/v1/organizations', {}, { name: 'initech' });
    await call('GET', '/api/v1/organizations/{organization}', { organization: 'initech' });
    await call('GET', '/api/v1/operator-audit?objectType=nope', {});
    await call('POST', '/api/v1/batches/{batch}/revoke', { batch: 'lot-2' });
    await call('GET', '/api/v1/openapi.json', {});
    // Users, sessions, named tokens.
    const erin = { name: 'erin', password: 'erin-password-1', role: 'admin', organization: 'default' };
    await call('POST', '/api/v1/users', {}, erin);
    await call('POST', '/api/v1/users', {}, erin);
    await call('POST', '/api/v1/users', {}, { ...erin, name: 'frank', password: 'short' });
    await call('GET', '/api/v1/users', {});
    await call('GET', '/api/v1/users/{user}', { user: 'erin' });
    await call('PUT', '/api/v1/users/{user}/password', { user: 'erin' }, { password: 'erin-password-2' });
    await call('PUT', '/api/v1/users/{user}/role', { user: 'erin' }, { role: 'operator' });
    await call('PUT', '/api/v1/users/{user}/role', { user: 'erin' }, { role: 'superadmin' });
    await call('PUT', '/api/v1/users/{user}/role', { user: 'erin' }, { role: 'admin' });
    await call('PUT', '/api/v1/users/{user}/disabled', { user: 'erin' }, { disabled: false });
    await call('POST', '/api/v1/session', {}, { name: 'erin', password: 'erin-password-2' });
    await call('POST', '/api/v1/session', {}, { name: 'erin', password: 'wrong password' });
    await call('GET', '/api/v1/session', {});
    const ci = await call(
      'POST',
      '/api/v1/tokens',
      {},
      { name: 'ci', role: 'operator', organization: 'default', expiresAt: '2099-01-01' },
    );
    const own = await call('POST', '/api/v1/tokens', {}, { name: 'erins', user: 'erin', role: 'viewer' });
    await call('GET', '/api/v1/tokens', {});
    await call('DELETE', '/api/v1/tokens/{token}', { token: String(ci.json.id) });
    const asErin = { authorization: `Bearer ${own.json.token as string}` };
    await call('GET', '/api/v1/session', {}, undefined, asErin);
    await call(
      'PUT',
      '/api/v1/session/password',
      {},
      { current: 'erin-password-2', password: 'erin-password-3' },
      asErin,
    );
    await call('DELETE', '/api/v1/session', {});

    const jsonOps: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, AnyJson>>)) {
      for (const [m, op] of Object.entries(item)) {
        if (m === 'parameters') continue;
        const ok = Object.entries(op.responses as Record<string, AnyJson>).find(([s]) => s.startsWith('2'));
        if (ok && ok[1].content?.['application/json']) jsonOps.push(`${m.toUpperCase()} ${path}`);
      }
    }
    t.deepEqual([...exercised].sort(), jsonOps.sort());
  } finally {
    await f.done();
  }
});
