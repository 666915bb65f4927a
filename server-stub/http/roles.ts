// Roles of the management API and what a request acts as. Each route declares the least role it
// needs (router.ts); a token (auth.ts) is bound to one organization and one role, or is server-wide
// (superadmin: every organization, and the server-wide /metrics; an organization's token gets its own
// device gauges there).
// The roles themselves live with the registry, which stores them (registry/roles.ts).
import type { Role } from '../registry/roles.ts';

export { allows, isRole, ROLES, type Role } from '../registry/roles.ts';

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
