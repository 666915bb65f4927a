// Slows repeated failed sign-ins down, per account and per source, without locking the real owner
// out for good (OWASP Authentication Cheat Sheet, "Login Throttling"; the device-cookie idea kept
// server-side as trusted pairs). After FREE failures a key must wait an exponentially growing delay,
// capped, before its next password is even checked (429 with Retry-After; no scrypt is spent);
// failures are forgotten after a quiet period. The account's delay does not apply to a source that
// signed in to that account before (a trusted pair), so strangers guessing a name cannot keep its
// owner out; a source's own delay (its IPv4 address or IPv6 /64) always applies.
// The state lives in the registry (tables login_failures and login_trust, migration 8), so every
// process of `enf-server start --processes N` and every server on one PostgreSQL registry counts the
// same failures: N copies do not give an attacker N times the attempts. Failures are counted by one
// atomic upsert each, so concurrent ones all count. Rows are bounded: every 32 failures (or each
// minute) this process prunes stale failures, ended trusts, and the oldest rows past maxEntries per
// table (dropping only forgets delays).
import { createHash } from 'node:crypto';
import type { AccountRegistry, LoginFailures } from '../registry/account-registry.ts';
import type { Clock } from '../registry/registry.ts';

export interface LoginThrottleOptions {
  /** Failures per key before any delay; default 3. */
  freeFailures?: number;
  /** First delay (ms), doubled per further failure; default 1000. */
  baseDelayMs?: number;
  /** Longest delay of an account (ms); default 30 s. */
  maxAccountDelayMs?: number;
  /** Longest delay of a source (ms); default 5 min. */
  maxSourceDelayMs?: number;
  /** A key with no failure for this long is forgotten (ms); default 15 min. */
  forgetAfterMs?: number;
  /** How long a successful (account, source) pair stays trusted (ms); default 30 days. */
  trustMs?: number;
  /** Most rows kept per table (accounts, sources, trusted pairs) after a prune; default 10 000. */
  maxEntries?: number;
}

/** Where the throttle keeps its state: the registry's accounts part. */
export type ThrottleStore = Pick<
  AccountRegistry,
  'loginThrottleState' | 'recordLoginFailure' | 'recordLoginSuccess' | 'pruneLoginThrottle'
>;

const PRUNE_EVERY_FAILURES = 32;
const PRUNE_EVERY_MS = 60_000;

/** Names and sources as stored: longer ones than 200 characters by their SHA-256. */
export function throttleKey(s: string): string {
  return s.length <= 200 ? s : `sha256:${createHash('sha256').update(s).digest('hex')}`;
}

export class LoginThrottle {
  private readonly o: Required<LoginThrottleOptions>;
  private failuresSincePrune = 0;
  private lastPruneAt: number;

  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
    options: LoginThrottleOptions = {},
  ) {
    this.o = {
      freeFailures: 3,
      baseDelayMs: 1000,
      maxAccountDelayMs: 30_000,
      maxSourceDelayMs: 300_000,
      forgetAfterMs: 15 * 60_000,
      trustMs: 30 * 24 * 3600_000,
      maxEntries: 10_000,
      ...options,
    };
    this.lastPruneAt = clock.now();
  }

  private remaining(f: LoginFailures | undefined, max: number, now: number): number {
    if (!f || now - f.last >= this.o.forgetAfterMs || f.count < this.o.freeFailures) return 0;
    const delay = Math.min(max, this.o.baseDelayMs * 2 ** Math.min(f.count - this.o.freeFailures, 30));
    return Math.max(0, f.last + delay - now);
  }

  /** Milliseconds before an attempt on `account` from `source` may be checked; 0: now. */
  async waitMs(account: string, source: string): Promise<number> {
    const now = this.clock.now();
    const s = await this.store.loginThrottleState(throttleKey(account), throttleKey(source));
    const bySource = this.remaining(s.source, this.o.maxSourceDelayMs, now);
    const isTrusted = s.trustedUntil !== undefined && s.trustedUntil > now;
    const byAccount = isTrusted ? 0 : this.remaining(s.account, this.o.maxAccountDelayMs, now);
    return Math.max(bySource, byAccount);
  }

  async failed(account: string, source: string): Promise<void> {
    const now = this.clock.now();
    await this.store.recordLoginFailure(
      throttleKey(account),
      throttleKey(source),
      now,
      now - this.o.forgetAfterMs,
    );
    this.failuresSincePrune++;
    if (this.failuresSincePrune >= PRUNE_EVERY_FAILURES || now - this.lastPruneAt >= PRUNE_EVERY_MS) {
      await this.prune();
    }
  }

  /** The owner got in: its source's failures are forgiven and the pair is trusted from now on. */
  async succeeded(account: string, source: string): Promise<void> {
    await this.store.recordLoginSuccess(
      throttleKey(account),
      throttleKey(source),
      this.clock.now() + this.o.trustMs,
    );
  }

  /** Drops what no longer counts and the oldest rows past maxEntries; returns how many rows went. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    this.failuresSincePrune = 0;
    this.lastPruneAt = now;
    return this.store.pruneLoginThrottle(now - this.o.forgetAfterMs, now, this.o.maxEntries);
  }
}
