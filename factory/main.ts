#!/usr/bin/env -S node --import=tsx
// Entry point of `xtt-factory` (issue 4): runs the CLI on the process arguments and maps errors to the
// documented exit codes (exit-codes.ts, factory/README.md). Errors go to stderr with their stable code;
// with --json the error is also printed as one JSON document on stdout. No stack traces for expected
// errors; unexpected ones (exit 1) print the stack, which never holds key bytes.
import { hideBin } from 'yargs/helpers';
import { ZtpError } from '../protocol/errors.ts';
import { runCli } from './cli.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { FactoryError } from './errors.ts';

async function main(): Promise<number> {
  const argv = hideBin(process.argv);
  const io = {
    stdout: (s: string) => process.stdout.write(s),
    stderr: (s: string) => process.stderr.write(s),
  };
  try {
    const { result } = await runCli(argv, io);
    return result?.exitCode ?? EXIT.OK;
  } catch (err) {
    const code = exitCodeFor(err);
    const wantsJson = argv.includes('--json');
    if (err instanceof ZtpError) {
      io.stderr(`xtt-factory: ${err.code}: ${err.message}\n`);
      if (code === EXIT.USAGE && !wantsJson) io.stderr('Run with --help for usage.\n');
      if (wantsJson) {
        const extra = err instanceof FactoryError ? { file: err.file, field: err.field } : {};
        io.stdout(
          `${JSON.stringify({ error: { code: err.code, message: err.message, exitCode: code, ...extra } }, null, 2)}\n`,
        );
      }
    } else {
      io.stderr(
        `xtt-factory: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      if (wantsJson)
        io.stdout(
          `${JSON.stringify({ error: { code: 'INTERNAL', message: String(err), exitCode: code } })}\n`,
        );
    }
    return code;
  }
}

process.exitCode = await main();
