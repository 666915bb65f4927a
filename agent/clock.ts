// The Clock port: wall time for records, monotonic-ish time for deadlines, and an abortable sleep.
// main.ts uses systemClock; tests use test/fakes/fake-clock.ts and advance time by hand.
import { AbortedError } from './errors.ts';

export interface Clock {
  /** Milliseconds since the epoch (for provisioned-at records and deadlines). */
  now(): number;
  /** Resolves after `ms`; rejects with AbortedError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError('sleep'));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new AbortedError('sleep'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
