// What the management API's handlers share: the registry (with optional extras), the live-event hub,
// metrics and a logger. Built once by startManagementServer.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EventHub } from './events.ts';
import type { Clock, Registry } from '../registry/registry.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { Sessions } from './sessions.ts';

export interface ApiContext {
  registry: Registry;
  events: EventHub;
  metrics: Metrics | undefined;
  logger: Logger | undefined;
  /** What CA registration codes are bound to: the XTT server certificate (one per deployment). */
  caVerificationIdentity: Uint8Array | undefined;
  /** Sign-in: dashboard sessions, the failed-login throttle and the clock both use. */
  accounts?: { sessions: Sessions; throttle: LoginThrottle; clock: Clock };
}
