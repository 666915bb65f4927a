// The roles a user or token holds, ordered from least to most: stored by the registry (users and
// API tokens carry one) and enforced by the management API (http/roles.ts, router.ts).
// viewer: read; operator: networks, batches, CAs, associate, revoke, allow-rekey; admin: the
// organization's users, tokens and settings; superadmin: server-wide (creates organizations).

export const ROLES = ['viewer', 'operator', 'admin', 'superadmin'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `have` includes everything `need` may do (the roles are ordered). */
export function allows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}
