// Slows repeated failed sign-ins down, per account and per source, without locking the real owner
// out for good (OWASP Authentication Cheat Sheet, "Login Throttling"; the device-cookie idea kept
// server-side as trusted pairs). After FREE failures a key must wait an exponentially growing delay,
// capped, before its next password is even checked (429 with Retry-After; no scrypt is spent);
// failures are forgotten after a quiet period. The account's delay does not apply to a source that
// signed in to that account before (a trusted pair), so strangers guessing a name cannot keep its
// owner out; a source's own delay (its IPv4 address or IPv6 /64) always applies. Memory is bounded:
// at most maxEntries keys each (least recently failed dropped first; dropping only forgets delays).
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
  /** Most keys held per table (accounts, sources, trusted pairs); default 10 000. */
  maxEntries?: number;
}

interface Failures {
  count: number;
  last: number;
}

/** A Map with a size bound that drops its oldest-touched key first. */
class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  delete(k: string): void {
    this.map.delete(k);
  }
  get size(): number {
    return this.map.size;
  }
}

export class LoginThrottle {
  private readonly o: Required<LoginThrottleOptions>;
  private readonly accounts: BoundedMap<Failures>;
  private readonly sources: BoundedMap<Failures>;
  private readonly trusted: BoundedMap<number>;

  constructor(
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
    this.accounts = new BoundedMap(this.o.maxEntries);
    this.sources = new BoundedMap(this.o.maxEntries);
    this.trusted = new BoundedMap(this.o.maxEntries);
  }

  /** Entries held (accounts, sources, trusted pairs), for tests of the bound. */
  get sizes(): { accounts: number; sources: number; trusted: number } {
    return { accounts: this.accounts.size, sources: this.sources.size, trusted: this.trusted.size };
  }

  private remaining(table: BoundedMap<Failures>, key: string, max: number, now: number): number {
    const f = table.get(key);
    if (!f) return 0;
    if (now - f.last >= this.o.forgetAfterMs) {
      table.delete(key);
      return 0;
    }
    if (f.count < this.o.freeFailures) return 0;
    const delay = Math.min(max, this.o.baseDelayMs * 2 ** Math.min(f.count - this.o.freeFailures, 30));
    return Math.max(0, f.last + delay - now);
  }

  private isTrusted(account: string, source: string, now: number): boolean {
    const until = this.trusted.get(`${account}\n${source}`);
    return until !== undefined && until > now;
  }

  /** Milliseconds before an attempt on `account` from `source` may be checked; 0: now. */
  waitMs(account: string, source: string): number {
    const now = this.clock.now();
    const bySource = this.remaining(this.sources, source, this.o.maxSourceDelayMs, now);
    const byAccount = this.isTrusted(account, source, now)
      ? 0
      : this.remaining(this.accounts, account, this.o.maxAccountDelayMs, now);
    return Math.max(bySource, byAccount);
  }

  failed(account: string, source: string): void {
    const now = this.clock.now();
    for (const [table, key] of [
      [this.accounts, account],
      [this.sources, source],
    ] as const) {
      const f = table.get(key);
      const isStale = f !== undefined && now - f.last >= this.o.forgetAfterMs;
      table.set(key, { count: f && !isStale ? f.count + 1 : 1, last: now });
    }
  }

  /** The owner got in: its source's failures are forgiven and the pair is trusted from now on. */
  succeeded(account: string, source: string): void {
    const now = this.clock.now();
    this.sources.delete(source);
    this.trusted.set(`${account}\n${source}`, now + this.o.trustMs);
  }
}
