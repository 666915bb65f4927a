// The failed sign-in throttle (server-stub/http/login-throttle.ts) on a fake clock, its state in a real
// SQLite registry on disk: free failures, then doubling delays up to the cap, per account and per
// source; forgetting after a quiet period; a source that signed in before is not held back by
// strangers' failures on its account; rows bounded however many names and sources are tried; and
// two registry handles on one file (two processes of `start --processes 2`) share the counts.
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LoginThrottle,
  throttleKey,
  type LoginThrottleOptions,
} from '../../../../server-stub/http/login-throttle.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** A registry file removed when the test ends; `open` gives another handle on the same file. */
function registryFile(t: ExecutionContext): { file: string; open(): SqliteRegistry } {
  const dir = mkdtempSync(join(tmpdir(), 'enf-throttle-'));
  const handles: SqliteRegistry[] = [];
  t.teardown(async () => {
    for (const h of handles) await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'registry.sqlite');
  return {
    file,
    open: () => {
      const r = SqliteRegistry.open(file);
      handles.push(r);
      return r;
    },
  };
}

function throttle(t: ExecutionContext, c = clock(), options: LoginThrottleOptions = {}) {
  return new LoginThrottle(registryFile(t).open().accounts, c, options);
}

test('three failures free, then 1 s, 2 s, 4 s ... capped at 30 s for an account', async (t) => {
  const c = clock();
  const th = throttle(t, c);
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    // A different source each time: only the account's count grows.
    await th.failed('alice', `198.51.100.${i}`);
    delays.push(await th.waitMs('alice', '203.0.113.9'));
  }
  t.deepEqual(delays, [0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  c.t += 29_999;
  t.is(await th.waitMs('alice', '203.0.113.9'), 1);
  c.t += 1;
  t.is(await th.waitMs('alice', '203.0.113.9'), 0);
});

test('a source guessing many names is slowed by its own count, up to 5 min', async (t) => {
  const c = clock();
  const th = throttle(t, c);
  for (let i = 0; i < 20; i++) await th.failed(`user${i}`, '2001:db8::/64');
  t.is(await th.waitMs('someone-new', '2001:db8::/64'), 300_000);
  t.is(await th.waitMs('someone-new', '2001:db8:1::/64'), 0);
});

test("strangers' failures on an account do not hold back a source that signed in to it before", async (t) => {
  const c = clock();
  const th = throttle(t, c);
  await th.succeeded('alice', 'home');
  for (let i = 0; i < 50; i++) await th.failed('alice', `attacker-${i}`);
  t.is(await th.waitMs('alice', 'home'), 0);
  t.is(await th.waitMs('alice', 'elsewhere'), 30_000, 'an unknown source waits, but never more than the cap');
  // The owner's own typos from home still count for home's source key.
  for (let i = 0; i < 4; i++) await th.failed('alice', 'home');
  t.is(await th.waitMs('alice', 'home'), 2000);
  await th.succeeded('alice', 'home');
  t.is(await th.waitMs('alice', 'home'), 0);
});

test('failures are forgotten after 15 quiet minutes; counting restarts', async (t) => {
  const c = clock();
  const th = throttle(t, c);
  for (let i = 0; i < 6; i++) await th.failed('bob', 's');
  t.true((await th.waitMs('bob', 's')) > 0);
  c.t += 15 * 60_000;
  t.is(await th.waitMs('bob', 's'), 0);
  await th.failed('bob', 's');
  t.is(await th.waitMs('bob', 's'), 0, 'one failure after the quiet period is a first failure');
});

test('two registry handles on one file (two server processes) share the throttle', async (t) => {
  const c = clock();
  const reg = registryFile(t);
  const one = new LoginThrottle(reg.open().accounts, c);
  const two = new LoginThrottle(reg.open().accounts, c);
  // Failures through one slow the other down: the attacker does not get twice the attempts.
  for (let i = 0; i < 3; i++) await one.failed('carol', `198.51.100.${i}`);
  for (let i = 3; i < 5; i++) await two.failed('carol', `198.51.100.${i}`);
  t.is(await one.waitMs('carol', '203.0.113.1'), 4000);
  t.is(await two.waitMs('carol', '203.0.113.1'), 4000);
  // Concurrent failures all count (one atomic upsert each).
  await Promise.all([
    ...Array.from({ length: 5 }, () => one.failed('dave', 'x')),
    ...Array.from({ length: 5 }, () => two.failed('dave', 'x')),
  ]);
  t.is(await one.waitMs('dave', 'y'), 30_000); // 10 failures: 1 s * 2^7 capped at 30 s
  t.is(await two.waitMs('nobody', 'x'), 128_000);
  // A sign-in through one is trusted by the other.
  await two.succeeded('carol', 'home');
  t.is(await one.waitMs('carol', 'home'), 0);
});

test('long names and sources are stored by their digest; the registry refuses over-long keys', async (t) => {
  const c = clock();
  const r = registryFile(t).open();
  const th = new LoginThrottle(r.accounts, c);
  const long = 'x'.repeat(5000);
  for (let i = 0; i < 4; i++) await th.failed(long, long);
  t.is(await th.waitMs(long, 'elsewhere'), 2000);
  t.true(throttleKey(long).startsWith('sha256:'));
  await t.throwsAsync(r.accounts.recordLoginFailure(long, 's', 1, 0), { message: /account/ });
});

test('property: rows stay bounded after each prune and the wait never exceeds the caps', async (t) => {
  const reg = registryFile(t);
  const r = reg.open();
  const db = new Database(reg.file, { readonly: true });
  t.teardown(() => db.close());
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(fc.boolean(), fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), fc.nat(5000)),
        { maxLength: 120 },
      ),
      async (steps) => {
        const c = clock(1_000_000 + run++ * 10_000_000_000);
        const th = new LoginThrottle(r.accounts, c, { maxEntries: 16 });
        for (const [isFailure, name, source, dt] of steps) {
          c.t += dt;
          if (isFailure) await th.failed(name, source);
          else await th.succeeded(name, source);
          const w = await th.waitMs(name, source);
          if (w < 0 || w > 300_000) return false;
        }
        await th.prune();
        const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
        return (
          count("SELECT count(*) AS n FROM login_failures WHERE kind = 'account'") <= 16 &&
          count("SELECT count(*) AS n FROM login_failures WHERE kind = 'source'") <= 16 &&
          count('SELECT count(*) AS n FROM login_trust') <= 16
        );
      },
    ),
    { numRuns: 30 },
  );
  t.pass();
});
