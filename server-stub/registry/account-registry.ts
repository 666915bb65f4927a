// The registry's accounts port: local users (name, organization, role, scrypt password hash), their
// dashboard sessions and named API tokens. Secrets never reach it: sessions and tokens are stored as
// SHA-256 digests of what the client holds, passwords as scrypt hashes (http/password.ts). Like the
// Registry port, scoped methods take `org` (an organization id): given, another organization's
// users and tokens look absent; omitted (the CLI, a superadmin), they reach every organization.
import type { Role } from './roles.ts';

export interface User {
  id: number;
  name: string;
  /** null for superadmins (server-wide); every other role belongs to one organization. */
  organizationId: number | null;
  role: Role;
  isDisabled: boolean;
  createdAt: number;
  passwordChangedAt: number;
}

/** A user with the stored password hash, for the sign-in check only. */
export interface UserRecord extends User {
  passwordHash: string;
}

export interface NewUser {
  name: string;
  organizationId: number | null;
  role: Role;
  passwordHash: string;
}

export interface Session {
  userId: number;
  createdAt: number;
  lastSeenAt: number;
}

export interface ApiToken {
  id: number;
  name: string;
  organizationId: number | null;
  /** The user it acts for; null: the organization's own (or a server-wide) token. */
  userId: number | null;
  role: Role;
  /** Who made it (a Principal's actor: `user:NAME`, `token:NAME`, `cli:OSUSER`, ...). */
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface NewApiToken {
  name: string;
  organizationId: number | null;
  userId: number | null;
  role: Role;
  /** SHA-256 of the token (32 bytes). */
  digest: Uint8Array;
  createdBy: string;
  expiresAt: number | null;
}

export interface AccountRegistry {
  /** CONFLICT if the name is taken (user names are server-wide: they sign in by name alone). */
  addUser(input: NewUser): Promise<User>;
  /** By name or numeric id; in `org` when scoped. */
  getUser(ref: string | number, org?: number): Promise<UserRecord | undefined>;
  listUsers(org?: number): Promise<User[]>;
  /** Disabling also ends the user's sessions. NOT_FOUND if absent (in `org`). */
  setUserDisabled(ref: string | number, isDisabled: boolean, org?: number): Promise<User>;
  /**
   * A new role within the user's organization (sessions and tokens see it on their next request;
   * a token never acts above its user's current role). VALIDATION for superadmin, either way: a
   * superadmin has no organization. NOT_FOUND if absent (in `org`).
   */
  setUserRole(ref: string | number, role: Role, org?: number): Promise<User>;
  /** A new password hash; ends the user's sessions. NOT_FOUND if absent (in `org`). */
  setPasswordHash(ref: string | number, passwordHash: string, org?: number): Promise<User>;

  addSession(digest: Uint8Array, userId: number): Promise<void>;
  getSession(digest: Uint8Array): Promise<Session | undefined>;
  touchSession(digest: Uint8Array, at: number): Promise<void>;
  deleteSession(digest: Uint8Array): Promise<void>;
  /** Delete sessions last seen before `before` (ms); returns how many. */
  deleteIdleSessions(before: number): Promise<number>;

  /** CONFLICT if the organization (or the server-wide set) has a token of that name. */
  addApiToken(input: NewApiToken): Promise<ApiToken>;
  /** By digest, revoked and expired ones included (the caller decides). */
  findApiToken(digest: Uint8Array): Promise<ApiToken | undefined>;
  /** Scoped like getUser; with `userId`, only that user's tokens. */
  listApiTokens(filter: { userId?: number }, org?: number): Promise<ApiToken[]>;
  /** By name (in `org`, or among server-wide tokens when org is undefined) or numeric id. */
  getApiToken(ref: string | number, org?: number): Promise<ApiToken | undefined>;
  touchApiToken(id: number, at: number): Promise<void>;
  /** Marks it revoked (kept for the record); revoking twice keeps the first time. */
  revokeApiToken(id: number): Promise<ApiToken>;

  // The failed sign-in throttle's state (http/login-throttle.ts applies the rules), in the registry
  // so that every process and server on it shares it. Names and sources: at most 256 characters.
  /** The failures of the account name and of the source, and until when the pair is trusted. */
  loginThrottleState(account: string, source: string): Promise<LoginThrottleState>;
  /**
   * One more failure for the account and for the source at `at`; a count whose last failure is at
   * or before `staleBefore` starts again at 1. Atomic: concurrent failures all count.
   */
  recordLoginFailure(account: string, source: string, at: number, staleBefore: number): Promise<void>;
  /** The owner got in: the source's failures go, the pair is trusted until `trustedUntil`. */
  recordLoginSuccess(account: string, source: string, trustedUntil: number): Promise<void>;
  /**
   * Deletes failures last seen at or before `staleBefore` and trusts ended by `now`, then the oldest
   * rows beyond `maxRows` per kind (accounts, sources, trusted pairs); returns how many went.
   */
  pruneLoginThrottle(staleBefore: number, now: number, maxRows: number): Promise<number>;
}

/** Failures of one key: how many, the last one's time (ms). */
export interface LoginFailures {
  count: number;
  last: number;
}

export interface LoginThrottleState {
  account: LoginFailures | undefined;
  source: LoginFailures | undefined;
  /** Until when (ms) the (account, source) pair is trusted; undefined: never signed in from there. */
  trustedUntil: number | undefined;
}
