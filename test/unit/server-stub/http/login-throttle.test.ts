// The failed sign-in throttle (server-stub/http/login-throttle.ts) on a fake clock: free failures,
// then doubling delays up to the cap, per account and per source; forgetting after a quiet period;
// a source that signed in before is not held back by strangers' failures on its account; memory
// bounded however many names and sources are tried.
import test from 'ava';
import fc from 'fast-check';
import { LoginThrottle } from '../../../../server-stub/http/login-throttle.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('three failures free, then 1 s, 2 s, 4 s ... capped at 30 s for an account', (t) => {
  const c = clock();
  const th = new LoginThrottle(c);
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    // A different source each time: only the account's count grows.
    th.failed('alice', `198.51.100.${i}`);
    delays.push(th.waitMs('alice', '203.0.113.9'));
  }
  t.deepEqual(delays, [0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  c.t += 29_999;
  t.is(th.waitMs('alice', '203.0.113.9'), 1);
  c.t += 1;
  t.is(th.waitMs('alice', '203.0.113.9'), 0);
});

test('a source guessing many names is slowed by its own count, up to 5 min', (t) => {
  const c = clock();
  const th = new LoginThrottle(c);
  for (let i = 0; i < 20; i++) th.failed(`user${i}`, '2001:db8::/64');
  t.is(th.waitMs('someone-new', '2001:db8::/64'), 300_000);
  t.is(th.waitMs('someone-new', '2001:db8:1::/64'), 0);
});

test("strangers' failures on an account do not hold back a source that signed in to it before", (t) => {
  const c = clock();
  const th = new LoginThrottle(c);
  th.succeeded('alice', 'home');
  for (let i = 0; i < 50; i++) th.failed('alice', `attacker-${i}`);
  t.is(th.waitMs('alice', 'home'), 0);
  t.is(th.waitMs('alice', 'elsewhere'), 30_000, 'an unknown source waits, but never more than the cap');
  // The owner's own typos from home still count for home's source key.
  for (let i = 0; i < 4; i++) th.failed('alice', 'home');
  t.is(th.waitMs('alice', 'home'), 2000);
  th.succeeded('alice', 'home');
  t.is(th.waitMs('alice', 'home'), 0);
});

test('failures are forgotten after 15 quiet minutes; counting restarts', (t) => {
  const c = clock();
  const th = new LoginThrottle(c);
  for (let i = 0; i < 6; i++) th.failed('bob', 's');
  t.true(th.waitMs('bob', 's') > 0);
  c.t += 15 * 60_000;
  t.is(th.waitMs('bob', 's'), 0);
  th.failed('bob', 's');
  t.is(th.waitMs('bob', 's'), 0, 'one failure after the quiet period is a first failure');
});

test('property: memory stays bounded and the wait never exceeds the caps', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), fc.nat(5000)),
        {
          maxLength: 400,
        },
      ),
      (steps) => {
        const c = clock();
        const th = new LoginThrottle(c, { maxEntries: 16 });
        for (const [isFailure, name, source, dt] of steps) {
          c.t += dt;
          if (isFailure) th.failed(name, source);
          else th.succeeded(name, source);
          const w = th.waitMs(name, source);
          if (w < 0 || w > 300_000) return false;
          const s = th.sizes;
          if (s.accounts > 16 || s.sources > 16 || s.trusted > 16) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});
