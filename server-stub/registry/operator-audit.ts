// The operator audit: every state change made through the management API, the dashboard or the
// command line, with who made it (the principal's actor name: `token-file:NAME`, `user:NAME`,
// `token:NAME`, or `cli:<OS user>`), what (an action code such as `batch.revoke`), on which object,
// from where (the client's address, or `cli`), when, and in the organization of the object.
// Append-only like the handshake audit: the database refuses UPDATE, DELETE (and TRUNCATE) by trigger.

/** The kinds of object an operator action names. */
export const OPERATOR_OBJECT_TYPES = [
  'organization',
  'network',
  'batch',
  'device',
  'ca',
  'user',
  'token',
] as const;
export type OperatorObjectType = (typeof OPERATOR_OBJECT_TYPES)[number];

export interface OperatorAuditInput {
  /** The object's organization; null for a server-wide object (a CA not bound to one). */
  organizationId: number | null;
  /** Who acted: `kind:name`, e.g. `token-file:ci`, `user:alice`, `cli:root`. */
  actor: string;
  /** What was done: `<object type>.<verb>`, e.g. `network.add`, `device.allow-rekey`. */
  action: string;
  objectType: OperatorObjectType;
  /** The object's stable id: a network or CA id, a batch gid or device identity in hex. */
  objectId: string;
  /** Its name when it has one (network, batch, CA, organization). */
  objectName: string | null;
  /** The client's address, or `cli` for the command line. */
  source: string;
  /** The request's parameters that matter (e.g. `{ "allow": true }`), never secrets. */
  detail: Record<string, unknown> | null;
}

export interface OperatorAuditEntry extends OperatorAuditInput {
  id: number;
  at: number;
}

export interface OperatorAuditFilter {
  since?: number;
  until?: number;
  actor?: string;
  action?: string;
  objectType?: OperatorObjectType;
  objectId?: string;
  /** The cursor: entries with id below this. */
  beforeId?: number;
  /** Newest first; default 100, at most MAX_AUDIT_LIMIT + 1. */
  limit?: number;
}

/** The operator audit port (Registry.operatorAudit); `org` scopes like the registry's other methods. */
export interface OperatorAudit {
  append(entry: OperatorAuditInput): Promise<OperatorAuditEntry>;
  /** Newest first; with `org`, only that organization's entries. */
  query(filter?: OperatorAuditFilter, org?: number): Promise<OperatorAuditEntry[]>;
}
