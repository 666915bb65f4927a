// The `xtt-factory` command line: its commands (batches, roots of trust, TPM provisioning) on the
// shared runtime (common/cli.ts: --help, --version, --json, the result and error format, exit codes
// at the end of every --help). Handlers return a CommandResult; errors are thrown typed and mapped by
// exit-codes.ts. Nothing here builds TPM transports itself: tpm subcommands open what --tpm names.
import type { Argv } from 'yargs';
import { runProgram, type CliIo, type CliProgram, type GlobalArgs } from '../common/cli.ts';
import { registerBatchCommands } from './cli-batch.ts';
import { registerRootCommands } from './cli-root.ts';
import { registerTpmCommands } from './cli-tpm.ts';
import { EXIT_TABLE, exitCodeFor } from './exit-codes.ts';

export type { CliIo, CommandResult, Done } from '../common/cli.ts';

export const FACTORY_PROGRAM: CliProgram = {
  name: 'xtt-factory',
  description: 'Before manufacture: batches (DAA groups), TPM provisioning, QR labels, roots of trust.',
  readme: 'factory/README.md',
  exitTable: EXIT_TABLE,
  exitCodeFor,
  register(y: Argv<GlobalArgs>, done) {
    registerBatchCommands(y, done);
    registerRootCommands(y, done);
    registerTpmCommands(y, done);
  },
};

/** Runs the program on its arguments; returns the exit code. */
export function runCli(argv: string[], io: CliIo): Promise<number> {
  return runProgram(FACTORY_PROGRAM, argv, io);
}
