// The Logger port and the stderr logger main.ts uses. Under systemd, stderr goes to the journal,
// and the "<N>" prefix (sd-daemon(3) SD_ERR/SD_WARNING/SD_INFO/SD_DEBUG) sets each line's priority.
// Messages carry public facts only (identity, interface, server, error codes), never key bytes.

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function stderrLogger(opts: { journal: boolean; verbose: boolean }): Logger {
  const line = (prio: number, tag: string, msg: string) => {
    process.stderr.write(opts.journal ? `<${prio}>${msg}\n` : `xtt-agent: ${tag}: ${msg}\n`);
  };
  return {
    debug: (m) => {
      if (opts.verbose) line(7, 'debug', m);
    },
    info: (m) => line(6, 'info', m),
    warn: (m) => line(4, 'warning', m),
    error: (m) => line(3, 'error', m),
  };
}

/** Logger that drops everything (for `status` and tests that do not look at logs). */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
