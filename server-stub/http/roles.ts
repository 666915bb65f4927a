// Roles of the management API and what a request acts as. Each route declares the least role it
// needs (router.ts); a token (auth.ts) is bound to one organization and one role, or is server-wide
// (superadmin: every organization, and the server-wide /metrics; an organization's token gets its own
// device gauges there).
// viewer: read; operator: networks, batches, CAs, associate, revoke, allow-rekey; admin: the
// organization's users, tokens and settings; superadmin: server-wide (creates organizations).

export const ROLES = ['viewer', 'operator', 'admin', 'superadmin'] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts as: its role, and its organization's id (undefined: every organization). */
export interface Principal {
  role: Role;
  org: number | undefined;
  /**
   * Who acts, for the operator audit: `kind:name`. Token-file tokens are `token-file:NAME` (the
   * line's name= field) or `token-file:LINE` (its line number; the position for configured tokens);
   * users `user:NAME`, named API tokens `token:NAME`; the command line records `cli:<OS user>`.
   */
  actor: string;
  /** The signed-in user, or the user a named token belongs to; undefined for other tokens. */
  userId?: number;
}

/** Whether `have` includes everything `need` may do (the roles are ordered). */
export function allows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}
