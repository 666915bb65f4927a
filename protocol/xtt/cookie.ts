// Server cookie strategies (vectors README, discrepancy 9: the wire carries 130 opaque bytes, the
// content is the server's business). Two implementations of one port:
// - SealedCookieStrategy (production): the cookie is self-authenticating. It seals the X25519 shared
//   secret and the inner HandshakeKeyHash (everything the server would otherwise remember from
//   ClientInit) under a rotating cookie key, with suite and issue time bound as associated data.
//   It expires (default 30 s) and a bounded, expiring set of redeemed cookies stops replays.
//   Layout (130 B): format 1 || key id 1 || issued_at u32 s 4 || random 8 || suite 2 || pad 2 ||
//   ChaCha20-Poly1305(key, nonce = issued_at || random, ad = bytes[0:18], shared 32 || inner 64) || tag 16.
// - ReferenceCookieStrategy (vector replay): 130 random bytes like libxtt, state kept in a bounded,
//   expiring table. Only for reproducing the reference's bytes in tests.
import { ProtocolError } from '../errors.ts';
import { ByteReader, concatBytes, equalBytes, toHex, u16be, u32be } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { COOKIE_LENGTH, HASH_LENGTH, isSuiteSpec, type SuiteSpec, X25519_LENGTH } from './constants.ts';
import { suiteOps } from './suite-ops.ts';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What the server needs from ClientInit time when Identity_ClientAttest arrives. */
export interface CookieState {
  suite: SuiteSpec;
  sharedSecret: Uint8Array;
  innerHash: Uint8Array;
}

export interface CookieStrategy {
  issue(state: CookieState): Uint8Array;
  /** Returns the state once; throws ProtocolError COOKIE_INVALID / COOKIE_EXPIRED / COOKIE_REPLAYED. */
  redeem(cookie: Uint8Array): CookieState;
}

const STAGE = 'Identity_ClientAttest';
const FORMAT = 0x01;
const CLEAR_LENGTH = 18;
const AEAD = suiteOps(1); // ChaCha20-Poly1305 IETF, independent of the handshake suite

function checkState(s: CookieState): void {
  if (s.sharedSecret.length !== X25519_LENGTH || s.innerHash.length !== HASH_LENGTH)
    throw new RangeError('cookie state sizes');
}

/** Bounded set of recently redeemed cookies; entries leave when they could no longer be valid. */
class ReplaySet {
  readonly #seen = new Map<string, number>();
  constructor(readonly capacity: number) {}

