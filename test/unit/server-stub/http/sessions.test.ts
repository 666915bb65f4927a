// Dashboard sessions (server-stub/http/sessions.ts) over a SQLite registry on disk and a fake clock:
// the cookie's attributes (HttpOnly, SameSite=Strict, Secure and __Host- under TLS), only a digest
// stored, idle expiry, a disabled user's session refused, and the CSRF check: same-origin by
// Sec-Fetch-Site or Origin, and the session's own token in X-CSRF-Token.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../../../server-stub/http/errors.ts';
import { csrfTokenOf, readCookie, Sessions } from '../../../../server-stub/http/sessions.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';

const HASH = 'scrypt$ln=1,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

async function world(isSecure = false) {
  const dir = mkdtempSync(join(tmpdir(), 'enf-sessions-'));
  const clock = { t: 1_700_000_000_000, now: () => clock.t };
  const file = join(dir, 'registry.sqlite');
  const registry = SqliteRegistry.open(file, { clock });
  const user = await registry.accounts.addUser({
    name: 'dana',
    organizationId: 1,
    role: 'operator',
    passwordHash: HASH,
  });
  const sessions = new Sessions(registry.accounts, clock, { idleTimeoutMs: 60_000, isSecure });
  return {
    registry,
    file,
    clock,
    user,
    sessions,
    done: async () => {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function req(headers: Record<string, string>, method = 'GET'): IncomingMessage {
  return { headers, method } as unknown as IncomingMessage;
}

const secretOf = (setCookie: string): string => /^[^=]+=([^;]+)/.exec(setCookie)![1]!;

test('the cookie: HttpOnly, SameSite=Strict, no Secure over HTTP; Secure and __Host- under TLS', async (t) => {
  for (const isSecure of [false, true]) {
    const w = await world(isSecure);
    try {
      const { setCookie, csrfToken } = await w.sessions.create(w.user);
      const name = isSecure ? '__Host-enf_session' : 'enf_session';
      t.regex(
        setCookie,
        new RegExp(
          `^${name}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict${isSecure ? '; Secure' : ''}$`,
        ),
      );
      t.is(csrfToken, csrfTokenOf(secretOf(setCookie)));
      t.regex(w.sessions.clearCookie, new RegExp(`^${name}=; Path=/; .*Max-Age=0$`));
    } finally {
      await w.done();
    }
  }
});

test('only the digest is stored; the cookie authenticates until the idle timeout passes', async (t) => {
  const w = await world();
  try {
    const { setCookie } = await w.sessions.create(w.user);
    const secret = secretOf(setCookie);
    const cookie = { cookie: `other=1; enf_session=${secret}` };
    await w.registry.close();
    const raw = readFileSync(w.file);
    t.false(raw.includes(Buffer.from(secret)), 'the secret is not in the database file');
    const again = SqliteRegistry.open(w.file, { clock: w.clock });
    const s = new Sessions(again.accounts, w.clock, { idleTimeoutMs: 60_000, isSecure: false });
    const digest = createHash('sha256').update(secret).digest();
    t.truthy(await again.accounts.getSession(new Uint8Array(digest)));
    t.is((await s.authenticate(req(cookie)))?.user.name, 'dana');
    // Used 59 s later: alive, and its idle time restarts.
    w.clock.t += 59_000;
    t.truthy(await s.authenticate(req(cookie)));
    w.clock.t += 59_000;
    t.truthy(await s.authenticate(req(cookie)));
    w.clock.t += 60_001;
    t.is(await s.authenticate(req(cookie)), undefined);
    t.is(await again.accounts.getSession(new Uint8Array(digest)), undefined, 'an expired session is deleted');
    t.is(await s.authenticate(req({ cookie: 'enf_session=not-a-secret' })), undefined);
    t.is(await s.authenticate(req({})), undefined);
    await again.close();
  } finally {
    await w.done().catch(() => undefined);
  }
});

test("a disabled user's session is refused; signing out ends it", async (t) => {
  const w = await world();
  try {
    const a = await w.sessions.create(w.user);
    const b = await w.sessions.create(w.user);
    const ra = req({ cookie: `enf_session=${secretOf(a.setCookie)}` });
    const rb = req({ cookie: `enf_session=${secretOf(b.setCookie)}` });
    const sa = await w.sessions.authenticate(ra);
    await w.sessions.end(sa!);
    t.is(await w.sessions.authenticate(ra), undefined);
    t.truthy(await w.sessions.authenticate(rb));
    await w.registry.accounts.setUserDisabled('dana', true);
    t.is(await w.sessions.authenticate(rb), undefined);
  } finally {
    await w.done();
  }
});

test('CSRF: cross-site or tokenless state changes are refused; same-origin with the token passes', async (t) => {
  const w = await world();
  try {
    const { setCookie, csrfToken } = await w.sessions.create(w.user);
    const other = await w.sessions.create(w.user);
    const base = { cookie: `enf_session=${secretOf(setCookie)}`, host: 'enf.example:8443' };
    const s = (await w.sessions.authenticate(req(base)))!;
    const check = (h: Record<string, string>) => () =>
      w.sessions.checkCsrf(req({ ...base, ...h }, 'POST'), s);
    t.notThrows(check({ 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrfToken }));
    t.notThrows(check({ origin: 'http://enf.example:8443', 'x-csrf-token': csrfToken }));
    t.notThrows(check({ 'x-csrf-token': csrfToken }), 'no browser headers: the token decides');
    for (const [h, what] of [
      [{ 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrfToken }, 'cross-site'],
      [{ 'sec-fetch-site': 'same-site', 'x-csrf-token': csrfToken }, 'same-site'],
      [{ origin: 'http://evil.example', 'x-csrf-token': csrfToken }, 'foreign Origin'],
      [{ origin: 'https://enf.example:8443', 'x-csrf-token': csrfToken }, 'other scheme'],
      [{ 'sec-fetch-site': 'same-origin' }, 'no token'],
      [{ 'sec-fetch-site': 'same-origin', 'x-csrf-token': other.csrfToken }, "another session's token"],
      [{ 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrfToken.slice(1) }, 'truncated token'],
    ] as const) {
      const e = t.throws(check(h), { instanceOf: ApiError }, what);
      t.is(e?.code, 'FORBIDDEN', what);
    }
  } finally {
    await w.done();
  }
});

test('readCookie: exact name, once', (t) => {
  t.is(readCookie('a=1; enf_session=x; b=2', 'enf_session'), 'x');
  t.is(readCookie('xenf_session=x', 'enf_session'), undefined);
  t.is(readCookie('enf_session=x; enf_session=y', 'enf_session'), undefined);
  t.is(readCookie(undefined, 'enf_session'), undefined);
});
