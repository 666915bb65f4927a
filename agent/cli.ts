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

/**
 * One line per setting for --help: what it does and its default. No yargs `default`: a flag's value
 * must stay absent when not given, or it would override the config file and the environment.
 */
export const SETTING_HELP: Readonly<Record<string, string>> = {
  'server.host': 'enf-server host name or address (required)',
  'server.port': "enf-server's XTT port (default 4444; its PKI port with --method pki)",
  interface: 'network interface that gets the identity, e.g. eth0 (required)',
  prefixLength: 'prefix length the address is configured with (default 64)',
  nodad: 'skip IPv6 duplicate address detection (default false)',
  tpm: 'TPM: a device path or swtpm:HOST:PORT[:CTRLPORT] (default /dev/tpmrm0)',
  suite: 'XTT suite 1-4 (default 1: X25519, ECDSA P-256, ChaCha20-Poly1305, SHA-512)',
  'timeouts.connectMs': 'TCP connect timeout per attempt, ms (default 10000)',
  'timeouts.handshakeMs': 'whole-handshake timeout per attempt, ms (default 30000)',
  'timeouts.dadMs': 'wait for duplicate address detection, ms (default 10000)',
  'backoff.initialMs': 'first retry delay after a failed attempt, ms (default 1000)',
  'backoff.maxMs': 'longest retry delay while the server is unreachable, ms (default 300000)',
  'backoff.refusedMaxMs': 'longest retry delay while the server refuses the device, ms (default 3600000)',
  stateDir: 'state directory (default $STATE_DIRECTORY, else /var/lib/xtt-agent)',
  'network.manager':
    'who keeps the address after READY=1: auto, networkd, networkmanager, none (default auto)',
  'network.persist':
    "handoff: runtime (until reboot) or persistent (the manager's stored config) (default runtime)",
  watch: 'with manager none: stay resident and put the address back after flushes (default false)',
  'dev.dir': 'development mode: a directory of the reference client files instead of a TPM (default: off)',
  'dev.gpk': 'development mode: daa_gpk.bin (default: in --dev-dir)',
  'dev.credential': 'development mode: daa_cred.bin (default: in --dev-dir)',
  'dev.secretKey': 'development mode: daa_secretkey.bin (default: in --dev-dir)',
  'dev.basename': 'development mode: basename.bin (default: in --dev-dir)',
  'dev.rootCert': 'development mode: root_cert.bin, 81 bytes (default: in --dev-dir)',
  method: 'xtt (a DAA batch) or pki (a certificate from the customer CA) (default xtt)',
  'pki.cert': 'method pki: PEM device certificate and intermediates',
  'pki.key': 'method pki: PEM private key (default: the TPM key at pki.tpmHandle)',
  'pki.tpmHandle': 'method pki: persistent TPM handle of the device key (default 0x81010010)',
  'pki.serverCa': "method pki: PEM CA of the server's TLS certificate",
  'pki.serverName': "method pki: name the server's certificate must have (default server.host)",
};

function settingOptions(): Record<
  string,
  { type: 'string' | 'number' | 'boolean'; describe: string; group: string }
> {
  const out: Record<string, { type: 'string' | 'number' | 'boolean'; describe: string; group: string }> = {};
  for (const s of SETTINGS) {
    const type =
      s.kind === 'string' || s.kind === 'enum' ? 'string' : s.kind === 'bool' ? 'boolean' : 'number';
    out[flagName(s.key)] = {
      type,
      describe: `${SETTING_HELP[s.key] ?? s.key}; setting ${s.key}`,
      group: 'Settings:',
    };
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
