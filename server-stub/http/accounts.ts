// Users and named API tokens as the API and the CLI both handle them: JSON views (no hash, no
// digest, ever), creation with the password hashed (password.ts) or the token drawn and digested
// here, so a secret exists only in the one answer that shows it.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiToken, NewUser, User } from '../registry/account-registry.ts';
import type { Registry } from '../registry/registry.ts';
import { checkPassword, hashPassword } from './password.ts';
import type { Role } from './roles.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** Operator-audit objects (registry/operator-audit.ts) for users and tokens. */
export const userObject = (u: User) => ({
  organizationId: u.organizationId,
  objectType: 'user' as const,
  objectId: String(u.id),
  objectName: u.name,
});
export const tokenObject = (t: ApiToken) => ({
  organizationId: t.organizationId,
  objectType: 'token' as const,
  objectId: String(t.id),
  objectName: t.name,
});

/** Prefix of named API tokens: tells them from token-file tokens, and secret scanners can find them. */
export const API_TOKEN_PREFIX = 'enf_';

/** Organization names by id, for views. */
export async function organizationNames(r: Registry): Promise<Map<number, string>> {
  return new Map((await r.listOrganizations()).map((o) => [o.id, o.name]));
}

export function userView(u: User, orgs: ReadonlyMap<number, string>) {
  return {
    id: u.id,
    name: u.name,
    organization: u.organizationId === null ? null : (orgs.get(u.organizationId) ?? String(u.organizationId)),
    role: u.role,
    disabled: u.isDisabled,
    createdAt: iso(u.createdAt),
    passwordChangedAt: iso(u.passwordChangedAt),
  };
}

export function tokenView(
  t: ApiToken,
  orgs: ReadonlyMap<number, string>,
  users: ReadonlyMap<number, string>,
) {
  return {
    id: t.id,
    name: t.name,
    organization: t.organizationId === null ? null : (orgs.get(t.organizationId) ?? String(t.organizationId)),
    user: t.userId === null ? null : (users.get(t.userId) ?? String(t.userId)),
    role: t.role,
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt),
    expiresAt: isoOrNull(t.expiresAt),
    lastUsedAt: isoOrNull(t.lastUsedAt),
    revokedAt: isoOrNull(t.revokedAt),
  };
}

/** A password checked and hashed, before any transaction (hashing is slow on purpose). */
export async function newPasswordHash(password: unknown): Promise<string> {
  return hashPassword(checkPassword(password));
}

/** A new user's record with its password hashed, ready for accounts.addUser. */
export async function newUser(input: {
  name: string;
  password: unknown;
  role: Role;
  organizationId: number | null;
}): Promise<NewUser> {
  return {
    name: input.name,
    role: input.role,
    organizationId: input.organizationId,
    passwordHash: await newPasswordHash(input.password),
  };
}

export async function addUser(
  r: Registry,
  input: { name: string; password: unknown; role: Role; organizationId: number | null },
): Promise<User> {
  return r.accounts.addUser(await newUser(input));
}

export function tokenDigest(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

/** A new named token: the secret (shown once) and its stored record. */
export async function addApiToken(
  r: Registry,
  input: {
    name: string;
    organizationId: number | null;
    userId: number | null;
    role: Role;
    createdBy: string;
    expiresAt: number | null;
  },
): Promise<{ secret: string; token: ApiToken }> {
  const secret = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const token = await r.accounts.addApiToken({ ...input, digest: tokenDigest(secret) });
  return { secret, token };
}
