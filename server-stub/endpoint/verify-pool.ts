// A worker_threads pool for DAA signature verification. Signatures waiting
// at the same time for the same group are verified together in one batchVerify call
// (verify-worker.ts). Groups take turns so one busy batch cannot starve another. The queue is
// bounded: past `maxQueue` waiting signatures, new ones are refused at once ('overloaded').
//
// When to send: a single verification costs about 3 times the per-signature CPU of a batch of 32
// (3 Miller loops and a final exponentiation per call, shared by the whole batch; about
// 2.4 ms + 0.8 ms a signature on the 2-core test machine). An idle worker takes what waits at once,
// so a lone handshake is verified as a batch of 1 immediately. But while at least `minBatch`
// handshakes are in progress (`handshakesInProgress`, from the endpoint), a batch of `minBatch` can
// fill from handshakes already open: then a group's signatures wait until `minBatch` of that group
// are queued or its oldest has waited `maxWaitMs` (batches are per group, so the rule is too).
// Without that hint the pool never holds back. At 64 clients
// an eager pool verified mostly single signatures (an idle worker was always there to take one),
// so its workers spent about twice the CPU per signature of batches of 8.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { toHex } from '../../protocol/util/bytes.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { ItemVerdict, VerifyJob, VerifyJobResult } from './verify-worker.ts';

export interface VerifyRequest {
  gid: Uint8Array;
  gpk: Uint8Array;
  basename: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** What the pool needs of a worker thread (node:worker_threads Worker; tests pass fakes). */
export interface VerifyWorkerHandle {
  postMessage(job: VerifyJob): void;
  on(event: 'message', listener: (r: VerifyJobResult) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
}

/** Monotonic milliseconds and one-shot timers (tests drive a fake). */
export interface PoolClock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const systemPoolClock: PoolClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // a pending deadline alone does not keep the process alive
    return { cancel: () => clearTimeout(t) };
  },
};

export interface VerifyPoolOptions {
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Most signatures waiting (not yet sent to a worker); default 1024. */
  maxQueue?: number;
  /** Most signatures in one batchVerify call; default 32. */
  maxBatch?: number;
  /** Under saturation, an idle worker waits for this many signatures (default 8)... */
  minBatch?: number;
  /** ...or until the oldest waiting signature has waited this long, in ms (default 25). */
  maxWaitMs?: number;
  /**
   * How many handshakes are in progress (each may bring a signature soon); at `minBatch` or more
   * the pool batches on purpose. Default: none (never holds back).
   */
  handshakesInProgress?: () => number;
  logger?: Logger;
  /** Called with the size of every batch sent to a worker (metrics). */
  onBatch?: (size: number) => void;
  /** Starts a worker (default: a worker thread running verify-worker.ts). */
  spawnWorker?: () => VerifyWorkerHandle;
  clock?: PoolClock;
}

interface Waiting {
  req: VerifyRequest;
  resolve: (v: ItemVerdict) => void;
  since: number;
}

interface Slot {
  worker: VerifyWorkerHandle;
  job: { jobId: number; waiting: Waiting[] } | undefined;
}

/**
 * Loader hooks registered in the main thread do not reach workers, so when running from TypeScript
 * sources (tsx) the worker first registers tsx itself; a bundled build starts its .js directly.
 */
export function startWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

