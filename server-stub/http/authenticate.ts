// Who a management request acts as, from one of three credentials:
// - `Authorization: Bearer` with a token of the token file (auth.ts; the bootstrap for the first
//   admin) or a named API token (`enf_...`, stored as its SHA-256: api-tokens.ts), which must be
//   unrevoked, unexpired, and, when it acts for a user, that user enabled; its role is at most the
//   user's current role;
// - else the dashboard's session cookie (sessions.ts), whose state-changing requests must pass the
//   CSRF check.
// A request with none of them, or a wrong one, is UNAUTHORIZED with the same message either way.
import type { IncomingMessage } from 'node:http';
import type { Registry } from '../registry/registry.ts';
import { API_TOKEN_PREFIX, tokenDigest } from './accounts.ts';
import type { TokenAuthenticator } from './auth.ts';
import { ApiError } from './errors.ts';
import { ROLES, type Principal, type Role } from './roles.ts';
import type { ActiveSession, Sessions } from './sessions.ts';

/** Named tokens' last-used time is written at most this often (ms), not on every request. */
const TOUCH_EVERY_MS = 60_000;

export interface Authenticated {
  principal: Principal;
  /** Set when the cookie authenticated the request. */
  session?: ActiveSession;
}

const lower = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class Authenticator {
  constructor(
    readonly fileTokens: TokenAuthenticator,
    private readonly registry: Registry,
    readonly sessions: Sessions,
    private readonly now: () => number,
  ) {}

  async authenticate(req: IncomingMessage): Promise<Authenticated> {
    const h = req.headers.authorization;
    if (h !== undefined) {
      // credentials = auth-scheme 1*SP token (RFC 9110 section 11.4); the scheme in any case.
      const m = typeof h === 'string' ? /^Bearer +([\x21-\x7e]+)$/i.exec(h) : null;
      const principal = m ? await this.bearer(m[1]!) : undefined;
      if (!principal) throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token');
      return { principal };
    }
    const session = await this.sessions.authenticate(req);
    if (!session) {
      throw new ApiError(
        'UNAUTHORIZED',
        this.sessions.hasCookie(req)
          ? 'session expired or ended; sign in again'
          : 'missing or invalid bearer token',
      );
    }
    if (!SAFE_METHODS.has(req.method ?? 'GET')) this.sessions.checkCsrf(req, session);
    const u = session.user;
    return {
      principal: { role: u.role, org: u.organizationId ?? undefined, actor: `user:${u.name}`, userId: u.id },
      session,
    };
  }

  private async bearer(token: string): Promise<Principal | undefined> {
    const bytes = new TextEncoder().encode(token);
    const fromFile = this.fileTokens.lookup(bytes);
    if (fromFile) return fromFile;
    if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const t = await this.registry.accounts.findApiToken(tokenDigest(token));
    const now = this.now();
    if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) return undefined;
    let role = t.role;
    if (t.userId !== null) {
      const u = await this.registry.accounts.getUser(t.userId);
      if (!u || u.isDisabled) return undefined;
      role = lower(role, u.role);
    }
    if (t.lastUsedAt === null || now - t.lastUsedAt >= TOUCH_EVERY_MS) {
      await this.registry.accounts.touchApiToken(t.id, now);
    }
    return {
      role,
      org: t.organizationId ?? undefined,
      actor: `token:${t.name}`,
      ...(t.userId !== null ? { userId: t.userId } : {}),
    };
  }
}
