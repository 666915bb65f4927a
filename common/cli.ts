// The command-line runtime of xtt-factory, enf-server and xtt-agent (yargs 18). Each program brings
// its commands and its exit-code table; this module owns what they share:
// - the yargs setup: strict parsing, --help/-h and --version everywhere, a global --json, and every
//   --help ending with the program's exit codes (generated from its table) and its README;
// - the result format: handlers call `done({ human, json })`; the runtime prints the human text, or
//   with --json exactly one JSON document, on stdout;
// - the error format: a thrown error ends the program with the exit code its table maps it to, and
//   prints `PROG: CODE: message` on stderr, or with --json one line on stderr:
//     {"error":{"code":"NOT_FOUND","message":"...","exitCode":3,"field":"batch"}}
//   (`field` and `file` only when the error names one; `code` is the error's stable code, INTERNAL
//   for an unexpected error). The management API answers errors with the same {"error":{...}}.
// - the stack-trace rule: only an unexpected error (exit 1) prints its stack, and only without
//   --json. Expected errors are explained by their message; stacks and messages never hold key bytes.
import yargs, { type Argv } from 'yargs';
import { ZtpError } from '../protocol/errors.ts';

/** The version every program reports (package.json "version"; a unit test keeps them equal). */
export const VERSION = '0.1.0';

/** One documented exit code: its number and the one line --help and the README give for it. */
export interface ExitCodeEntry {
  readonly code: number;
  readonly meaning: string;
}
export type ExitTable = Readonly<Record<string, ExitCodeEntry>>;

/** The code numbers of a table by name ({ OK: 0, USAGE: 2, ... }), for code that returns them. */
export function exitCodes<T extends ExitTable>(table: T): { readonly [K in keyof T]: T[K]['code'] } {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.code])) as {
    [K in keyof T]: T[K]['code'];
  };
}

/** Exit code 2 in every program: the command line itself is malformed. */
export const EXIT_USAGE = 2;
/** Exit code 1 in every program: an unexpected failure (a bug). */
export const EXIT_INTERNAL = 1;

/** The command line is malformed: unknown command or option, missing or conflicting options, a value yargs cannot read as its type. */
export class UsageError extends ZtpError {
  /** The option at fault, when one is (without dashes). */
  readonly field: string | undefined;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super('USAGE', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
}

/**
 * The exit-code rule every program follows (each README's "Exit codes"): usage (2) is a malformed
 * command line; "not found" is a named object (network, batch, device, a file that must exist) that
 * does not exist; "bad input" is a value or a file's content that is wrong. The two classes below
 * carry the last two for option values and files; each program's table gives them its number.
 */

/** A value given on the command line is wrong (out of range, not an address, ...): bad input. */
export class BadValueError extends ZtpError {
  /** The option, without dashes (e.g. `port`). */
  readonly field: string;
  constructor(option: string, reason: string, options?: { cause?: unknown }) {
    super('BAD_VALUE', `--${option}: ${reason}`, options);
    this.field = option;
  }
}

/** A file or directory named on the command line does not exist: not found. */
export class MissingFileError extends ZtpError {
  readonly file: string;
  constructor(file: string, what: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', `${file}: no such ${what}`, options);
    this.file = file;
  }
}

/** Whether a failed fs call failed because the path does not exist. */
export function isMissingPath(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export interface CommandResult {
  /** Text for a person (stdout). */
  human: string;
  /** The same result for scripts (stdout with --json). Never holds secret bytes. */
  json: unknown;
  /** An exit code other than 0 for a command that completed but must signal (e.g. preflight failed). */
  exitCode?: number;
}

/** Handlers call `done(result)`; the runtime prints it once the parse has finished. */
export type Done = (r: CommandResult) => void;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface GlobalArgs {
  json: boolean;
}

export interface CliProgram {
  /** The command's name (package.json "bin"). */
  name: string;
  /** One paragraph under the usage line of the top-level --help. */
  description: string;
  /** The usage line; default `$0 <command> [options]`. */
  usage?: string;
  /** Whether a command must be named (false when the program has a default command). */
  requiresCommand?: boolean;
  /** Where the full documentation is, relative to the repository (e.g. `server-stub/README.md`). */
  readme: string;
  /** Lines printed between the exit codes and the README pointer (e.g. where settings come from). */
  epilogNote?: string;
  exitTable: ExitTable;
  exitCodeFor(err: unknown): number;
  /** Adds the program's global options and commands. */
  register(y: Argv<GlobalArgs>, done: Done): void;
}

/** The end of every --help of a program: its exit codes, from its table, and its README. */
export function exitCodeEpilog(p: Pick<CliProgram, 'exitTable' | 'readme' | 'epilogNote'>): string {
  const entries = Object.values(p.exitTable).sort((a, b) => a.code - b.code);
  const width = String(Math.max(...entries.map((e) => e.code))).length;
  const lines = entries.map((e) => `  ${String(e.code).padStart(width)}  ${e.meaning}`);
  return [
    'Exit codes:',
    ...lines,
    ...(p.epilogNote ? [p.epilogNote] : []),
    `Documentation: ${p.readme}`,
  ].join('\n');
}

/**
 * Whether the command line asks for JSON output, before yargs has parsed it (a parse failure is
 * reported in the form asked for). Words after `--` are arguments, not options.
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const opts = end < 0 ? argv : argv.slice(0, end);
  let json = false;
  for (const a of opts) {
    if (a === '--json' || a === '--json=true') json = true;
    else if (a === '--no-json' || a === '--json=false') json = false;
  }
  return json;
}

/** The yargs parser of a program, with the shared setup; handlers report through `done`. */
export function buildProgram(p: CliProgram, argv: string[], done: Done): Argv<GlobalArgs> {
  const y = yargs(argv)
    .scriptName(p.name)
    .usage(`${p.usage ?? '$0 <command> [options]'}\n\n${p.description}`)
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print the result as one JSON document on stdout; an error as one JSON line on stderr',
    })
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    }) as unknown as Argv<GlobalArgs>;
  if (p.requiresCommand !== false) y.demandCommand(1, 'name a command (see --help)');
  p.register(y, done);
  return y;
}

