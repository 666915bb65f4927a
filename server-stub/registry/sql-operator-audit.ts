// The operator audit (operator-audit.ts) over the SQL driver: one INSERT per action, queries newest
// first by id with the same filters and cursor paging as the handshake audit (sql-registry.ts).
import type { SqlDriver } from './driver.ts';
import { ValidationError } from './errors.ts';
import {
  OPERATOR_OBJECT_TYPES,
  type OperatorAudit,
  type OperatorAuditEntry,
  type OperatorAuditFilter,
  type OperatorAuditInput,
  type OperatorObjectType,
} from './operator-audit.ts';
import type { Row } from './rows.ts';
import type { Clock } from './registry.ts';
import { checkInt, MAX_AUDIT_LIMIT } from './validate.ts';

const ACTOR_RE = /^[a-z-]{1,16}:[\x21-\x7e]{1,128}$/;
const ACTION_RE = /^[a-z]{1,16}\.[a-z-]{1,32}$/;
const TEXT_MAX = 256;

function text(v: unknown, field: string, re?: RegExp): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > TEXT_MAX || (re && !re.test(v))) {
    throw new ValidationError(field, re ? `not a valid ${field.split('.').pop()}` : 'empty or too long');
  }
  return v;
}

function objectType(v: unknown, field: string): OperatorObjectType {
  if (!(OPERATOR_OBJECT_TYPES as readonly unknown[]).includes(v)) {
    throw new ValidationError(field, `must be one of ${OPERATOR_OBJECT_TYPES.join(', ')}`);
  }
  return v as OperatorObjectType;
}

function checkInput(e: OperatorAuditInput): void {
  if (e.organizationId !== null)
    checkInt(e.organizationId, 'operatorAudit.organizationId', 1, Number.MAX_SAFE_INTEGER);
  text(e.actor, 'operatorAudit.actor', ACTOR_RE);
  text(e.action, 'operatorAudit.action', ACTION_RE);
  objectType(e.objectType, 'operatorAudit.objectType');
  text(e.objectId, 'operatorAudit.objectId');
  if (e.objectName !== null) text(e.objectName, 'operatorAudit.objectName');
  text(e.source, 'operatorAudit.source');
}

function checkFilter(f: OperatorAuditFilter): void {
  if (f.since !== undefined) checkInt(f.since, 'filter.since', 0, Number.MAX_SAFE_INTEGER);
  if (f.until !== undefined) checkInt(f.until, 'filter.until', 0, Number.MAX_SAFE_INTEGER);
  if (f.actor !== undefined) text(f.actor, 'filter.actor');
  if (f.action !== undefined) text(f.action, 'filter.action');
  if (f.objectType !== undefined) objectType(f.objectType, 'filter.objectType');
  if (f.objectId !== undefined) text(f.objectId, 'filter.objectId');
  if (f.beforeId !== undefined) checkInt(f.beforeId, 'filter.beforeId', 1, Number.MAX_SAFE_INTEGER);
  if (f.limit !== undefined) checkInt(f.limit, 'filter.limit', 1, MAX_AUDIT_LIMIT + 1);
}

function rowToEntry(r: Row): OperatorAuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    organizationId: r.organization_id === null ? null : Number(r.organization_id),
    actor: String(r.actor),
    action: String(r.action),
    objectType: String(r.object_type) as OperatorObjectType,
    objectId: String(r.object_id),
    objectName: r.object_name === null ? null : String(r.object_name),
    source: String(r.source),
    detail: r.detail === null ? null : (JSON.parse(String(r.detail)) as Record<string, unknown>),
  };
}

export class SqlOperatorAudit implements OperatorAudit {
  constructor(
    private readonly driver: SqlDriver,
    private readonly clock: Clock,
  ) {}

  async append(e: OperatorAuditInput): Promise<OperatorAuditEntry> {
    checkInput(e);
    const detail = e.detail === null ? null : JSON.stringify(e.detail);
    if (detail !== null && detail.length > 4096)
      throw new ValidationError('operatorAudit.detail', 'too long');
    return this.driver.run('write', 'operator audit append', async (c) => {
      const r = await c.get(
        `INSERT INTO operator_audit (at, organization_id, actor, action, object_type, object_id,
                                     object_name, source, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          this.clock.now(),
          e.organizationId,
          e.actor,
          e.action,
          e.objectType,
          e.objectId,
          e.objectName,
          e.source,
          detail,
        ],
      );
      return rowToEntry(r!);
    });
  }

  async query(f: OperatorAuditFilter = {}, org?: number): Promise<OperatorAuditEntry[]> {
    checkFilter(f);
    if (org !== undefined) checkInt(org, 'organization', 1, Number.MAX_SAFE_INTEGER);
    const conds: [string, unknown][] = [];
    if (org !== undefined) conds.push(['organization_id = ?', org]);
    if (f.since !== undefined) conds.push(['at >= ?', f.since]);
    if (f.until !== undefined) conds.push(['at < ?', f.until]);
    if (f.actor !== undefined) conds.push(['actor = ?', f.actor]);
    if (f.action !== undefined) conds.push(['action = ?', f.action]);
    if (f.objectType !== undefined) conds.push(['object_type = ?', f.objectType]);
    if (f.objectId !== undefined) conds.push(['object_id = ?', f.objectId]);
    if (f.beforeId !== undefined) conds.push(['id < ?', f.beforeId]);
    const where = conds.length ? `WHERE ${conds.map(([c]) => c).join(' AND ')}` : '';
    const sql = `SELECT * FROM operator_audit ${where} ORDER BY id DESC LIMIT ?`;
    return this.driver.run('read', 'operator audit query', async (c) =>
      (await c.all(sql, [...conds.map(([, v]) => v), f.limit ?? 100])).map(rowToEntry),
    );
  }
}
