// A worker_threads pool for DAA signature verification. Signatures waiting
// at the same time for the same group are verified together in one batchVerify call
// (verify-worker.ts). An idle worker takes work at once, so a lone handshake never waits for a
// batch to fill; batches form only when all workers are busy, which is when they pay off. The queue
// is bounded: past `maxQueue` waiting signatures, new ones are refused at once ('overloaded').
// Groups take turns so one busy batch cannot starve another.
import { cpus } from 'node:os';
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

export interface VerifyPoolOptions {
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Most signatures waiting (not yet sent to a worker); default 1024. */
  maxQueue?: number;
  /** Most signatures in one batchVerify call; default 32. */
  maxBatch?: number;
  logger?: Logger;
  /** Called with the size of every batch sent to a worker (metrics). */
  onBatch?: (size: number) => void;
}

interface Waiting {
  req: VerifyRequest;
  resolve: (v: ItemVerdict) => void;
}

interface Slot {
  worker: Worker;
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

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly queues = new Map<string, Waiting[]>();
  private queued = 0;
  private nextJobId = 1;
  private isClosed = false;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly logger: Logger;
  private readonly onBatch: ((size: number) => void) | undefined;
  /** Count of batchVerify calls by batch size, for metrics and tests. */
  readonly batchSizes = new Map<number, number>();

  constructor(opts: VerifyPoolOptions = {}) {
    const n = opts.workers && opts.workers > 0 ? opts.workers : Math.max(1, cpus().length);
    this.maxQueue = opts.maxQueue ?? 1024;
    this.maxBatch = opts.maxBatch ?? 32;
    this.logger = opts.logger ?? silentLogger;
    this.onBatch = opts.onBatch;
    for (let i = 0; i < n; i++) this.slots.push(this.spawn());
  }

  get queueDepth(): number {
    return this.queued;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const worker = startWorker(new URL('./verify-worker.ts', import.meta.url));
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
      q.push({ req, resolve });
      this.queued++;
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queued === 0) continue;
      const [key, q] = this.queues.entries().next().value as [string, Waiting[]];
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
  }

  async close(): Promise<void> {
    this.isClosed = true;
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
