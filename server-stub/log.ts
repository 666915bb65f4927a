// Logger port and its journald-friendly adapter: one line per event, "event key=value ...", with a
// syslog priority prefix ("<6>") that systemd-journald turns into the PRIORITY field when stderr is
// connected to the journal (sd-daemon(3) SD_INFO etc.). Values are public only: addresses, ports,
// hex gids/identities, reason codes; callers never pass secrets.

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function quote(v: string): string {
  return /^[A-Za-z0-9_.:/@[\]+-]*$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
}

/** "event k=v k=v" with values quoted when they hold spaces or odd characters, on one line. */
export function formatEvent(event: string, fields: LogFields = {}): string {
  const parts = [event];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${v === null ? '-' : quote(String(v))}`);
  }
  return parts.join(' ').replace(/[\r\n]/g, ' ');
}

/** Journald adapter: writes to a stream (stderr by default) with sd-daemon priority prefixes. */
export function journalLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return {
    info: (e, f) => write(`<6>${formatEvent(e, f)}\n`),
    warn: (e, f) => write(`<4>${formatEvent(e, f)}\n`),
    error: (e, f) => write(`<3>${formatEvent(e, f)}\n`),
  };
}

/** A logger that keeps lines in memory, for tests. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (e, f) => lines.push(`info ${formatEvent(e, f)}`),
    warn: (e, f) => lines.push(`warn ${formatEvent(e, f)}`),
    error: (e, f) => lines.push(`error ${formatEvent(e, f)}`),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Bounds the lines an attacker can make us write: at most `perSecond` warn lines a second, then one
 * "log.suppressed" line per second saying how many were dropped. info and error pass through.
 */
export function rateLimitedWarnings(inner: Logger, perSecond: number, now: () => number = Date.now): Logger {
  let windowStart = 0;
  let inWindow = 0;
  let dropped = 0;
  return {
    info: (e, f) => inner.info(e, f),
    error: (e, f) => inner.error(e, f),
    warn: (e, f) => {
      const t = now();
      if (t - windowStart >= 1000) {
        if (dropped > 0) inner.warn('log.suppressed', { count: dropped });
        windowStart = t;
        inWindow = 0;
        dropped = 0;
      }
      if (inWindow < perSecond) {
        inWindow++;
        inner.warn(e, f);
      } else {
        dropped++;
      }
    },
  };
}
