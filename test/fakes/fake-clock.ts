// A Clock whose time only moves when the test (or a sleep) moves it. sleep() records the request
// and resolves immediately by advancing `now`, so flows with backoff run instantly and the test
// can assert on exactly which delays were requested.
import type { Clock } from '../../agent/clock.ts';
import { AbortedError } from '../../agent/errors.ts';

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public time = Date.UTC(2026, 10, 28, 4, 0, 0)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new AbortedError('sleep');
    this.sleeps.push(ms);
    this.time += ms;
  }
}
