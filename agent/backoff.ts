// Retry delays for first-boot provisioning: exponential backoff with "full jitter" (the delay is
// uniform in [0, min(cap, base * 2^attempt)]), so thousands of devices powered on together spread
// their retries over the whole window instead of hammering the server in lockstep.
// Randomness and time are injected (Rng from protocol/util/rng.ts, Clock from ./clock.ts).
import type { Rng } from '../protocol/util/rng.ts';
import type { Clock } from './clock.ts';

export interface BackoffPolicy {
  /** Upper bound of the first delay window. */
  initialMs: number;
  /** Cap on the window (and so on every delay). */
  maxMs: number;
}

/** Uniform float in [0, 1) from 32 random bits. */
function uniform(rng: Rng): number {
  const b = rng.bytes(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
}

/** The window for `attempt` (0-based): min(maxMs, initialMs * 2^attempt). */
export function backoffCeiling(attempt: number, p: BackoffPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be >= 0: ${attempt}`);
  // 2^attempt overflows to Infinity for large attempts, and min() then yields the cap: intended.
  return Math.min(p.maxMs, p.initialMs * 2 ** attempt);
}

/** Full-jitter delay for `attempt`, an integer number of ms in [0, ceiling]. */
export function backoffDelay(attempt: number, p: BackoffPolicy, rng: Rng): number {
  return Math.floor(uniform(rng) * (backoffCeiling(attempt, p) + 1));
}

/** Stateful helper: counts attempts, sleeps the jittered delay on the injected clock. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly rng: Rng,
    private readonly clock: Clock,
  ) {}

  get attempts(): number {
    return this.attempt;
  }

  /** Next delay (and advances the attempt counter); `maxMs` overrides the policy's cap. */
  next(maxMs = this.policy.maxMs): number {
    return backoffDelay(this.attempt++, { ...this.policy, maxMs }, this.rng);
  }

  /** Sleeps the next delay; AbortedError if `signal` aborts first. Returns the delay slept. */
  async wait(signal?: AbortSignal): Promise<number> {
    const ms = this.next();
    await this.clock.sleep(ms, signal);
    return ms;
  }

  reset(): void {
    this.attempt = 0;
  }
}
