// The `xtt-agent` command line: `run` (the default; what systemd starts), `status` and `handoff` on
// the shared runtime (common/cli.ts: --help, --version, --json, the result and error format, exit
// codes at the end of every --help). Every setting of agent/config.ts is also a flag (kebab case of
// its dotted name). The handlers are injected, so tests drive the parser without the real adapters;
// main.ts passes the real ones. Handlers return a CommandResult or throw typed errors
// (agent/exit-codes.ts maps them).
import type { Argv } from 'yargs';
import {
  runProgram,
  type CliIo,
  type CliProgram,
  type CommandResult,
  type GlobalArgs,
} from '../common/cli.ts';
import { DEFAULT_CONFIG_PATH, SETTINGS, flagName } from './config.ts';
import { EXIT_TABLE, exitCodeFor } from './exit-codes.ts';

export { VERSION } from '../common/cli.ts';

export interface CommonArgs {
  /** Path of the config file (--config). */
  config: string | undefined;
  /** Flag values by dotted setting key, only those given. */
  settings: Record<string, unknown>;
  verbose: boolean;
  /** --json: the handler's logs stay on stderr; the runtime prints the result. */
  json: boolean;
}

export interface CliHandlers {
  run(a: CommonArgs): Promise<CommandResult>;
  status(a: CommonArgs): Promise<CommandResult>;
  handoff(a: CommonArgs & { remove: boolean }): Promise<CommandResult>;
}

function settingOptions(): Record<
  string,
  { type: 'string' | 'number' | 'boolean'; describe: string; group: string }
> {
  const out: Record<string, { type: 'string' | 'number' | 'boolean'; describe: string; group: string }> = {};
  for (const s of SETTINGS) {
    const type =
      s.kind === 'string' || s.kind === 'enum' ? 'string' : s.kind === 'bool' ? 'boolean' : 'number';
    out[flagName(s.key)] = { type, describe: `setting ${s.key}`, group: 'Settings:' };
  }
  return out;
}

function collect(argv: Record<string, unknown>): CommonArgs {
  const settings: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const v = argv[flagName(s.key)];
    if (v !== undefined) settings[s.key] = v;
  }
  return {
    config: typeof argv.config === 'string' ? argv.config : undefined,
    settings,
    verbose: argv.verbose === true,
    json: argv.json === true,
  };
}

export function agentProgram(h: CliHandlers): CliProgram {
  return {
    name: 'xtt-agent',
    usage: '$0 [command] [options]',
    description: 'Zero-touch identity provisioning agent: XTT with the TPM, then IPv6 via netlink.',
    requiresCommand: false,
    readme: 'agent/README.md',
    epilogNote: `Configuration: ${DEFAULT_CONFIG_PATH} < XTT_AGENT_* environment < flags.`,
    exitTable: EXIT_TABLE,
    exitCodeFor,
    register(y: Argv<GlobalArgs>, done) {
      y.option('config', { type: 'string', describe: `config file (default ${DEFAULT_CONFIG_PATH})` })
        .option('verbose', { type: 'boolean', default: false, describe: 'debug logging' })
        .options(settingOptions())
        // the PKI method's short spellings: xtt-agent run --method pki --cert FILE [--key FILE | --tpm ...]
        .alias('cert', 'pki-cert')
        .alias('key', 'pki-key')
        .alias('server-ca', 'pki-server-ca')
        .command(
          ['run', '$0'],
          'provision on first boot, then configure the identity address (systemd runs this)',
          (c) => c,
          async (argv) => done(await h.run(collect(argv))),
        )
        .command(
          'status',
          'print identity, interface, server and provisioning time',
          (c) => c,
          async (argv) => done(await h.status(collect(argv))),
        )
        .command(
          'handoff',
          'hand the stored identity address to the network manager (networkd, NetworkManager); the unit runs this as root after READY=1',
          (c) =>
            c.option('remove', {
              type: 'boolean',
              default: false,
              describe: 'take the address back out of the manager (factory reset)',
            }),
          async (argv) => done(await h.handoff({ ...collect(argv), remove: argv.remove === true })),
        );
    },
  };
}

/** Runs the program on its arguments; returns the exit code. */
export function runCli(args: string[], h: CliHandlers, io: CliIo): Promise<number> {
  return runProgram(agentProgram(h), args, io);
}
