// Aggregates for the dashboard's overview, counted by the database (GROUP BY over indexed ranges) so
// the answer stays small and quick with 100 000 devices: devices provisioned per day, handshakes by
// outcome and reason, and handshakes by geolocation, since a time, in one organization or all.
import type { AuditOutcome } from './registry.ts';

export interface OverviewCounts {
  /** Devices first provisioned per UTC day (ms of the day's start), oldest first; days without none. */
  provisionedPerDay: { day: number; count: number }[];
  /** Handshakes (audit entries, XTT and PKI) per outcome and reason, most first. */
  handshakes: { outcome: AuditOutcome; reason: string; count: number }[];
  /** Handshakes per geolocation (null: not located), most first, at most `maxPlaces`. */
  places: { geolocation: string | null; count: number }[];
}

export interface OverviewStats {
  /** Counts since `since` (ms); `org` scopes like the registry's other methods. */
  counts(since: number, org?: number, maxPlaces?: number): Promise<OverviewCounts>;
}
