// What the demo starts and how it is undone: child processes (stopped by pid, never by name),
// network namespaces and links (deleted by the names the demo gave them), the work directory.
// Undo runs in reverse order of creation, once, on success, on error and on SIGINT/SIGTERM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

/** A child process the demo started; its output goes to LOG in the work directory. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** stdout + stderr so far (bounded to the last 64 KiB). */
  output(): string;
  hasExited(): boolean;
  readonly exited: Promise<number | null>;
}

type Undo = { what: string; run: () => Promise<void> | void };

export class Resources {
  readonly #undo: Undo[] = [];
  #released: Promise<string[]> | undefined;

  /**
   * Registers an undo step; released in reverse order. After release (a signal arrived while a step
   * was still creating things) the step is undone at once.
   */
  onRelease(what: string, run: Undo['run']): void {
    if (this.#released) {
      void Promise.resolve()
        .then(run)
        .catch((e: unknown) => process.stderr.write(`cleanup: ${what}: ${(e as Error).message}\n`));
      return;
    }
    this.#undo.push({ what, run });
  }

  /**
   * Spawns a long-running child in its own process group (Ctrl-C reaches the demo only, which then
   * stops children in order) and registers SIGTERM-then-SIGKILL by pid.
   */
  spawn(name: string, cmd: string, args: string[], logDir: string, env?: NodeJS.ProcessEnv): Child {
    const logFile = join(logDir, `${name}.log`);
    const log = createWriteStream(logFile);
    const proc = spawn(cmd, args, {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    let out = '';
    const collect = (d: Buffer) => {
      log.write(d);
      out = (out + d.toString()).slice(-65536);
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => {
      proc.once('error', (e) => {
        out += `\n${e.message}`;
        resolve(null);
      });
      proc.once('exit', (code) => resolve(code));
    });
    if (proc.pid === undefined) throw new Error(`${cmd} could not be started`);
    const pid = proc.pid;
    const child: Child = {
      name,
      proc,
      pid,
      logFile,
      output: () => out,
      hasExited: () => proc.exitCode !== null || proc.signalCode !== null,
      exited,
    };
    this.onRelease(`stop ${name} (pid ${pid})`, async () => {
      await stopChild(child);
      log.end();
    });
    return child;
  }

  /** Removes a directory on release (unless `keep`). */
  removeDirOnRelease(dir: string, keep: boolean): void {
    this.onRelease(keep ? `keep ${dir}` : `remove ${dir}`, () => {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    });
  }

  /**
   * Undoes everything, newest first; every step runs even if one fails. Returns the failures.
   * Callers arriving while it runs wait for the same run.
   */
  release(): Promise<string[]> {
    this.#released ??= this.#releaseAll();
    return this.#released;
  }

  async #releaseAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const u of this.#undo.reverse()) {
      try {
        await u.run();
      } catch (e) {
        failures.push(`${u.what}: ${(e as Error).message}`);
      }
    }
    return failures;
  }
}

/** SIGTERM, wait up to 5 s, then SIGKILL; by pid only. */
export async function stopChild(c: Child, graceMs = 5000): Promise<void> {
  if (c.hasExited()) return;
  c.proc.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([c.exited, timer])) === 'timeout') {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr.trim() || stdout.trim() || err.message).split('\n').slice(-6).join('\n');
        reject(new Error(`${[cmd, ...args].join(' ')}: ${detail}`, { cause: err }));
      } else resolve(stdout);
    });
  });
}

/** node + tsx running a project entry point (TypeScript source, as `npx tsx FILE` would). */
export function tsxArgs(entry: string, args: string[]): string[] {
  return ['--import', 'tsx', join(REPO, entry), ...args];
}

/** Runs a project CLI with --json and parses its one JSON document. */
export async function runJson(entry: string, args: string[]): Promise<Record<string, unknown>> {
  const out = await run(process.execPath, tsxArgs(entry, [...args, '--json']));
  try {
    return JSON.parse(out) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${entry} ${args[0] ?? ''}: output is not JSON: ${out.slice(0, 200)}`, { cause: e });
  }
}

/** Polls `cond` every 100 ms; throws `what` on timeout or when `abort` says why to stop. */
export async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  abort?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    const why = abort?.();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