  /** False when the id was seen or the set is full of live entries (fail closed). */
  add(id: string, expiresAt: number, now: number): 'ok' | 'replayed' | 'full' {
    this.purge(now);
    if (this.#seen.has(id)) return 'replayed';
    if (this.#seen.size >= this.capacity) return 'full';
    this.#seen.set(id, expiresAt);
    return 'ok';
  }

  purge(now: number): void {
    for (const [k, exp] of this.#seen) {
      if (exp > now) break; // insertion order is expiry order (one lifetime for all)
      this.#seen.delete(k);
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}

export interface SealedCookieOptions {
  rng: Rng;
  clock?: Clock;
  /** Cookie lifetime in ms (default 30 000). */
  lifetimeMs?: number;
  /** The cookie key rotates after this many ms (default 10 min); the previous key stays valid. */
  rotateEveryMs?: number;
  /** Redeemed-cookie memory (default 65 536 entries, about 5 MB at most). */
  replayCapacity?: number;
}

export class SealedCookieStrategy implements CookieStrategy {
  readonly #rng: Rng;
  readonly #clock: Clock;
  readonly #lifetimeMs: number;
  readonly #rotateEveryMs: number;
  readonly #replay: ReplaySet;
  #keys = new Map<number, Uint8Array>();
  #currentId = 0;
  #rotatedAt: number;

  constructor(opts: SealedCookieOptions) {
    this.#rng = opts.rng;
    this.#clock = opts.clock ?? systemClock;
    this.#lifetimeMs = opts.lifetimeMs ?? 30_000;
    this.#rotateEveryMs = opts.rotateEveryMs ?? 600_000;
    this.#replay = new ReplaySet(opts.replayCapacity ?? 65_536);
    this.#keys.set(0, this.#rng.bytes(32));
    this.#rotatedAt = this.#clock.now();
  }

  /** New key id; the previous key stays valid, older ones are wiped. */
  rotateKey(): void {
    const next = (this.#currentId + 1) & 0xff;
    const prev = this.#currentId;
    for (const [id, key] of this.#keys) {
      if (id !== prev) {
        key.fill(0);
        this.#keys.delete(id);
      }
    }
    this.#keys.set(next, this.#rng.bytes(32));
    this.#currentId = next;
    this.#rotatedAt = this.#clock.now();
  }

  issue(state: CookieState): Uint8Array {
    checkState(state);
    const now = this.#clock.now();
    if (now - this.#rotatedAt >= this.#rotateEveryMs) this.rotateKey();
    const issuedAt = u32be(Math.floor(now / 1000) >>> 0);
    const random = this.#rng.bytes(8);
    const clear = concatBytes(
      Uint8Array.of(FORMAT, this.#currentId),
      issuedAt,
      random,
      u16be(state.suite),
      new Uint8Array(2),
    );
    const plain = concatBytes(state.sharedSecret, state.innerHash);
    try {
      const sealed = AEAD.seal(this.#keys.get(this.#currentId)!, concatBytes(issuedAt, random), clear, plain);
      return concatBytes(clear, sealed);
    } finally {
      plain.fill(0);
    }
  }

  redeem(cookie: Uint8Array): CookieState {
    if (cookie.length !== COOKIE_LENGTH) throw new ProtocolError('COOKIE_INVALID', STAGE, 'cookie length');
    const r = new ByteReader(cookie, 'cookie');
    const format = r.u8('format');
    const keyId = r.u8('key_id');
    const issuedAtBytes = r.bytes(4, 'issued_at');
    const random = r.bytes(8, 'random');
    const suite = r.u16('suite');
    r.bytes(2, 'pad');
    const sealed = r.rest('sealed');
    const key = this.#keys.get(keyId);
    if (format !== FORMAT || !key || !isSuiteSpec(suite)) {
      throw new ProtocolError('COOKIE_INVALID', STAGE, 'cookie format, key id or suite unknown');
    }
    let plain: Uint8Array;
    try {
      plain = AEAD.open(key, concatBytes(issuedAtBytes, random), cookie.subarray(0, CLEAR_LENGTH), sealed);
    } catch (cause) {
      throw new ProtocolError('COOKIE_INVALID', STAGE, 'cookie does not authenticate', { cause });
    }
    const now = this.#clock.now();
    const issuedMs = new ByteReader(issuedAtBytes, 'issued_at').u32('t') * 1000;
    if (issuedMs > now + 1000 || now - issuedMs > this.#lifetimeMs) {
      plain.fill(0);
      throw new ProtocolError('COOKIE_EXPIRED', STAGE, 'cookie expired');
    }
    const verdict = this.#replay.add(
      toHex(sealed.subarray(sealed.length - 16)),
      issuedMs + this.#lifetimeMs + 1000,
      now,
    );
    if (verdict !== 'ok') {
      plain.fill(0);
      throw new ProtocolError(
        verdict === 'replayed' ? 'COOKIE_REPLAYED' : 'COOKIE_BUSY',
        STAGE,
        verdict === 'replayed' ? 'cookie already redeemed' : 'too many handshakes in flight',
      );
    }
    return { suite, sharedSecret: plain.slice(0, X25519_LENGTH), innerHash: plain.slice(X25519_LENGTH) };
  }
}

export interface ReferenceCookieOptions {
  rng: Rng;
  clock?: Clock;
  lifetimeMs?: number;
  /** Pending handshakes kept at most (oldest evicted first; default 1024). */
  capacity?: number;
}

/** libxtt's cookie: 130 random bytes, compared on return; bounded table for the state. */
export class ReferenceCookieStrategy implements CookieStrategy {
  readonly #rng: Rng;
  readonly #clock: Clock;
  readonly #lifetimeMs: number;
  readonly #capacity: number;
  readonly #pending = new Map<string, { state: CookieState; cookie: Uint8Array; expiresAt: number }>();

  constructor(opts: ReferenceCookieOptions) {
    this.#rng = opts.rng;
    this.#clock = opts.clock ?? systemClock;
    this.#lifetimeMs = opts.lifetimeMs ?? 30_000;
    this.#capacity = opts.capacity ?? 1024;
  }

  issue(state: CookieState): Uint8Array {
    checkState(state);
    const cookie = this.#rng.bytes(COOKIE_LENGTH);
    const now = this.#clock.now();
    for (const [k, v] of this.#pending) {
      if (v.expiresAt > now && this.#pending.size < this.#capacity) break;
      this.#pending.delete(k);
    }
    this.#pending.set(toHex(cookie), {
      state: {
        suite: state.suite,
        sharedSecret: state.sharedSecret.slice(),
        innerHash: state.innerHash.slice(),
      },
      cookie,
      expiresAt: now + this.#lifetimeMs,
    });
    return cookie.slice();
  }

  redeem(cookie: Uint8Array): CookieState {
    const id = toHex(cookie);
    const entry = this.#pending.get(id);
    if (!entry || !equalBytes(entry.cookie, cookie))
      throw new ProtocolError('COOKIE_INVALID', STAGE, 'unknown cookie');
    this.#pending.delete(id);
    if (entry.expiresAt <= this.#clock.now())
      throw new ProtocolError('COOKIE_EXPIRED', STAGE, 'cookie expired');
    return entry.state;
  }

  get pending(): number {
    return this.#pending.size;
  }
}
