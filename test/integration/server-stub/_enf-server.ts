// `enf-server start` as a real process for the server-stub suites: started on a free port on
// 127.0.0.1 (`--port 0`), resolved once it logs `server.listening` with the port it got (and, when
// `extra` asks for the management API with `--http-port`, `http.listening` with its port); rejected
// with its stderr if it exits first. The caller stops it (SIGTERM by the process) and may read
// everything it logged so far.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

export interface EnfServerProcess {
  proc: ChildProcess;
  port: number;
  /** The management API's port, when `extra` has `--http-port`. */
  httpPort?: number;
  /** What it wrote to stderr so far (its log), or the last half MiB with `isLogBounded`. */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The arguments for a server with its management API on a free loopback port (one DAA worker),
 * authenticating bearer tokens from `tokenFile`; `httpPort` of the result is the API's port.
 */
export function managementArgs(tokenFile: string): string[] {
  return ['--workers', '1', '--http-port', '0', '--http-bind', '127.0.0.1', '--api-token-file', tokenFile];
}

export function startEnfServer(
  dir: string,
  extra: readonly string[] = [],
  opts: { isLogBounded?: boolean } = {},
): Promise<EnfServerProcess> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'server-stub/main.ts'),
      '--dir',
      dir,
      'start',
      '--bind',
      '127.0.0.1',
      '--port',
      '0',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO },
  );
  const hasHttp = extra.includes('--http-port');
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    proc.on('exit', (code, signal) => done({ code, signal })),
  );
  return new Promise((ok, fail) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (opts.isLogBounded && err.length > 1 << 20) err = err.slice(-(1 << 19));
      const m = /server\.listening address=\S+ port=(\d+)/.exec(err);
      const h = /http\.listening host=\S+ port=(\d+)/.exec(err);
      if (m && (h || !hasHttp))
        ok({ proc, port: Number(m[1]), ...(h ? { httpPort: Number(h[1]) } : {}), stderr: () => err, exited });
    });
    void exited.then(({ code }) => fail(new Error(`enf-server exited ${code}: ${err}`)));
  });
}
