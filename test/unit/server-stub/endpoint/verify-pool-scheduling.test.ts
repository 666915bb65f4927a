// The DAA verification pool's scheduling decisions, with fake workers and a fake clock (no worker
// threads, no wall-clock time): a lone signature goes at once, a saturated server holds signatures
// for a fuller batch up to minBatch or maxWaitMs, and every held signature is answered.
import test from 'ava';
import { EventEmitter } from 'node:events';
import {
  VerifyPool,
  type PoolClock,
  type VerifyPoolOptions,
  type VerifyRequest,
  type VerifyWorkerHandle,
} from '../../../../server-stub/endpoint/verify-pool.ts';
import type { ItemVerdict, VerifyJob } from '../../../../server-stub/endpoint/verify-worker.ts';

class FakeWorker extends EventEmitter implements VerifyWorkerHandle {
  readonly jobs: VerifyJob[] = [];
  isTerminated = false;
  postMessage(job: VerifyJob): void {
    this.jobs.push(job);
  }
  /** Answers the last job: every signature valid, its pseudonym = its message. */
  finish(): void {
    const job = this.jobs.at(-1)!;
    const verdicts: ItemVerdict[] = job.items.map((it) => ({ ok: true, pseudonym: it.message }));
    this.emit('message', { jobId: job.jobId, verdicts });
  }
  ref(): void {}
  unref(): void {}
  async terminate(): Promise<number> {
    this.isTerminated = true;
    return 0;
  }
}

class FakePoolClock implements PoolClock {
  time = 1000;
  private timers: { at: number; fn: () => void; isCancelled: boolean }[] = [];
  now(): number {
    return this.time;
  }
  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const t = { at: this.time + ms, fn, isCancelled: false };
    this.timers.push(t);
    return { cancel: () => (t.isCancelled = true) };
  }
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.isCancelled).length;
  }
  advance(ms: number): void {
    this.time += ms;
    for (;;) {
      const due = this.timers.find((t) => !t.isCancelled && t.at <= this.time);
      if (!due) return;
      due.isCancelled = true;
      due.fn();
    }
  }
}

function setup(opts: VerifyPoolOptions & { inProgress?: number } = {}) {
  const workers: FakeWorker[] = [];
  const clock = new FakePoolClock();
  const load = { inProgress: opts.inProgress ?? 0 };
  const pool = new VerifyPool({
    workers: 2,
    minBatch: 8,
    maxWaitMs: 25,
    ...opts,
    clock,
    ...(opts.inProgress === undefined ? {} : { handshakesInProgress: () => load.inProgress }),
    spawnWorker: () => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    },
  });
  /** Signature i of the group whose gid is 32 bytes of `group` (default 1). */
  const request = (i: number, group = 1): VerifyRequest => ({
    gid: new Uint8Array(32).fill(group),
    gpk: new Uint8Array([1]),
    basename: new Uint8Array([2]),
    message: new Uint8Array([i]),
    signature: new Uint8Array([i]),
  });
  /** Sizes of the jobs each worker got so far. */
  const sizes = () => workers.map((w) => w.jobs.map((j) => j.items.length));
  /** The group (first gid byte) of each job each worker got so far. */
  const groups = () => workers.map((w) => w.jobs.map((j) => j.gid[0]));
  return { pool, workers, clock, load, request, sizes, groups };
}

test('the signature of a lone handshake goes to an idle worker at once, no timer armed', async (t) => {
  const { pool, workers, clock, request, sizes } = setup({ inProgress: 1 });
  const verdict = pool.verify(request(7));
  t.deepEqual(sizes(), [[1], []]);
  t.is(clock.pendingTimers, 0);
  workers[0]!.finish();
  t.deepEqual(await verdict, { ok: true, pseudonym: new Uint8Array([7]) });
  await pool.close();
});

test('without a saturation hint the pool is eager: idle workers take single signatures', async (t) => {
  const { pool, workers, clock, request, sizes } = setup();
  const verdicts = [0, 1, 2, 3].map((i) => pool.verify(request(i)));
  // Two go at once, one to each worker; the other two wait together for the first worker to finish.
  t.deepEqual(sizes(), [[1], [1]]);
  t.is(pool.queueDepth, 2);
  t.is(clock.pendingTimers, 0);
  workers[0]!.finish();
  t.deepEqual(sizes(), [[1, 2], [1]]);
  workers[0]!.finish();
  workers[1]!.finish();
  t.deepEqual(
    (await Promise.all(verdicts)).map((v) => v.ok && v.pseudonym[0]),
    [0, 1, 2, 3],
  );
  await pool.close();
});

