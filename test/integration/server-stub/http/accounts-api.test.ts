// Users, sessions and named API tokens over a real management server (SQLite on disk) with a fake
// clock shared by the server and the registry, so idle expiry, the sign-in throttle and token expiry
// are reached by moving the clock, not by waiting: password sign-in and its cookie, CSRF refusals
// (foreign Origin, cross-site Sec-Fetch-Site, missing or foreign token), sign-out, idle expiry, 429
// with Retry-After after repeated failures, roles that only go down, per-organization users and
// tokens, token expiry, revocation and a disabled user's credentials, and no password in the log.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startManagementServer } from '../../../../server-stub/http/index.ts';
import { memoryLogger } from '../../../../server-stub/log.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';
import { addUser } from '../../../../server-stub/http/accounts.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJson = any;
const SUPER = 'super-token-0123456789abcdef';
const IDLE_MS = 600_000;
const PASSWORDS = { alice: 'alice-secret-pw', victor: 'victor-secret-pw', gina: 'gina-secret-pw' };

async function start() {
  const dir = mkdtempSync(join(tmpdir(), 'enf-accounts-'));
  const clock = { t: Date.UTC(2026, 0, 1), now: () => clock.t };
  const file = join(dir, 'registry.sqlite');
  const registry = SqliteRegistry.open(file, { clock });
  const acme = (await registry.addOrganization({ name: 'acme' })).id;
  const globex = (await registry.addOrganization({ name: 'globex' })).id;
  await addUser(registry, { name: 'alice', password: PASSWORDS.alice, role: 'admin', organizationId: acme });
  await addUser(registry, {
    name: 'victor',
    password: PASSWORDS.victor,
    role: 'viewer',
    organizationId: acme,
  });
  await addUser(registry, { name: 'gina', password: PASSWORDS.gina, role: 'admin', organizationId: globex });
  const logger = memoryLogger();
  const server = await startManagementServer({
    registry,
    logger,
    host: '127.0.0.1',
    port: 0,
    tokens: [new TextEncoder().encode(SUPER)],
    sessionIdleMs: IDLE_MS,
    clock,
  });
  const origin = server.url;
  /** A request with the given credentials; JSON in and out. */
  const call = async (
    method: string,
    path: string,
    opts: { body?: unknown; bearer?: string; session?: Session; headers?: Record<string, string> } = {},
  ) => {
    const h: Record<string, string> = { ...opts.headers };
    if (opts.bearer) h.authorization = `Bearer ${opts.bearer}`;
    if (opts.session) h.cookie = opts.session.cookie;
    if (opts.body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: h,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: text ? (JSON.parse(text) as AnyJson) : undefined,
    };
  };
  const signIn = async (name: string, password: string, headers: Record<string, string> = {}) => {
    const r = await call('POST', '/api/v1/session', { body: { name, password }, headers });
    const setCookie = r.headers.get('set-cookie');
    const session = setCookie
      ? { cookie: setCookie.split(';')[0]!, csrf: r.json.csrfToken as string, setCookie }
      : undefined;
    return { ...r, session };
  };
  /** A state change the way the dashboard makes it: same origin, CSRF token. */
  const change = (method: string, path: string, session: Session, body?: unknown) =>
    call(method, path, {
      session,
      body,
      headers: { origin, 'sec-fetch-site': 'same-origin', 'x-csrf-token': session.csrf },
    });
  return {
    registry,
    clock,
    logger,
    origin,
    file,
    call,
    signIn,
    change,
    done: async () => {
      await server.close();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
interface Session {
  cookie: string;
  csrf: string;
}

test('sign in with a password; the cookie works, state changes need same origin and the CSRF token; sign out ends it', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const f = await start();
  try {
    const wrong = await f.signIn('alice', 'not her password');
    const nobody = await f.signIn('nobody', 'not her password');
    t.is(wrong.status, 401);
    t.is(nobody.status, 401);
    t.deepEqual(wrong.json, nobody.json, 'a wrong password and an unknown name answer alike');
    t.is(wrong.session, undefined);
    t.is((await f.signIn('alice', PASSWORDS.alice, { origin: 'http://evil.example' })).status, 403);

    const ok = await f.signIn('alice', PASSWORDS.alice);
    t.is(ok.status, 200);
    t.like(ok.json, { actor: 'user:alice', user: 'alice', role: 'admin', organization: 'acme' });
    t.is(ok.json.idleTimeoutSeconds, IDLE_MS / 1000);
    t.regex(ok.session!.setCookie, /^enf_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const s = ok.session!;
    const me = await f.call('GET', '/api/v1/session', { session: s });
    t.like(me.json, { actor: 'user:alice', csrfToken: s.csrf });
    t.is((await f.call('GET', '/api/v1/networks', { session: s })).status, 200);

    const net = { name: 'plant', prefix: '2001:db8:ac::/64' };
    for (const [headers, what] of [
      [{}, 'no CSRF token'],
      [{ 'x-csrf-token': 'x'.repeat(43) }, 'a wrong token'],
      [{ 'x-csrf-token': s.csrf, origin: 'http://evil.example' }, 'a foreign Origin'],
      [{ 'x-csrf-token': s.csrf, 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site cross-site'],
    ] as const) {
      const r = await f.call('POST', '/api/v1/networks', { session: s, body: net, headers });
      t.is(r.status, 403, what);
      t.is(r.json.error.code, 'FORBIDDEN', what);
    }
    t.is((await f.registry.listNetworks()).length, 0, 'nothing was created by the refused requests');
    const made = await f.change('POST', '/api/v1/networks', s, net);
    t.is(made.status, 201);
    t.is(
      (await f.registry.getNetwork('plant', (await f.registry.getOrganization('acme'))!.id))?.name,
      'plant',
    );

    const out = await f.change('DELETE', '/api/v1/session', s);
    t.deepEqual(out.json, { signedOut: true });
    t.regex(out.headers.get('set-cookie') ?? '', /^enf_session=; .*Max-Age=0/);
    const after = await f.call('GET', '/api/v1/networks', { session: s });
    t.is(after.status, 401);
    t.regex(after.json.error.message, /sign in again/);
    for (const p of Object.values(PASSWORDS)) {
      t.false(f.logger.lines.join('\n').includes(p), 'no password in the log');
    }
  } finally {
    await f.done();
  }
});

test('an idle session ends after the timeout; use keeps it alive', async (t) => {
  t.timeout(600_000);
  const f = await start();
  try {
    const s = (await f.signIn('victor', PASSWORDS.victor)).session!;
    for (let i = 0; i < 3; i++) {
      f.clock.t += IDLE_MS - 1000;
      t.is((await f.call('GET', '/api/v1/batches', { session: s })).status, 200, `use ${i}`);
    }
    f.clock.t += IDLE_MS + 1;
    const r = await f.call('GET', '/api/v1/batches', { session: s });
    t.is(r.status, 401);
    t.is(r.json.error.code, 'UNAUTHORIZED');
  } finally {
    await f.done();
  }
});

test('repeated failed sign-ins are answered 429 with Retry-After, then the owner gets in once it has passed', async (t) => {
  t.timeout(600_000);
  const f = await start();
  try {
    for (let i = 0; i < 3; i++) t.is((await f.signIn('victor', `guess number ${i}`)).status, 401);
    const held = await f.signIn('victor', PASSWORDS.victor);
    t.is(held.status, 429);
    t.is(held.json.error.code, 'TOO_MANY_REQUESTS');
    t.is(held.session, undefined, 'not even the right password is checked while held');
    const retry = Number(held.headers.get('retry-after'));
    t.true(retry >= 1 && retry <= 300, String(retry));
    f.clock.t += retry * 1000;
    t.is((await f.signIn('victor', PASSWORDS.victor)).status, 200);
  } finally {
    await f.done();
  }
});

test('two management servers over one registry file share the sign-in throttle (as the processes of start --processes 2 do)', async (t) => {
  t.timeout(600_000);
  const f = await start();
  const other = SqliteRegistry.open(f.file, { clock: f.clock });
  const second = await startManagementServer({
    registry: other,
    host: '127.0.0.1',
    port: 0,
    tokens: [new TextEncoder().encode(SUPER)],
    clock: f.clock,
  });
  const signInSecond = (name: string, password: string) =>
    fetch(`${second.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password }),
    });
  try {
    // Two failures through one, one through the other: 3 in all, the free ones used up; with
    // per-process counts neither server would hold the next attempt.
    for (let i = 0; i < 2; i++) t.is((await f.signIn('victor', `guess ${i}`)).status, 401);
    t.is((await signInSecond('victor', 'guess 2')).status, 401);
    const held = await f.signIn('victor', PASSWORDS.victor);
    t.is(held.status, 429, 'the failures through the second server count on the first');
    const heldThere = await signInSecond('victor', PASSWORDS.victor);
    t.is(heldThere.status, 429);
    t.is(heldThere.headers.get('retry-after'), held.headers.get('retry-after'));
    f.clock.t += Number(held.headers.get('retry-after')) * 1000;
    t.is((await signInSecond('victor', PASSWORDS.victor)).status, 200);
  } finally {
    await second.close();
    await other.close();
    await f.done();
  }
});

test('roles only go down; users and tokens of another organization are not found', async (t) => {
  t.timeout(600_000);
  const f = await start();
  try {
    const alice = (await f.signIn('alice', PASSWORDS.alice)).session!;
    const victor = (await f.signIn('victor', PASSWORDS.victor)).session!;
    // A viewer: reading yes, changing no, users no.
    t.is(
      (await f.change('POST', '/api/v1/networks', victor, { name: 'n', prefix: '2001:db8:1::/64' })).status,
      403,
    );
    t.is((await f.call('GET', '/api/v1/users', { session: victor })).status, 403);
    // An admin adds users in its organization only, never above itself.
    const add = (body: object) => f.change('POST', '/api/v1/users', alice, body);
    const ok = await add({ name: 'otto', password: 'otto-secret-pw', role: 'operator' });
    t.is(ok.status, 201);
    t.like(ok.json, { name: 'otto', organization: 'acme', role: 'operator', disabled: false });
    t.false(JSON.stringify(ok.json).includes('scrypt'));
    t.is((await add({ name: 'sam', password: 'sam-secret-pw1', role: 'superadmin' })).status, 403);
    t.is(
      (await add({ name: 'x3', password: 'x3-secret-pw1', role: 'viewer', organization: 'globex' })).status,
      404,
    );
    t.is((await add({ name: 'x4', password: 'short', role: 'viewer' })).json.error.field, 'password');
    t.deepEqual(
      (await f.call('GET', '/api/v1/users', { session: alice })).json.items.map((u: AnyJson) => u.name),
      ['alice', 'victor', 'otto'],
    );
    t.is((await f.call('GET', '/api/v1/users/gina', { session: alice })).status, 404);
    // The superadmin token sees everyone and may add a superadmin.
    t.is((await f.call('GET', '/api/v1/users', { bearer: SUPER })).json.items.length, 4);
    const root = await f.call('POST', '/api/v1/users', {
      bearer: SUPER,
      body: { name: 'root', password: 'root-secret-pw', role: 'superadmin' },
    });
    t.like(root.json, { organization: null, role: 'superadmin' });

    // Tokens: a viewer's own, at most viewer; an admin's for the organization.
    t.is((await f.change('POST', '/api/v1/tokens', victor, { name: 'vt', role: 'operator' })).status, 403);
    const vt = await f.change('POST', '/api/v1/tokens', victor, { name: 'vt' });
    t.is(vt.status, 201);
    t.like(vt.json, {
      name: 'vt',
      role: 'viewer',
      user: 'victor',
      organization: 'acme',
      createdBy: 'user:victor',
    });
    t.regex(vt.json.token, /^enf_[A-Za-z0-9_-]{43}$/);
    const secret = vt.json.token as string;
    const asVt = await f.call('GET', '/api/v1/session', { bearer: secret });
    t.like(asVt.json, {
      actor: 'token:vt',
      role: 'viewer',
      organization: 'acme',
      user: 'victor',
      csrfToken: null,
    });
    const listed = await f.call('GET', '/api/v1/tokens', { session: victor });
    t.is(listed.json.items.length, 1);
    t.not(listed.json.items[0].lastUsedAt, null);
    t.false(JSON.stringify(listed.json).includes(secret.slice(4)), 'the secret is shown once only');
    t.false(readFileSync(f.file).includes(Buffer.from(secret)), 'nor stored');
    const ci = await f.change('POST', '/api/v1/tokens', alice, {
      name: 'ci',
      role: 'operator',
      expiresAt: '2026-01-02T00:00:00Z',
    });
    t.is(ci.status, 201, JSON.stringify(ci.json));
    t.like(ci.json, { user: 'alice', role: 'operator' });
    const org = await f.call('POST', '/api/v1/tokens', {
      bearer: SUPER,
      body: { name: 'acme-ci', role: 'admin', organization: 'acme' },
    });
    t.like(org.json, { user: null, organization: 'acme', createdBy: 'token-file:1' });
    // The viewer cannot see or revoke the admin's token; the other organization cannot either.
    t.is((await f.change('DELETE', '/api/v1/tokens/ci', victor)).status, 404);
    const gina = (await f.signIn('gina', PASSWORDS.gina)).session!;
    t.is((await f.change('DELETE', '/api/v1/tokens/ci', gina)).status, 404);
    t.is((await f.call('GET', '/api/v1/tokens', { session: gina })).json.items.length, 0);
    t.is((await f.call('GET', '/api/v1/batches', { bearer: ci.json.token })).status, 200);
    // Expiry: the clock passes it.
    f.clock.t += 86_400_000;
    t.is((await f.call('GET', '/api/v1/batches', { bearer: ci.json.token })).status, 401);
    // Revocation (a day passed: signed in again).
    const victor2 = (await f.signIn('victor', PASSWORDS.victor)).session!;
    const alice2 = (await f.signIn('alice', PASSWORDS.alice)).session!;
    const revoked = await f.change('DELETE', '/api/v1/tokens/vt', victor2);
    t.is(revoked.status, 200);
    t.not(revoked.json.revokedAt, null);
    t.is((await f.call('GET', '/api/v1/batches', { bearer: secret })).status, 401);
    // A disabled user: its sessions and its tokens stop working; it cannot sign in.
    const ot = await f.call('POST', '/api/v1/tokens', { bearer: SUPER, body: { name: 'ot', user: 'otto' } });
    t.is(ot.status, 201, JSON.stringify(ot.json));
    const otto = (await f.signIn('otto', 'otto-secret-pw')).session!;
    t.is(
      (await f.change('PUT', '/api/v1/users/otto/disabled', alice2, { disabled: true })).json.disabled,
      true,
    );
    t.is((await f.call('GET', '/api/v1/batches', { session: otto })).status, 401);
    t.is((await f.call('GET', '/api/v1/batches', { bearer: ot.json.token })).status, 401);
    t.is((await f.signIn('otto', 'otto-secret-pw')).status, 401);
    t.is((await f.change('PUT', '/api/v1/users/alice/disabled', alice2, { disabled: true })).status, 409);
    // A signed-in admin makes the organization's own token (user: null); it outlives its maker's
    // account being disabled. A viewer may not.
    const bot = await f.change('POST', '/api/v1/tokens', alice2, {
      name: 'acme-bot',
      user: null,
      role: 'operator',
    });
    t.is(bot.status, 201, JSON.stringify(bot.json));
    t.like(bot.json, {
      name: 'acme-bot',
      user: null,
      organization: 'acme',
      role: 'operator',
      createdBy: 'user:alice',
    });
    t.is((await f.call('GET', '/api/v1/networks', { bearer: bot.json.token })).status, 200);
    t.is((await f.change('POST', '/api/v1/tokens', victor2, { name: 'vbot', user: null })).status, 403);
    // A token for a user never exceeds the user's role.
    const high = await f.call('POST', '/api/v1/tokens', {
      bearer: SUPER,
      body: { name: 'vhigh', user: 'victor', role: 'admin' },
    });
    t.is(high.status, 400);
    t.is(high.json.error.field, 'role');
  } finally {
    await f.done();
  }
});

test('own password change needs the current one and ends the other sessions', async (t) => {
  t.timeout(600_000);
  const f = await start();
  try {
    const a = (await f.signIn('victor', PASSWORDS.victor)).session!;
    const b = (await f.signIn('victor', PASSWORDS.victor)).session!;
    const bad = await f.change('PUT', '/api/v1/session/password', a, {
      current: 'nope',
      password: 'new-secret-pw1',
    });
    t.is(bad.status, 403);
    t.is(bad.json.error.field, 'current');
    const ok = await f.change('PUT', '/api/v1/session/password', a, {
      current: PASSWORDS.victor,
      password: 'new-secret-pw1',
    });
    t.is(ok.status, 200);
    t.is((await f.call('GET', '/api/v1/batches', { session: b })).status, 401);
    t.is((await f.signIn('victor', PASSWORDS.victor)).status, 401);
    t.is((await f.signIn('victor', 'new-secret-pw1')).status, 200);
    t.false(f.logger.lines.join('\n').includes('new-secret-pw1'));
  } finally {
    await f.done();
  }
});

test("an admin changes a user's role: at most its own, in its organization, never its own or a superadmin's; sessions and tokens follow at once", async (t) => {
  t.timeout(600_000);
  const f = await start();
  try {
    const alice = (await f.signIn('alice', PASSWORDS.alice)).session!;
    const victor = (await f.signIn('victor', PASSWORDS.victor)).session!;
    const setRole = (who: string, role: unknown, s = alice) =>
      f.change('PUT', `/api/v1/users/${who}/role`, s, { role });
    // The viewer's own token, made while it is a viewer, asks for nothing more.
    const vt = await f.change('POST', '/api/v1/tokens', victor, { name: 'vt' });
    t.is(vt.status, 201);
    const net = { name: 'n1', prefix: '2001:db8:1::/64' };
    t.is((await f.change('POST', '/api/v1/networks', victor, net)).status, 403);

    const up = await setRole('victor', 'operator');
    t.is(up.status, 200, JSON.stringify(up.json));
    t.like(up.json, { name: 'victor', role: 'operator', organization: 'acme' });
    // The session sees the new role on its next request; the viewer token stays a viewer.
    t.is((await f.change('POST', '/api/v1/networks', victor, net)).status, 201);
    t.is((await f.call('GET', '/api/v1/session', { bearer: vt.json.token })).json.role, 'viewer');
    // Demoted again: its operator power is gone at once.
    t.is((await setRole('victor', 'viewer')).json.role, 'viewer');
    t.is(
      (await f.change('POST', '/api/v1/networks', victor, { name: 'n2', prefix: '2001:db8:2::/64' })).status,
      403,
    );
    // Refusals, each naming what was wrong.
    t.is((await setRole('victor', 'superadmin')).status, 403);
    const bad = await setRole('victor', 'owner');
    t.is(bad.status, 400);
    t.is(bad.json.error.field, 'role');
    const self = await setRole('alice', 'viewer');
    t.is(self.status, 409);
    t.is(self.json.error.field, 'user');
    t.is((await setRole('gina', 'viewer')).status, 404, "another organization's user is not found");
    t.is((await setRole('victor', 'admin', victor)).status, 403, 'a viewer changes no role');
    const extra = await f.change('PUT', '/api/v1/users/victor/role', alice, { role: 'viewer', x: 1 });
    t.is(extra.status, 400);
    // A superadmin's role is not changed here (it has no organization), nor given.
    await f.call('POST', '/api/v1/users', {
      bearer: SUPER,
      body: { name: 'root', password: 'root-secret-pw', role: 'superadmin' },
    });
    const sup = await f.call('PUT', '/api/v1/users/root/role', { bearer: SUPER, body: { role: 'admin' } });
    t.is(sup.status, 400);
    t.is(sup.json.error.field, 'role');
    // Recorded in the operator audit.
    const audit = await f.call('GET', '/api/v1/operator-audit?action=user.role', { session: alice });
    t.is(audit.status, 200, JSON.stringify(audit.json));
    t.deepEqual(
      audit.json.items.map((e: AnyJson) => [e.actor, e.objectName, e.detail?.role]),
      [
        ['user:alice', 'victor', 'viewer'],
        ['user:alice', 'victor', 'operator'],
      ],
    );
  } finally {
    await f.done();
  }
});
