// Serial-console capture for QEMU guests (issue 10, qemu/): splits the guest's serial output into
// lines, stamps each with the time since power-on, appends them to a log file and lets callers
// wait for a marker with a per-step timeout. A wait fails early when the guest stops, and its
// error names the step, the marker, the log file and the last lines seen.
import { closeSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface ConsoleLine {
  /** Milliseconds since power-on (QEMU spawn). */
  readonly atMs: number;
  readonly text: string;
}

export class MarkerTimeoutError extends Error {
  readonly code = 'MARKER_TIMEOUT';
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'MarkerTimeoutError';
  }
}

interface Waiter {
  readonly match: (text: string) => boolean;
  readonly fatal: RegExp | undefined;
  readonly from: number;
  readonly resolve: (line: ConsoleLine) => void;
  readonly reject: (err: Error) => void;
}

// ANSI colour sequences from systemd's status output and the CRs of the serial line.
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\r/g;

export class ConsoleLog {
  readonly lines: ConsoleLine[] = [];
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private out: number | undefined;
  private readonly waiters = new Set<Waiter>();
  private endedWith: string | undefined;

  constructor(
    readonly path: string,
    private readonly startedAt: number,
  ) {
    // Synchronous appends: the log is complete on disk whenever a wait fails.
    this.out = openSync(path, 'a');
  }

  /** Feeds raw serial bytes. */
  push(chunk: Buffer): void {
    this.partial += this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      this.addLine(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
    }
  }

  /** Marks the end of output (the guest stopped): pending waits fail with `why`. */
  end(why: string): void {
    if (this.partial.length > 0) this.addLine(this.partial);
    this.partial = '';
    this.endedWith = why;
    for (const w of this.waiters) w.reject(new Error(why));
    this.waiters.clear();
    if (this.out !== undefined) closeSync(this.out);
    this.out = undefined;
  }

  /**
   * Resolves with the first line at index >= `from` matching `marker`; rejects after timeoutMs
   * (MarkerTimeoutError), when the guest stops first, or at a line matching `failOn`.
   */
  waitFor(
    marker: string | RegExp,
    opts: { step: string; timeoutMs: number; from?: number; failOn?: RegExp },
  ): Promise<ConsoleLine> {
    const match =
      typeof marker === 'string' ? (s: string) => s.includes(marker) : (s: string) => marker.test(s);
    const from = opts.from ?? 0;
    for (let i = from; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (line && match(line.text)) return Promise.resolve(line);
      if (line && opts.failOn?.test(line.text)) {
        return Promise.reject(new Error(`${opts.step}: console shows "${line.text}" (log: ${this.path})`));
      }
    }
    if (this.endedWith !== undefined) {
      return Promise.reject(new Error(`${opts.step}: ${this.endedWith} before ${String(marker)}`));
    }
    return new Promise<ConsoleLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const tail = this.lines
          .slice(-15)
          .map((l) => `  ${l.text}`)
          .join('\n');
        reject(
          new MarkerTimeoutError(
            opts.step,
            `${opts.step}: no console line matching ${String(marker)} within ${opts.timeoutMs} ms ` +
              `(log: ${this.path}); last lines:\n${tail}`,
          ),
        );
      }, opts.timeoutMs);
      const waiter: Waiter = {
        match,
        fatal: opts.failOn,
        from,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(new Error(`${opts.step}: ${err.message} before ${String(marker)} (log: ${this.path})`));
        },
      };
      this.waiters.add(waiter);
    });
  }

  private addLine(raw: string): void {
    const text = raw.replace(CONTROL, '');
    const line: ConsoleLine = { atMs: Date.now() - this.startedAt, text };
    const index = this.lines.length;
    this.lines.push(line);
    if (this.out !== undefined)
      writeSync(this.out, `[${(line.atMs / 1000).toFixed(3).padStart(9)}] ${text}\n`);
    for (const w of this.waiters) {
      if (index < w.from) continue;
      if (w.match(text)) {
        this.waiters.delete(w);
        w.resolve(line);
      } else if (w.fatal?.test(text)) {
        this.waiters.delete(w);
        w.reject(new Error(`console shows "${text}"`));
      }
    }
  }
}
