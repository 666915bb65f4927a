// The overview's aggregates (overview.ts) in SQL both databases run alike: integer division of
// bigint milliseconds by the day's length, GROUP BY, and the organization conditions of
// sql-registry.ts (devices and audit entries through their batch; PKI entries through their CA).
import type { SqlDriver } from './driver.ts';
import type { OverviewCounts, OverviewStats } from './overview.ts';
import type { AuditOutcome } from './registry.ts';
import { checkInt } from './validate.ts';

const DAY_MS = 86_400_000;
const IN_ORG_BATCHES = 'gid IN (SELECT gid FROM batches WHERE organization_id = ?)';
const AUDIT_IN_ORG = `(${IN_ORG_BATCHES} OR ca_id IN (SELECT c.id FROM cas c JOIN networks n ON n.id = c.network_id
                                                       WHERE n.organization_id = ?))`;

export class SqlOverviewStats implements OverviewStats {
  constructor(private readonly driver: SqlDriver) {}

  async counts(since: number, org?: number, maxPlaces = 20): Promise<OverviewCounts> {
    checkInt(since, 'since', 0, Number.MAX_SAFE_INTEGER);
    if (org !== undefined) checkInt(org, 'organization', 1, Number.MAX_SAFE_INTEGER);
    checkInt(maxPlaces, 'maxPlaces', 1, 1000);
    const dev = org === undefined ? { sql: '', args: [] } : { sql: ` AND ${IN_ORG_BATCHES}`, args: [org] };
    const aud = org === undefined ? { sql: '', args: [] } : { sql: ` AND ${AUDIT_IN_ORG}`, args: [org, org] };
    return this.driver.run('read', 'overview', async (c) => {
      const days = await c.all(
        `SELECT first_handshake_at / ${DAY_MS} AS day, COUNT(*) AS n FROM devices
         WHERE first_handshake_at >= ?${dev.sql} GROUP BY first_handshake_at / ${DAY_MS} ORDER BY day`,
        [since, ...dev.args],
      );
      const outcomes = await c.all(
        `SELECT outcome, reason, COUNT(*) AS n FROM audit WHERE at >= ?${aud.sql}
         GROUP BY outcome, reason ORDER BY n DESC, outcome, reason`,
        [since, ...aud.args],
      );
      const places = await c.all(
        `SELECT geolocation, COUNT(*) AS n FROM audit WHERE at >= ?${aud.sql}
         GROUP BY geolocation ORDER BY n DESC, geolocation LIMIT ?`,
        [since, ...aud.args, maxPlaces],
      );
      return {
        provisionedPerDay: days.map((r) => ({ day: Number(r.day) * DAY_MS, count: Number(r.n) })),
        handshakes: outcomes.map((r) => ({
          outcome: String(r.outcome) as AuditOutcome,
          reason: String(r.reason),
          count: Number(r.n),
        })),
        places: places.map((r) => ({
          geolocation: r.geolocation === null ? null : String(r.geolocation),
          count: Number(r.n),
        })),
      };
    });
  }
}
