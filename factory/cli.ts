// The `xtt-factory` command line (issue 4): yargs program, global --json, one result per command.
// Every subcommand has --help. Handlers return a CommandResult: human text for operators and a JSON
// object for scripts (--json prints exactly one JSON document on stdout). Errors are thrown as typed
// errors; main.ts maps them to the exit-code table (exit-codes.ts) and prints them. Nothing here
// builds TPM transports itself: tpm subcommands receive an opener so tests and main.ts decide.
import yargs, { type Argv } from 'yargs';
import { registerBatchCommands } from './cli-batch.ts';
import { registerRootCommands } from './cli-root.ts';
import { registerTpmCommands } from './cli-tpm.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';

export interface CommandResult {
  /** Lines for a human operator (stdout). */
  human: string;
  /** The machine-readable result (stdout with --json). Never holds secret bytes. */
  json: Record<string, unknown>;
  /** Exit code other than 0 for a completed command that must still signal (e.g. preflight failed). */
  exitCode?: number;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface GlobalArgs {
  json: boolean;
}

/** Handlers call `done(result)`; the runner prints it once the parse finishes. */
export type Done = (r: CommandResult) => void;

export function buildCli(argv: string[], done: Done): Argv<GlobalArgs> {
  const y = yargs(argv)
    .scriptName('xtt-factory')
    .usage(
      '$0 <command> [options]\n\nBefore manufacture: batches (DAA groups), TPM provisioning, QR labels, roots of trust.',
    )
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (machine output)' })
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new FactoryError(FactoryErrorCode.USAGE, msg);
    });
  registerBatchCommands(y, done);
  registerRootCommands(y, done);
  registerTpmCommands(y, done);
  return y;
}

/** Runs the program; returns the result of the command, or undefined when only help was printed. */
export async function runCli(
  argv: string[],
  io: CliIo,
): Promise<{ result: CommandResult | undefined; json: boolean }> {
  let result: CommandResult | undefined;
  let helpText = '';
  let failure: unknown;
  const y = buildCli(argv, (r) => {
    result = r;
  });
  const parsed = (await y.parseAsync(argv, {}, (err, _argv, output) => {
    if (err) failure = err;
    helpText = output;
  })) as { json?: boolean };
  if (failure !== undefined) throw failure;
  const json = parsed.json === true;
  if (helpText) io.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
  if (result)
    io.stdout(
      json
        ? `${JSON.stringify(result.json, null, 2)}\n`
        : result.human.endsWith('\n')
          ? result.human
          : `${result.human}\n`,
    );
  return { result, json };
}
