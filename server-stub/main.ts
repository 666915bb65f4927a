#!/usr/bin/env -S node --import=tsx
// Entry point of `enf-server`: runs the command line with the real adapters and maps typed errors to
// the exit-code table (exit-codes.ts). Errors print their message (never secret bytes); with --json
// they print one JSON object {"error": {code, message, field?}} on stderr. The process exits once the
// command is done: a server that failed or was stopped during start-up has released what it opened,
// and a registry connection still being attempted (PostgreSQL) must not keep it alive.
import { ZtpError } from '../protocol/errors.ts';
import { runCli } from './cli.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { startServer } from './start.ts';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const io = { stdout: (t: string) => process.stdout.write(t), stderr: (t: string) => process.stderr.write(t) };

try {
  await runCli(argv, io, { start: (o) => startServer(o) });
  process.exitCode = EXIT.OK;
} catch (err) {
  const code = exitCodeFor(err);
  const field = (err as { field?: unknown }).field;
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const body = {
      code: err instanceof ZtpError ? err.code : 'INTERNAL',
      message,
      ...(typeof field === 'string' ? { field } : {}),
    };
    io.stderr(`${JSON.stringify({ error: body })}\n`);
  } else {
    io.stderr(`enf-server: ${message}\n`);
    if (code === EXIT.INTERNAL && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  }
  process.exitCode = code;
}
process.exit();