test('saturated: signatures wait until minBatch of them are queued, then go as one batch', async (t) => {
  const { pool, workers, clock, request, sizes } = setup({ inProgress: 64 });
  const verdicts = [];
  for (let i = 0; i < 7; i++) {
    verdicts.push(pool.verify(request(i)));
    clock.advance(1);
  }
  t.deepEqual(sizes(), [[], []]);
  t.is(pool.queueDepth, 7);
  t.is(clock.pendingTimers, 1); // the oldest signature's deadline
  verdicts.push(pool.verify(request(7)));
  t.deepEqual(sizes(), [[8], []]);
  t.is(clock.pendingTimers, 0);
  workers[0]!.finish();
  t.deepEqual(
    (await Promise.all(verdicts)).map((v) => v.ok && v.pseudonym[0]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  await pool.close();
});

test('saturated: the oldest signature waits at most maxWaitMs, then what is queued goes', async (t) => {
  const { pool, workers, clock, request, sizes } = setup({ inProgress: 64 });
  const first = pool.verify(request(0));
  clock.advance(10);
  const second = pool.verify(request(1));
  clock.advance(14);
  t.deepEqual(sizes(), [[], []]);
  clock.advance(1); // 25 ms after the first
  t.deepEqual(sizes(), [[2], []]);
  // The next one waits its own 25 ms from its arrival.
  const third = pool.verify(request(2));
  clock.advance(24);
  t.deepEqual(sizes(), [[2], []]);
  clock.advance(1);
  t.deepEqual(sizes(), [[2], [1]]);
  workers[0]!.finish();
  workers[1]!.finish();
  t.true((await first).ok && (await second).ok && (await third).ok);
  await pool.close();
});

test('saturated with every worker busy: the queue grows past minBatch and goes as soon as one is free', async (t) => {
  const { pool, workers, request, sizes } = setup({ inProgress: 64 });
  const verdicts = [];
  for (let i = 0; i < 16; i++) verdicts.push(pool.verify(request(i)));
  t.deepEqual(sizes(), [[8], [8]]);
  for (let i = 16; i < 60; i++) verdicts.push(pool.verify(request(i)));
  t.is(pool.queueDepth, 44);
  workers[1]!.finish();
  t.deepEqual(sizes(), [[8], [8, 32]]); // at most maxBatch in one call
  workers[0]!.finish();
  t.deepEqual(sizes(), [
    [8, 12],
    [8, 32],
  ]);
  workers[0]!.finish();
  workers[1]!.finish();
  t.is((await Promise.all(verdicts)).filter((v) => v.ok).length, 60);
  await pool.close();
});

test('when saturation ends, held signatures go at the next event instead of waiting for the deadline', async (t) => {
  const { pool, workers, clock, load, request, sizes } = setup({ inProgress: 8 });
  const held = [0, 1, 2].map((i) => pool.verify(request(i)));
  t.deepEqual(sizes(), [[], []]);
  load.inProgress = 7; // fewer than minBatch
  clock.advance(1);
  const next = pool.verify(request(3));
  t.deepEqual(sizes(), [[4], []]);
  t.is(clock.pendingTimers, 0);
  workers[0]!.finish();
  t.is((await Promise.all([...held, next])).filter((v) => v.ok).length, 4);
  await pool.close();
});

test('minBatch 1 never holds back; closing answers held and running signatures and cancels the deadline', async (t) => {
  const eager = setup({ inProgress: 64, minBatch: 1 });
  void eager.pool.verify(eager.request(0));
  t.deepEqual(eager.sizes(), [[1], []]);
  await eager.pool.close();

  const { pool, workers, clock, request } = setup({ inProgress: 64 });
  const held = pool.verify(request(0));
  t.is(clock.pendingTimers, 1);
  await pool.close();
  t.deepEqual(await held, { ok: false, reason: 'verifier-closed' });
  t.is(clock.pendingTimers, 0);
  t.true(workers.every((w) => w.isTerminated));
  t.deepEqual(await pool.verify(request(1)), { ok: false, reason: 'verifier-closed' });
});

test('saturated with two groups: each group fills its own batch; the group with the oldest signature goes at its deadline', async (t) => {
  const { pool, workers, clock, request, sizes, groups } = setup({ inProgress: 64 });
  const a = pool.verify(request(0, 0xa)); // group A: one signature, first in turn
  clock.advance(1);
  const b = [];
  for (let i = 0; i < 7; i++) b.push(pool.verify(request(i, 0xb)));
  // Eight signatures wait, but no group has eight: nothing goes (a batch is one group's).
  t.deepEqual(sizes(), [[], []]);
  b.push(pool.verify(request(7, 0xb)));
  // B's eighth: B's batch goes; A, ahead in turn but with one signature, keeps waiting.
  t.deepEqual(groups(), [[0xb], []]);
  t.deepEqual(sizes(), [[8], []]);
  clock.advance(23); // 24 ms after A's signature
  t.deepEqual(sizes(), [[8], []]);
  clock.advance(1); // A's deadline: A goes, to the idle worker
  t.deepEqual(groups(), [[0xb], [0xa]]);
  t.deepEqual(sizes(), [[8], [1]]);
  workers[0]!.finish();
  workers[1]!.finish();
  t.true((await a).ok);
  t.is((await Promise.all(b)).filter((v) => v.ok).length, 8);
  await pool.close();
});
