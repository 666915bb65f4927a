// The `xtt-agent` command line (yargs): `run` (the default; what systemd starts) and `status`.
// Every setting of agent/config.ts is also a flag (kebab case of its dotted name). The handlers are
// injected, so tests drive the parser without the real adapters; main.ts passes the real ones.
// Returns the exit code instead of exiting (agent/exit-codes.ts).
import yargs from 'yargs';
import { SETTINGS, flagName } from './config.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export const VERSION = '0.1.0';

export interface CommonArgs {
  /** Path of the config file (--config). */
  config: string | undefined;
  /** Flag values by dotted setting key, only those given. */
  settings: Record<string, unknown>;
  verbose: boolean;
}

export interface CliHandlers {
  run(a: CommonArgs): Promise<ExitCode>;
  status(a: CommonArgs & { json: boolean }): Promise<ExitCode>;
  handoff(a: CommonArgs & { json: boolean; remove: boolean }): Promise<ExitCode>;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const EPILOG = `Exit codes:
  0 ok                    7 server certificate does not chain to the root
  1 internal error        8 network interface missing
  2 usage error           9 state file corrupt
  3 configuration error  10 not provisioned yet (status)
  4 no TPM               11 duplicate address detected
  5 TPM not provisioned  12 address not configured
  6 (refusals: retried)  13 TPM command failed
                         14 network manager did not take the address
Configuration: /etc/xtt-agent/config.json < XTT_AGENT_* environment < flags.`;

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
  };
}

export async function runCli(args: string[], h: CliHandlers, io: CliIo): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  let failed = false;
  const parser = yargs(args)
    .scriptName('xtt-agent')
    .usage(
      '$0 [command] [options]\n\nZero-touch identity provisioning agent: XTT with the TPM, then IPv6 via netlink.',
    )
    .option('config', { type: 'string', describe: 'config file (default /etc/xtt-agent/config.json)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'debug logging' })
    .options(settingOptions())
    // the PKI method's short spellings: xtt-agent run --method pki --cert FILE [--key FILE | --tpm ...]
    .alias('cert', 'pki-cert')
    .alias('key', 'pki-key')
    .alias('server-ca', 'pki-server-ca')
    .command(
      ['run', '$0'],
      'provision on first boot, then configure the identity address (systemd runs this)',
      // `run` is the default command, so its builder also serves the top-level `--help`: the
      // epilog is set here and per command, not on the top level too (that printed it twice).
      (y) => y.epilog(EPILOG),
      async (argv) => {
        if (failed) return; // yargs still calls the default command after a strict-mode failure
        code = await h.run(collect(argv));
      },
    )
    .command(
      'status',
      'print identity, interface, server and provisioning time',
      (y) =>
        y
          .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
          .epilog(EPILOG),
      async (argv) => {
        if (failed) return;
        code = await h.status({ ...collect(argv), json: argv.json });
      },
    )
    .command(
      'handoff',
      'hand the stored identity address to the network manager (networkd, NetworkManager); the unit runs this as root after READY=1',
      (y) =>
        y
          .option('remove', {
            type: 'boolean',
            default: false,
            describe: 'take the address back out of the manager (factory reset)',
          })
          .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
          .epilog(EPILOG),
      async (argv) => {
        if (failed) return;
        code = await h.handoff({ ...collect(argv), json: argv.json, remove: argv.remove === true });
      },
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      failed = true;
      if (err) throw err;
      io.err(`xtt-agent: ${msg}\nRun 'xtt-agent --help' for usage.\n`);
    });
  let output = '';
  await parser.parseAsync(args, {}, (_e, _argv, out) => {
    output = out;
  });
  if (output) io.out(output.endsWith('\n') ? output : output + '\n');
  return failed ? EXIT.USAGE : code;
}
