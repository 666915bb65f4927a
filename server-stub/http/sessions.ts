// Dashboard sessions: after a password sign-in the browser holds a random 256-bit secret in an
// HttpOnly, SameSite=Strict cookie (Secure, and the __Host- prefix, under TLS; RFC 6265bis 4.1.3);
// the registry holds only its SHA-256, so a copy of the database signs nobody in. A session ends
// when it has been idle longer than the configured timeout, when the user signs out, is disabled or
// gets a new password. Cross-site request forgery: a request that changes state with the cookie must
// come from our own origin (Sec-Fetch-Site, else Origin, when the browser sends them) and carry the
// session's CSRF token in X-CSRF-Token: an HMAC of the session secret (OWASP CSRF Prevention Cheat
// Sheet, "signed double-submit"), so nothing more is stored and another session's token is useless.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AccountRegistry, User } from '../registry/account-registry.ts';
import type { Clock } from '../registry/registry.ts';
import { ApiError } from './errors.ts';

export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
export const CSRF_HEADER = 'x-csrf-token';
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export interface SessionOptions {
  /** A session unused for this long ends (ms). */
  idleTimeoutMs: number;
  /** Served over TLS: the cookie is Secure and __Host- prefixed. */
  isSecure: boolean;
}

/** A request's valid session: its user, the secret's digest and the CSRF token it must echo. */
export interface ActiveSession {
  user: User;
  digest: Uint8Array;
  csrfToken: string;
}

const sha256 = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest());

export function csrfTokenOf(secret: string): string {
  return createHmac('sha256', secret).update('enf-server csrf').digest('base64url');
}

/** The value of cookie `name` in a Cookie header (RFC 6265 section 5.4 form), if present once. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const found = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.startsWith(`${name}=`))
    .map((p) => p.slice(name.length + 1));
  return found.length === 1 ? found[0] : undefined;
}

/** Whether an unsafe request comes from our own origin, as far as the browser says. */
export function isSameOrigin(req: IncomingMessage, isSecure: boolean): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = req.headers.origin;
  if (typeof origin === 'string')
    return origin === `${isSecure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  return true; // not a browser that says (curl, scripts): the CSRF token still has to match
}

export class Sessions {
  readonly cookieName: string;

  constructor(
    private readonly accounts: AccountRegistry,
    private readonly clock: Clock,
    readonly options: SessionOptions,
  ) {
    if (!(options.idleTimeoutMs >= 1000)) throw new RangeError('session idle timeout below 1 s');
    this.cookieName = options.isSecure ? '__Host-enf_session' : 'enf_session';
  }

  private cookie(value: string, maxAge?: number): string {
    return [
      `${this.cookieName}=${value}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      ...(this.options.isSecure ? ['Secure'] : []),
      ...(maxAge !== undefined ? [`Max-Age=${maxAge}`] : []),
    ].join('; ');
  }

  /** A new session for `user`: the Set-Cookie value and the CSRF token for the page. */
  async create(user: User): Promise<{ setCookie: string; csrfToken: string }> {
    const now = this.clock.now();
    await this.accounts.deleteIdleSessions(now - this.options.idleTimeoutMs);
    const secret = randomBytes(32).toString('base64url');
    await this.accounts.addSession(sha256(secret), user.id);
    return { setCookie: this.cookie(secret), csrfToken: csrfTokenOf(secret) };
  }

  /** The Set-Cookie value that drops the cookie. */
  get clearCookie(): string {
    return this.cookie('', 0);
  }

  private secretOf(req: IncomingMessage): string | undefined {
    const v = readCookie(req.headers.cookie, this.cookieName);
    return v !== undefined && SECRET_RE.test(v) ? v : undefined;
  }

  /** Whether the request carries our cookie at all (valid or not). */
  hasCookie(req: IncomingMessage): boolean {
    return readCookie(req.headers.cookie, this.cookieName) !== undefined;
  }

  /** The request's session if its cookie names a live one of an enabled user; refreshes its idle time. */
  async authenticate(req: IncomingMessage): Promise<ActiveSession | undefined> {
    const secret = this.secretOf(req);
    if (secret === undefined) return undefined;
    const digest = sha256(secret);
    const s = await this.accounts.getSession(digest);
    if (!s) return undefined;
    const now = this.clock.now();
    if (now - s.lastSeenAt > this.options.idleTimeoutMs) {
      await this.accounts.deleteSession(digest);
      return undefined;
    }
    const user = await this.accounts.getUser(s.userId);
    if (!user || user.isDisabled) return undefined;
    // One write per minute at most (or per tenth of a short timeout), not one per request.
    if (now - s.lastSeenAt >= Math.min(60_000, this.options.idleTimeoutMs / 10)) {
      await this.accounts.touchSession(digest, now);
    }
    const { passwordHash: _, ...pub } = user;
    return { user: pub, digest, csrfToken: csrfTokenOf(secret) };
  }

  /** FORBIDDEN unless a state-changing request is same-origin and carries the session's CSRF token. */
  checkCsrf(req: IncomingMessage, session: ActiveSession): void {
    if (!isSameOrigin(req, this.options.isSecure)) {
      throw new ApiError('FORBIDDEN', 'cross-site request refused');
    }
    const got = req.headers[CSRF_HEADER];
    const want = Buffer.from(session.csrfToken);
    if (typeof got !== 'string' || got.length !== want.length || !timingSafeEqual(Buffer.from(got), want)) {
      throw new ApiError('FORBIDDEN', `missing or wrong ${CSRF_HEADER} header`, CSRF_HEADER);
    }
  }

  async end(session: ActiveSession): Promise<void> {
    await this.accounts.deleteSession(session.digest);
  }
}
