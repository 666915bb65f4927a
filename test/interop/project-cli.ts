// This project's own programs as the interop harness runs them: `enf-server` (server-stub/main.ts)
// and `xtt-factory` (factory/main.ts), each a real child process started through tsx from the
// repository root, exactly as an operator would (`npx tsx server-stub/main.ts ...`). Commands run
// with --json and their one JSON document is parsed; `enf-server start` is kept running until stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from './reference-tool.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ProgramName = 'enf-server' | 'xtt-factory';
const ENTRY: Record<ProgramName, string> = {
  'enf-server': 'server-stub/main.ts',
  'xtt-factory': 'factory/main.ts',
};

function spawnProgram(program: ProgramName, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY[program], ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `program ARGS --json` to completion and returns its JSON document; throws on a non-zero exit. */
export function runJson(
  program: ProgramName,
  args: readonly string[],
  timeoutMs = 120_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawnProgram(program, [...args, '--json']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => reject(new HarnessError(`cannot start ${program}`, { cause: e })));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new HarnessError(`${program} ${args.join(' ')} exited ${code}: ${out}${err}`.trim()));
        return;
      }
      try {
        resolve(JSON.parse(out));
      } catch (e) {
        reject(new HarnessError(`${program} ${args.join(' ')} printed no JSON: ${out}`, { cause: e }));
      }
    });
  });
}

/** A running `enf-server --dir DIR start` on 127.0.0.1 (or `bind`) and a kernel-chosen port. */
export class EnfServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly log: () => string,
    private readonly exited: Promise<number | null>,
  ) {}

  static start(dir: string, bind = '127.0.0.1'): Promise<EnfServer> {
    const child = spawnProgram('enf-server', [
      '--dir',
      dir,
      'start',
      '--bind',
      bind,
      '--port',
      '0',
      '--workers',
      '1',
    ]);
    let log = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new HarnessError(`enf-server start did not listen within 30 s: ${log}`));
      }, 30_000);
      const onData = (d: Buffer): void => {
        log += d.toString();
        const m = /server\.listening address=\S+ port=(\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(new EnfServer(child, Number(m[1]), () => log, exited));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new HarnessError(`enf-server start exited ${code}: ${log}`));
      });
    });
  }

  /** Everything the server logged so far (journald-style lines, no secrets). */
  output(): string {
    return this.log();
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const code = await this.exited;
    if (code !== 0) throw new HarnessError(`enf-server exited ${code} on SIGTERM: ${this.log()}`);
  }
}
