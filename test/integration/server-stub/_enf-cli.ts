// The real `enf-server` command line for the server-stub suites: one run of
// `node --import tsx server-stub/main.ts --json ARGS`, its exit code and output, and its one JSON
// document (stdout on success, the error line on stderr otherwise; undefined when there is none).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../server-stub/main.ts', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** process.env without ENF_SERVER_*: a run sees only the environment its test gives it. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ENF_SERVER_')));
}

/** Runs `enf-server --json ...args` with `env` (default: the test's environment, ENF_SERVER_DIR empty). */
export function runEnfCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = { ...process.env, ENF_SERVER_DIR: '' },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, '--json', ...args],
      { env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        let json: unknown;
        try {
          json = JSON.parse(code === 0 ? stdout : stderr);
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}
