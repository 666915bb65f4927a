// Tests for agent/backoff.ts and agent/clock.ts: windows double up to the cap, full jitter spans
// [0, window], delays are slept on the injected clock, sleeps abort.
import test from 'ava';
import fc from 'fast-check';
import { Backoff, backoffCeiling, backoffDelay } from '../../../agent/backoff.ts';
import { systemClock } from '../../../agent/clock.ts';
import { AbortedError } from '../../../agent/errors.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { FakeClock } from '../../fakes/fake-clock.ts';
import { SeqRng } from '../../fakes/seq-rng.ts';

const policy = { initialMs: 1000, maxMs: 60_000 };
const MAX_U32 = 0xffffffff;

test('window doubles from initialMs and stops at maxMs, even for huge attempts', (t) => {
  t.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, policy)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
  );
  t.is(backoffCeiling(5000, policy), 60000);
  t.throws(() => backoffCeiling(-1, policy), { instanceOf: RangeError });
});

test('full jitter: random 0 gives 0, random max gives the window, midpoint gives half', (t) => {
  t.is(backoffDelay(3, policy, new SeqRng([0])), 0);
  t.is(backoffDelay(3, policy, new SeqRng([MAX_U32])), 8000);
  t.is(backoffDelay(3, policy, new SeqRng([0x80000000])), 4000);
});

test('property: every delay lies in [0, window] and is an integer', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: MAX_U32 }), (a, r) => {
      const d = backoffDelay(a, policy, new SeqRng([r]));
      return Number.isInteger(d) && d >= 0 && d <= backoffCeiling(a, policy);
    }),
  );
  t.pass();
});

test('devices spread out: 1000 simulated devices at attempt 5 do not cluster', (t) => {
  const delays = Array.from({ length: 1000 }, () => backoffDelay(5, policy, systemRng));
  const buckets = new Array(8).fill(0) as number[];
  for (const d of delays) buckets[Math.min(7, Math.floor(d / 4000))]!++;
  // Uniform over [0, 32000]: each eighth holds about 125; none may be empty or hold most of them.
  t.true(
    buckets.every((b) => b > 50 && b < 250),
    `buckets ${buckets.join(',')}`,
  );
});

test('Backoff sleeps each jittered delay on the clock and resets', async (t) => {
  const clock = new FakeClock();
  const b = new Backoff(policy, new SeqRng([MAX_U32]), clock);
  const start = clock.now();
  for (let i = 0; i < 8; i++) await b.wait();
  t.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  t.is(clock.now() - start, 183000);
  t.is(b.attempts, 8);
  b.reset();
  t.is(b.next(), 1000);
});

test('systemClock.sleep aborts promptly with AbortedError', async (t) => {
  const ac = new AbortController();
  const p = systemClock.sleep(60_000, ac.signal);
  ac.abort();
  await t.throwsAsync(p, { instanceOf: AbortedError });
  const pre = new AbortController();
  pre.abort();
  await t.throwsAsync(systemClock.sleep(1, pre.signal), { instanceOf: AbortedError });
  await t.notThrowsAsync(systemClock.sleep(1));
});

test('Backoff.wait propagates abort', async (t) => {
  const ac = new AbortController();
  ac.abort();
  await t.throwsAsync(new Backoff(policy, systemRng, new FakeClock()).wait(ac.signal), {
    instanceOf: AbortedError,
  });
});
