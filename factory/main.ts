#!/usr/bin/env -S node --import=tsx
// Entry point of `xtt-factory`: runs the command line (cli.ts) on the process arguments with the real
// standard streams and exits with the documented exit code (exit-codes.ts, factory/README.md).
import { hideBin } from 'yargs/helpers';
import { runCli } from './cli.ts';

process.exitCode = await runCli(hideBin(process.argv), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
