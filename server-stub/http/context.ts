// What the management API's handlers share: the registry (with optional extras), the live-event hub,
// metrics and a logger. Built once by startManagementServer.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EventHub } from './events.ts';
import type { Registry } from '../registry/registry.ts';

export interface ApiContext {
  registry: Registry;
  events: EventHub;
  metrics: Metrics | undefined;
  logger: Logger | undefined;
  /** What CA registration codes are bound to: the XTT server certificate (one per deployment). */
  caVerificationIdentity: Uint8Array | undefined;
}
