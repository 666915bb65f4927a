#!/usr/bin/env -S node --import=tsx
// Entry point of `enf-server`: runs the command line (cli/cli.ts) with the real XTT endpoint and exits
// with the documented exit code (exit-codes.ts). The process exits once the command is done: a server
// that failed or was stopped during start-up has released what it opened, and a registry connection
// still being attempted (PostgreSQL) must not keep it alive.
import { runCli } from './cli/cli.ts';
import { startServer } from './start.ts';

process.exitCode = await runCli(
  process.argv.slice(2),
  { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
  { start: (o) => startServer(o) },
);
process.exit();
