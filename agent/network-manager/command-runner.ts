// The CommandRunner port: runs a manager's own client (networkctl, nmcli, systemctl) and returns
// its exit status and output. execCommandRunner is the real adapter (main.ts); tests use a fake
// that records the argument lists and answers from a script.
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit status; 127 when the program does not exist. */
  status: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(file: string, args: readonly string[]): Promise<CommandResult>;
}

/** Bounds one command: generous, since a manager may be busy starting on a loaded device. */
const COMMAND_TIMEOUT_MS = 120_000;

export const execCommandRunner: CommandRunner = {
  run: (file, args) =>
    new Promise((resolve) => {
      execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve({ status: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: unknown };
        if (e.code === 'ENOENT') return resolve({ status: 127, stdout: '', stderr: `${file}: not found` });
        const status = typeof e.code === 'number' ? e.code : 1;
        resolve({ status, stdout, stderr: stderr || e.message });
      });
    }),
};