const spawnVerifyWorker = (): VerifyWorkerHandle =>
  startWorker(new URL('./verify-worker.ts', import.meta.url));

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly queues = new Map<string, Waiting[]>();
  private queued = 0;
  private nextJobId = 1;
  private isClosed = false;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly minBatch: number;
  private readonly maxWaitMs: number;
  private readonly handshakesInProgress: () => number;
  private readonly logger: Logger;
  private readonly onBatch: ((size: number) => void) | undefined;
  private readonly spawnWorker: () => VerifyWorkerHandle;
  private readonly clock: PoolClock;
  private deadline: { at: number; timer: { cancel(): void } } | undefined;
  /** Count of batchVerify calls by batch size, for metrics and tests. */
  readonly batchSizes = new Map<number, number>();

  constructor(opts: VerifyPoolOptions = {}) {
    const n = opts.workers && opts.workers > 0 ? opts.workers : Math.max(1, cpus().length);
    this.maxQueue = opts.maxQueue ?? 1024;
    this.maxBatch = opts.maxBatch ?? 32;
    this.minBatch = Math.min(Math.max(1, opts.minBatch ?? 8), this.maxBatch);
    this.maxWaitMs = Math.max(0, opts.maxWaitMs ?? 25);
    this.handshakesInProgress = opts.handshakesInProgress ?? (() => 0);
    this.logger = opts.logger ?? silentLogger;
    this.onBatch = opts.onBatch;
    this.spawnWorker = opts.spawnWorker ?? spawnVerifyWorker;
    this.clock = opts.clock ?? systemPoolClock;
    for (let i = 0; i < n; i++) this.slots.push(this.spawn());
  }

  get queueDepth(): number {
    return this.queued;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const worker = this.spawnWorker();
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (r: VerifyJobResult) => {
      const job = slot.job;
      if (!job || job.jobId !== r.jobId) return;
      slot.job = undefined;
      worker.unref();
      job.waiting.forEach((w, i) => w.resolve(r.verdicts[i] ?? { ok: false, reason: 'verifier-error' }));
      this.pump();
    });
    const onFail = (why: string) => {
      const job = slot.job;
      slot.job = undefined;
      job?.waiting.forEach((w) => w.resolve({ ok: false, reason: 'verifier-error' }));
      if (this.isClosed) return;
      this.logger.error('verify.worker-failed', { why });
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
      this.pump();
    };
    worker.on('error', (err) => onFail(err.message));
    worker.on('exit', (code) => {
      if (!this.isClosed) onFail(`exit ${code}`);
    });
    worker.unref();
    return slot;
  }

  /** Verify one signature; resolves with the pseudonym or a reason. Never rejects. */
  verify(req: VerifyRequest): Promise<ItemVerdict> {
    if (this.isClosed) return Promise.resolve({ ok: false, reason: 'verifier-closed' });
    if (this.queued >= this.maxQueue) return Promise.resolve({ ok: false, reason: 'overloaded' });
    return new Promise((resolve) => {
      const key = toHex(req.gid);
      let q = this.queues.get(key);
      if (!q) {
        q = [];
        this.queues.set(key, q);
      }
      q.push({ req, resolve, since: this.clock.now() });
      this.queued++;
      this.pump();
    });
  }

  /** The oldest waiting signature's arrival time (each group's queue is in arrival order). */
  private oldestSince(): number {
    let oldest = Infinity;
    for (const q of this.queues.values()) if (q[0] && q[0].since < oldest) oldest = q[0].since;
    return oldest;
  }

  /** Whether the pool holds signatures back for a fuller batch (see the file comment). */
  private isSaturated(): boolean {
    return this.minBatch > 1 && this.handshakesInProgress() >= this.minBatch;
  }

  /**
   * The first group, in turn order, whose signatures an idle worker should take now: any waiting
   * group when the pool does not hold back; under saturation a group (batches are per group) with
   * minBatch signatures queued, or whose oldest signature has waited maxWaitMs.
   */
  private dueGroup(now: number): string | undefined {
    const isHolding = this.isSaturated();
    for (const [key, q] of this.queues) {
      if (!isHolding || q.length >= this.minBatch || now - q[0]!.since >= this.maxWaitMs) return key;
    }
    return undefined;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const key = this.dueGroup(this.clock.now());
      if (key === undefined) break;
      this.dispatch(slot, key);
    }
    this.armDeadline();
  }

  private dispatch(slot: Slot, key: string): void {
    const q = this.queues.get(key)!;
    const waiting = q.splice(0, this.maxBatch);
    this.queues.delete(key);
    if (q.length > 0) this.queues.set(key, q); // to the back: groups take turns
    this.queued -= waiting.length;
    const first = waiting[0]!.req;
    const job: VerifyJob = {
      jobId: this.nextJobId++,
      gid: first.gid,
      gpk: first.gpk,
      basename: first.basename,
      items: waiting.map((w) => ({ message: w.req.message, signature: w.req.signature })),
    };
    slot.job = { jobId: job.jobId, waiting };
    this.batchSizes.set(waiting.length, (this.batchSizes.get(waiting.length) ?? 0) + 1);
    this.onBatch?.(waiting.length);
    slot.worker.ref(); // an idle pool does not keep the process alive; a busy one does
    slot.worker.postMessage(job);
  }

  /** A timer for the oldest waiting signature's deadline while an idle worker holds back. */
  private armDeadline(): void {
    const isHoldingBack = this.queued > 0 && this.slots.some((s) => !s.job);
    const at = isHoldingBack ? this.oldestSince() + this.maxWaitMs : undefined;
    if (this.deadline && this.deadline.at === at) return;
    this.deadline?.timer.cancel();
    this.deadline = undefined;
    if (at === undefined || this.isClosed) return;
    const timer = this.clock.setTimer(
      () => {
        this.deadline = undefined;
        this.pump();
      },
      Math.max(0, at - this.clock.now()),
    );
    this.deadline = { at, timer };
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.deadline?.timer.cancel();
    this.deadline = undefined;
    for (const q of this.queues.values())
      for (const w of q) w.resolve({ ok: false, reason: 'verifier-closed' });
    this.queues.clear();
    this.queued = 0;
    await Promise.all(
      this.slots.map(async (s) => {
        s.job?.waiting.forEach((w) => w.resolve({ ok: false, reason: 'verifier-closed' }));
        s.job = undefined;
        await s.worker.terminate();
      }),
    );
  }
}
