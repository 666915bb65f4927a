// server-stub/http/openapi.ts against the router: every route is documented and every documented
// operation is routed (method and path template, both ways), path parameters match, operations
// that need no token say so, and the schema checker used by the response tests catches mismatches.
import test from 'ava';
import { buildRouter } from '../../../../server-stub/http/management-server.ts';
import type { ApiContext } from '../../../../server-stub/http/context.ts';
import { API_ERRORS } from '../../../../server-stub/http/errors.ts';
import { OPENAPI } from '../../../../server-stub/http/openapi.ts';
import { validate } from './_schema.ts';

const METHODS = ['get', 'post', 'put', 'delete', 'patch'];
// Route handlers only touch the context when called; the table needs none of it.
const router = buildRouter({} as ApiContext, false);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const doc = OPENAPI as unknown as Record<string, AnyJson>;

function documented(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(item)) if (METHODS.includes(m)) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}

test('every route is in the OpenAPI document and every documented operation is routed', (t) => {
  const routed = router.table.map((r) => `${r.method} ${r.path}`).sort();
  t.deepEqual(routed, documented());
  t.true(routed.length >= 18);
});

test('path parameters in templates are declared, and declared ones are used', (t) => {
  for (const [path, item] of Object.entries(doc.paths as Record<string, AnyJson>)) {
    const inPath = [...path.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1]).sort();
    for (const m of Object.keys(item).filter((k) => METHODS.includes(k))) {
      const params = [...(item.parameters ?? []), ...(item[m].parameters ?? [])];
      const declared = params
        .filter((p: { in: string }) => p.in === 'path')
        .map((p: { name: string }) => p.name)
        .sort();
      t.deepEqual(declared, inPath, `${m} ${path}`);
    }
  }
});

test('operations without a token are exactly the ones the router leaves open', (t) => {
  const open = router.table
    .filter((r) => !r.isAuthenticated)
    .map((r) => `${r.method} ${r.path}`)
    .sort();
  const docOpen = documented().filter((op) => {
    const [m, p] = op.split(' ') as [string, string];
    const sec = doc.paths[p][m.toLowerCase()].security;
    return Array.isArray(sec) && sec.length === 0;
  });
  t.deepEqual(open, docOpen);
  // With isMetricsPublic the router opens /metrics too (documented as the deployment's choice).
  t.true(buildRouter({} as ApiContext, true).table.some((r) => r.path === '/metrics' && !r.isAuthenticated));
});

test('every $ref resolves and every error code has a status', (t) => {
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  for (const r of refs) {
    const path = r.slice(8, -1).replace(/^#\//, '').split('/');
    let node: unknown = doc;
    for (const p of path) node = (node as Record<string, unknown>)[p];
    t.truthy(node, r);
  }
  t.deepEqual(doc.components.schemas.Error.properties.error.properties.code.enum, Object.keys(API_ERRORS));
  t.true(refs.length > 20);
});

test('the schema checker accepts conforming shapes and names the path of a mismatch', (t) => {
  const net = { id: 1, name: 'a', prefix: '2001:db8::/64', createdAt: '2026-01-01T00:00:00.000Z' };
  t.deepEqual(validate(doc, { $ref: '#/components/schemas/Network' }, net), []);
  t.deepEqual(validate(doc, { $ref: '#/components/schemas/Network' }, { ...net, id: '1' }), [
    '$.id: expected integer, got string',
  ]);
  t.deepEqual(validate(doc, { $ref: '#/components/schemas/Network' }, { ...net, extra: 1 }), [
    '$.extra: not in the schema',
  ]);
  t.deepEqual(
    validate(doc, { $ref: '#/components/schemas/NetworkList' }, { items: [{ ...net, prefix: 'x' }] }),
    ["$.items[0].prefix: 'x' does not match ^[0-9a-f:]+/64$"],
  );
  const { name: _omit, ...noName } = net;
  t.deepEqual(validate(doc, { $ref: '#/components/schemas/Network' }, noName), ['$.name: required']);
  t.is(validate(doc, { $ref: '#/components/schemas/NewBatch' }, { qr: 'x', size: 1 }).length, 0);
  t.is(validate(doc, { $ref: '#/components/schemas/NewBatch' }, { size: 1 }).length, 1);
});

test('each operation documents the role its route declares, and 403 with it', (t) => {
  for (const r of buildRouter({} as ApiContext, false).table.filter((x) => x.isAuthenticated)) {
    const op = doc.paths[r.path][r.method.toLowerCase()];
    t.is(op['x-required-role'], r.role, `${r.method} ${r.path}`);
    t.truthy(op.responses['403'], `${r.method} ${r.path} documents 403`);
  }
  // Reading never needs more than viewer (but users are an admin's to see); changing needs at least
  // operator, except a caller's own session and own API tokens.
  const ownThings = [
    '/api/v1/session',
    '/api/v1/session/password',
    '/api/v1/tokens',
    '/api/v1/tokens/{token}',
  ];
  for (const r of router.table.filter((x) => x.isAuthenticated && x.path.startsWith('/api/v1/'))) {
    const what = `${r.method} ${r.path}`;
    if (r.path.startsWith('/api/v1/users')) t.is(r.role, 'admin', what);
    else if (ownThings.includes(r.path)) t.is(r.role, 'viewer', what);
    else if (r.method === 'GET') t.true(['viewer', 'superadmin'].includes(r.role), what);
    else t.not(r.role, 'viewer', what);
  }
});
