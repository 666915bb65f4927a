// Runs the user-built reference `xtt` tool (xaptum/xtt 0.12.0, tool/ directory) as a child process
// for the interop harness: locates bin/xtt and its libraries under --reference-dir, detects whether
// it was built with USE_TPM=ON, runs one-shot commands (genkeypair, genrootcert, genservercert,
// runclient) and the long-running `runserver`, and parses what the tool prints (its identity and
// pseudonym lines, `%#02X`-formatted byte lists). Nothing here builds or contains the reference.
// The tool's stdout is a pipe, so printf output is block-buffered: every run goes through
// `stdbuf -oL -eL` (coreutils) so lines arrive as they are printed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ReferenceBuild {
  /** Absolute path of bin/xtt. */
  xtt: string;
  /** Environment with LD_LIBRARY_PATH pointing at the build's libraries. */
  env: NodeJS.ProcessEnv;
  /** True when `runclient` offers TPM mode (-m), i.e. the build used USE_TPM=ON. */
  hasTpm: boolean;
  /** DIR/bin/ecdaa (xaptum/ecdaa's tool), when installed in the same prefix. */
  ecdaa?: string;
}

export class HarnessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

/** Finds DIR/bin/xtt; libraries are taken from DIR/lib and DIR/lib64 (plus any LD_LIBRARY_PATH). */
export function locateReference(dir: string): ReferenceBuild {
  const xtt = join(dir, 'bin', 'xtt');
  if (!existsSync(xtt)) throw new HarnessError(`${xtt} not found: --reference-dir must be an install prefix`);
  const libs = [join(dir, 'lib'), join(dir, 'lib64')].filter((p) => existsSync(p));
  const inherited = process.env['LD_LIBRARY_PATH'];
  const env = { ...process.env, LD_LIBRARY_PATH: [...libs, ...(inherited ? [inherited] : [])].join(':') };
  const help = spawnSync(xtt, ['runclient', '-h'], { env, encoding: 'utf8', timeout: 10_000 });
  if (help.error) throw new HarnessError(`cannot run ${xtt}: ${help.error.message}`);
  const text = `${help.stdout}${help.stderr}`;
  if (!text.includes('Run XTT client')) {
    throw new HarnessError(
      `${xtt} runclient -h did not print its usage (missing libraries?): ${text.trim()}`,
    );
  }
  const ecdaa = join(dir, 'bin', 'ecdaa');
  return { xtt, env, hasTpm: text.includes('--tpmuse'), ...(existsSync(ecdaa) ? { ecdaa } : {}) };
}

export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `xtt ARGS` (or another of the build's programs, `bin`) in `cwd` to completion (killed after `timeoutMs`). */
export function runTool(
  ref: ReferenceBuild,
  args: readonly string[],
  cwd: string,
  timeoutMs = 60_000,
  bin = ref.xtt,
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('stdbuf', ['-oL', '-eL', bin, ...args], { cwd, env: ref.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HarnessError(`cannot start xtt ${args[0] ?? ''}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a one-shot tool command and throws with its output unless it exits 0. */
export async function runToolOk(
  ref: ReferenceBuild,
  args: readonly string[],
  cwd: string,
  bin = ref.xtt,
): Promise<ToolRun> {
  const r = await runTool(ref, args, cwd, 60_000, bin);
  if (r.code !== 0) {
    throw new HarnessError(`${bin} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stdout}${r.stderr}`);
  }
  return r;
}

/** A running `xtt runserver`; its output accumulates in `output()`. */
export class ReferenceServer {
  private out = '';
  private readonly waiters: { re: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];
  private exitedWith: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    const onData = (d: Buffer): void => {
      this.out += d.toString('latin1');
      for (const w of [...this.waiters]) {
        const m = w.re.exec(this.out.slice(w.from));
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => (this.exitedWith = String(code ?? signal)));
  }

  /** Starts `xtt runserver -p PORT ...` in `cwd` (which holds the server's files) and waits until it listens. */
  static async start(ref: ReferenceBuild, cwd: string, port: number, extra: readonly string[] = []) {
    const child = spawn('stdbuf', ['-oL', '-eL', ref.xtt, 'runserver', '-p', String(port), ...extra], {
      cwd,
      env: ref.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ReferenceServer(child);
    await server.waitFor(/Starting server on port \d+/, 0, 15_000);
    return server;
  }

  output(): string {
    return this.out;
  }

  /** Current output length: pass it to waitFor to match only what is printed from now on. */
  mark(): number {
    return this.out.length;
  }

  waitFor(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray> {
    const m = re.exec(this.out.slice(from));
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (x: RegExpExecArray) => (clearTimeout(timer), resolve(x)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        const state = this.exitedWith === undefined ? 'running' : `exited ${this.exitedWith}`;
        reject(new HarnessError(`xtt runserver (${state}) did not print ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async stop(): Promise<void> {
    if (this.exitedWith !== undefined || this.child.pid === undefined) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Parses the tool's `{0X12, 0, 0XAB}` byte lists (printf "%#02X": zero prints as 00, no 0X prefix). */
export function parseByteList(text: string): Uint8Array {
  const body = /^\{([^}]*)\}$/.exec(text.trim());
  if (!body) throw new HarnessError(`not a byte list: ${text.slice(0, 40)}`);
  const items = body[1]!.split(',').map((s) => s.trim());
  return Uint8Array.from(
    items.map((s) => {
      if (!/^(00?|0X[0-9A-F]{1,2})$/.test(s)) throw new HarnessError(`bad byte ${s} in byte list`);
      return Number.parseInt(s, 16);
    }),
  );
}

/** Finds `LABEL {..}` in tool output, after `from`, and returns the bytes (last match wins). */
export function findByteList(output: string, label: string, from = 0): Uint8Array | undefined {
  let found: string | undefined;
  for (const line of output.slice(from).split('\n')) {
    const i = line.indexOf(label);
    if (i >= 0) found = line.slice(i + label.length).trim();
  }
  return found === undefined ? undefined : parseByteList(found);
}

/** Parses the tool's identity text `XXXX:XXXX:...` (8 groups of 4 hex digits, as in client_id.txt). */
export function parseIdText(text: string): Uint8Array {
  const t = text.replace(/\0+$/, '').trim();
  if (!/^[0-9A-Fa-f]{4}(:[0-9A-Fa-f]{4}){7}$/.test(t)) throw new HarnessError(`not an id text: ${t}`);
  return Uint8Array.from(Buffer.from(t.replace(/:/g, ''), 'hex'));
}
