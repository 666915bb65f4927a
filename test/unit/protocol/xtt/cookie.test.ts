// protocol/xtt/cookie.ts: the sealed (self-authenticating) cookie round trip, expiry, replay set,
// tampering, key rotation and bounded memory; the reference-style random cookie's bounded table.
import test from 'ava';
import { ProtocolError } from '../../../../protocol/errors.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { toHex } from '../../../../protocol/util/bytes.ts';
import {
  ReferenceCookieStrategy,
  SealedCookieStrategy,
  type CookieState,
} from '../../../../protocol/xtt/cookie.ts';

function clock(start = Date.UTC(2026, 10, 28, 4, 0, 0)) {
  return {
    t: start,
    now() {
      return this.t;
    },
  };
}

function state(suite: 1 | 2 | 3 | 4 = 2): CookieState {
  return { suite, sharedSecret: systemRng.bytes(32), innerHash: systemRng.bytes(64) };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return undefined;
}

test('sealed: 130 bytes, redeems once to the same state, hides the shared secret', (t) => {
  const c = new SealedCookieStrategy({ rng: systemRng, clock: clock() });
  const s = state();
  const cookie = c.issue(s);
  t.is(cookie.length, 130);
  t.false(toHex(cookie).includes(toHex(s.sharedSecret)));
  const back = c.redeem(cookie);
  t.deepEqual(back, s);
  t.is(
    codeOf(() => c.redeem(cookie)),
    'COOKIE_REPLAYED',
  );
});

test('sealed: expires after the lifetime, refuses cookies from the future', (t) => {
  const k = clock();
  const c = new SealedCookieStrategy({ rng: systemRng, clock: k, lifetimeMs: 30_000 });
  const a = c.issue(state());
  const b = c.issue(state());
  k.t += 29_000;
  t.notThrows(() => c.redeem(a));
  k.t += 2_000;
  t.is(
    codeOf(() => c.redeem(b)),
    'COOKIE_EXPIRED',
  );
  const future = new SealedCookieStrategy({ rng: systemRng, clock: { now: () => k.t + 60_000 } });
  // Same key material is not shared, so build from one strategy whose clock jumps back.
  const j = clock();
  const d = new SealedCookieStrategy({ rng: systemRng, clock: j });
  const fromFuture = d.issue(state());
  j.t -= 10_000;
  t.is(
    codeOf(() => d.redeem(fromFuture)),
    'COOKIE_EXPIRED',
  );
  t.is(
    codeOf(() => future.redeem(a)),
    'COOKIE_INVALID',
  );
});

test('sealed: any flipped bit, a foreign server key or a wrong length is COOKIE_INVALID', (t) => {
  const c = new SealedCookieStrategy({ rng: systemRng, clock: clock() });
  const cookie = c.issue(state());
  for (const at of [0, 1, 2, 6, 14, 15, 16, 17, 40, 129]) {
    const bad = cookie.slice();
    bad[at]! ^= 0x01;
    t.is(
      codeOf(() => c.redeem(bad)),
      'COOKIE_INVALID',
      `byte ${at}`,
    );
  }
  t.is(
    codeOf(() => c.redeem(cookie.subarray(1))),
    'COOKIE_INVALID',
  );
  const other = new SealedCookieStrategy({ rng: systemRng, clock: clock() });
  t.is(
    codeOf(() => other.redeem(cookie)),
    'COOKIE_INVALID',
  );
  t.notThrows(() => c.redeem(cookie));
});

test('sealed: rotation keeps the previous key valid and drops older ones', (t) => {
  const k = clock();
  const c = new SealedCookieStrategy({ rng: systemRng, clock: k, lifetimeMs: 10 * 60_000 });
  const gen0 = c.issue(state());
  c.rotateKey();
  const gen1 = c.issue(state());
  t.notThrows(() => c.redeem(gen0));
  c.rotateKey();
  t.notThrows(() => c.redeem(gen1));
  const again = c.issue(state());
  c.rotateKey();
  c.rotateKey();
  t.is(
    codeOf(() => c.redeem(again)),
    'COOKIE_INVALID',
  );
});

test('sealed: automatic rotation after rotateEveryMs', (t) => {
  const k = clock();
  const c = new SealedCookieStrategy({ rng: systemRng, clock: k, rotateEveryMs: 1000 });
  const a = c.issue(state());
  k.t += 1500;
  const b = c.issue(state());
  t.not(a[1], b[1]);
  t.notThrows(() => c.redeem(a));
  t.notThrows(() => c.redeem(b));
});

test('sealed: the replay set is bounded and fails closed, then frees entries as they expire', (t) => {
  const k = clock();
  const c = new SealedCookieStrategy({ rng: systemRng, clock: k, replayCapacity: 3, lifetimeMs: 5_000 });
  const cookies = [0, 1, 2, 3].map(() => c.issue(state()));
  for (const x of cookies.slice(0, 3)) c.redeem(x);
  t.is(
    codeOf(() => c.redeem(cookies[3]!)),
    'COOKIE_BUSY',
  );
  k.t += 7_000;
  const fresh = c.issue(state());
  t.notThrows(() => c.redeem(fresh));
});

test('reference-style: random 130 bytes, single use, bounded table with eviction, expiry', (t) => {
  const k = clock();
  const c = new ReferenceCookieStrategy({ rng: systemRng, clock: k, capacity: 2, lifetimeMs: 1000 });
  const s = state(4);
  const a = c.issue(s);
  t.is(a.length, 130);
  t.deepEqual(c.redeem(a), s);
  t.is(
    codeOf(() => c.redeem(a)),
    'COOKIE_INVALID',
  );
  const b = c.issue(state());
  c.issue(state());
  c.issue(state()); // evicts b
  t.is(c.pending, 2);
  t.is(
    codeOf(() => c.redeem(b)),
    'COOKIE_INVALID',
  );
  const d = c.issue(state());
  k.t += 1001;
  t.is(
    codeOf(() => c.redeem(d)),
    'COOKIE_EXPIRED',
  );
});