/** The JSON error document (one line on stderr with --json). */
export function errorDocument(err: unknown, exitCode: number): { error: Record<string, unknown> } {
  const e = err as { field?: unknown; file?: unknown };
  return {
    error: {
      code: err instanceof ZtpError ? err.code : 'INTERNAL',
      message: err instanceof Error ? err.message : String(err),
      exitCode,
      ...(typeof e?.field === 'string' ? { field: e.field } : {}),
      ...(typeof e?.file === 'string' ? { file: e.file } : {}),
    },
  };
}

/** Prints a failed command's error in the program's format; returns its exit code. */
export function reportError(p: CliProgram, err: unknown, json: boolean, io: CliIo): number {
  const exitCode = p.exitCodeFor(err);
  if (json) {
    io.stderr(`${JSON.stringify(errorDocument(err, exitCode))}\n`);
    return exitCode;
  }
  const { code, message } = errorDocument(err, exitCode).error as { code: string; message: string };
  io.stderr(`${p.name}: ${code}: ${message}\n`);
  if (exitCode === EXIT_USAGE) io.stderr(`Run '${p.name} --help' for usage.\n`);
  if (exitCode === EXIT_INTERNAL && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  return exitCode;
}

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

/**
 * Runs a program on its arguments: prints help, the version, the result or the error, and returns
 * the exit code (the caller sets process.exitCode). Never throws.
 */
export async function runProgram(p: CliProgram, argv: string[], io: CliIo): Promise<number> {
  const json = wantsJson(argv);
  let result: CommandResult | undefined;
  let output = '';
  try {
    let failure: unknown;
    const y = buildProgram(p, argv, (r) => {
      result = r;
    });
    await y.parseAsync(argv, {}, (err, parsed, out) => {
      if (err) failure = err;
      // yargs resets a command's epilog when it runs the command's builder, so the exit codes are
      // added here, to the help of the program and of every command alike.
      output = out && parsed.help === true ? `${out.trimEnd()}\n\n${exitCodeEpilog(p)}` : out;
    });
    if (failure !== undefined) throw failure;
  } catch (err) {
    return reportError(p, err, json, io);
  }
  if (output) io.stdout(withNewline(output));
  if (!result) return 0;
  const r: CommandResult = result;
  if (json) io.stdout(`${JSON.stringify(r.json, null, 2)}\n`);
  else if (r.human !== '') io.stdout(withNewline(r.human));
  return r.exitCode ?? 0;
}
