// Management operations the Registry port (../registry/registry.ts) does not carry yet: deleting an
// empty network and paging the audit by a cursor. A backend may implement them natively
// (PostgresRegistry does); otherwise the fallbacks here work through the port, with the limits said
// at each one.
import { equalBytes } from '../../protocol/util/bytes.ts';
import { MAX_AUDIT_LIMIT } from '../registry/validate.ts';
import type { AuditEntry, AuditOutcome, Network, Registry } from '../registry/registry.ts';
import { ApiError } from './errors.ts';

export interface AuditPageFilter {
  since?: number;
  until?: number;
  gid?: Uint8Array;
  pseudonym?: Uint8Array;
  outcome?: AuditOutcome;
  /** Only entries with id below this (the previous page's last id). */
  beforeId?: number;
  limit: number;
}

export interface RegistryExtensions {
  /** Delete a network no batch refers to; NOT_FOUND / CONFLICT otherwise. */
  deleteNetwork(ref: string | number): Promise<Network>;
  /** Newest first, filtered, at most `limit`. */
  queryAuditPage(filter: AuditPageFilter): Promise<AuditEntry[]>;
}

export type ManagementRegistry = Registry & Partial<RegistryExtensions>;

export async function deleteNetwork(r: ManagementRegistry, ref: string | number): Promise<Network> {
  if (r.deleteNetwork) return r.deleteNetwork(ref);
  throw new ApiError('NOT_IMPLEMENTED', 'this registry backend cannot delete networks');
}

/**
 * Fallback paging over Registry.queryAudit, which knows since/gid/outcome/limit: the newest
 * MAX_AUDIT_LIMIT matching entries are fetched and cut in memory. Pages past that window come back
 * empty with this fallback; backends with queryAuditPage have no such window.
 */
export async function queryAuditPage(r: ManagementRegistry, f: AuditPageFilter): Promise<AuditEntry[]> {
  if (r.queryAuditPage) return r.queryAuditPage(f);
  const isNarrow = f.until === undefined && f.pseudonym === undefined && f.beforeId === undefined;
  const rows = await r.queryAudit({
    ...(f.since !== undefined ? { since: f.since } : {}),
    ...(f.gid ? { gid: f.gid } : {}),
    ...(f.outcome ? { outcome: f.outcome } : {}),
    limit: isNarrow ? f.limit : MAX_AUDIT_LIMIT,
  });
  return rows
    .filter(
      (e) =>
        (f.until === undefined || e.at < f.until) &&
        (f.beforeId === undefined || e.id < f.beforeId) &&
        (f.pseudonym === undefined || (e.pseudonym !== null && equalBytes(e.pseudonym, f.pseudonym))),
    )
    .slice(0, f.limit);
}
