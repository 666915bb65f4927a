// The `enf-server` command line: its commands (init, start, network, batch, device, audit, ca) on the
// shared runtime (common/cli.ts: --help, --version, --json, the result and error format, exit codes
// at the end of every --help). Handlers return a CommandResult (text for operators, one JSON document
// for scripts); errors are thrown typed and ../exit-codes.ts maps them. The state directory
// (--dir, $ENF_SERVER_DIR, default /var/lib/enf-server) holds registry.sqlite and the key files.
// With --registry-url postgres://... ($ENF_SERVER_REGISTRY_URL) every command that opens the registry
// (init, start, network, batch, device, audit) uses that PostgreSQL database instead of the file, so
// several enf-server processes, on one host or several, share one registry.
import cluster from 'node:cluster';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import {
  BadValueError,
  runProgram,
  UsageError,
  type CliIo,
  type CliProgram,
  type Done,
  type GlobalArgs as CommonArgs,
} from '../../common/cli.ts';
import { systemRng, type Rng } from '../../protocol/util/rng.ts';
import { registerAccountCommands } from './account-commands.ts';
import { registerPkiCommands } from './pki-commands.ts';
import { registerRegistryCommands } from './registry-commands.ts';
import { checkManagementArgs, MANAGEMENT_OPTIONS, type ManagementArgs } from '../http/cli-options.ts';
import {
  checkRegistryUrl,
  createRegistryAt,
  openRegistryAt,
  REGISTRY_FILE,
  REGISTRY_URL_ENV,
} from '../registry/open.ts';
import type { Registry } from '../registry/registry.ts';
import { EXIT_TABLE, exitCodeFor } from '../exit-codes.ts';
import { createKeyMaterial, importKeyMaterial } from '../keys/server-keys.ts';

export { UsageError } from '../../common/cli.ts';
export type { CliIo, CommandResult, Done } from '../../common/cli.ts';

export const DEFAULT_DIR = '/var/lib/enf-server';

/** What the `start` command runs; ../main.ts passes the real endpoint, tests may pass another. */
export type StartServer = (opts: StartOptions) => Promise<void>;
export interface StartOptions {
  dir: string;
  bind: string;
  port: number;
  maxConnections: number;
  maxPerSource: number;
  workers: number;
  /** Server processes sharing the port and the registry file (node:cluster); 1 = no cluster. */
  processes: number;
  /** SQLite commit durability (registry/sqlite-registry.ts); default 'full'. */
  registrySync?: 'full' | 'normal';
  /** A postgres:// URL: the shared PostgreSQL registry instead of the state directory's file. */
  registryUrl?: string;
  /** CIDR table for the audit's geolocation column (policy/geoip.ts); none when absent. */
  geoipFile?: string;
  /** The management listener's options (server-stub/http); off without --http-port. */
  management?: ManagementArgs;
  /** PKI enrollment over TLS (endpoint/pki-endpoint.ts); off without a port. */
  pki?: { port: number; certFile: string; keyFile: string };
}

export interface CliDeps {
  rng?: Rng;
  start?: StartServer;
}

export interface GlobalArgs extends CommonArgs {
  dir: string;
  /** --registry-url / $ENF_SERVER_REGISTRY_URL; empty or absent: SQLite in `dir`. */
  'registry-url'?: string | undefined;
}

/**
 * An empty state directory would resolve against the working directory: refuse it, naming where the
 * empty value came from (`--dir ''` or `ENF_SERVER_DIR=` set but empty, e.g. from a unit file).
 */
function checkDir(dir: string, argv: readonly string[]): void {
  if (dir !== '') return;
  if (argv.some((x) => x === '--dir' || x.startsWith('--dir='))) {
    throw new UsageError('--dir: empty; name the state directory');
  }
  throw new UsageError(
    `ENF_SERVER_DIR is set but empty; set it to the state directory, unset it (default ${DEFAULT_DIR}), or pass --dir`,
  );
}

/** Runs `fn` with the command's registry (--dir or --registry-url) and closes it afterwards. */
export async function withRegistry<T>(a: GlobalArgs, fn: (r: Registry) => Promise<T>): Promise<T> {
  const r = await openRegistryAt({ dir: a.dir, registryUrl: a['registry-url'] });
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

function registerInit(y: Argv<GlobalArgs>, done: Done, rng: Rng): void {
  y.command(
    'init',
    'create the state directory, the registry, a root and a server certificate (or --import them)',
    (c) =>
      c
        .option('import', {
          type: 'boolean',
          default: false,
          describe: 'import existing files instead of creating',
        })
        .option('root-cert', { type: 'string', describe: 'with --import: root certificate (81 B)' })
        .option('server-cert', { type: 'string', describe: 'with --import: server certificate (169 B)' })
        .option('server-key', { type: 'string', describe: 'with --import: server key file (121 B SEC1 DER)' })
        .check((a) => {
          if (a.import && !(a['root-cert'] && a['server-cert'] && a['server-key'])) {
            throw new UsageError('--import needs --root-cert, --server-cert and --server-key');
          }
          return true;
        }),
    async (a) => {
      // A PostgreSQL registry gets its schema here; its URL is not echoed (it may hold a password).
      const registryUrl = a['registry-url'] ? checkRegistryUrl(a['registry-url']) : undefined;
      const files = a.import
        ? importKeyMaterial(a.dir, {
            rootCertificate: a['root-cert']!,
            serverCertificate: a['server-cert']!,
            serverKeys: a['server-key']!,
          })
        : createKeyMaterial(a.dir, rng);
      const registry = await createRegistryAt({ dir: a.dir, registryUrl });
      await registry.close();
      const where = registryUrl ? 'postgresql (--registry-url)' : join(a.dir, REGISTRY_FILE);
      const json = { dir: a.dir, registry: where, imported: a.import, files };
      const lines = [`initialised ${a.dir}`, ...Object.values(files).map((f) => `  ${f}`)];
      lines.push(`  ${json.registry}`, `give devices ${files.rootCertificate}`);
      if (!a.import) lines.push('root_keys.asn1.bin is the root private key: move it offline');
      done({ human: lines.join('\n'), json });
    },
  );
}

/**
 * A numeric option: not a number at all is a malformed command line (yargs reads it as NaN), a
 * number out of range is a bad value.
 */
function checkCount(option: string, v: number, max: number): void {
  if (Number.isNaN(v)) throw new UsageError(`--${option}: not a number`);
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new BadValueError(option, `${v} is not an integer in 0..${max}`);
}

function registerStart(y: Argv<GlobalArgs>, done: Done, start: StartServer | undefined): void {
  y.command(
    'start',
    'serve XTT identity provisioning on TCP until SIGTERM',
    (c) =>
      c
        .option('bind', {
          type: 'string',
          default: '::',
          describe: 'address to listen on (:: for IPv6 and IPv4)',
        })
        .option('port', { type: 'number', default: 4444, describe: 'XTT port (0: any free port, logged)' })
        .option('max-connections', {
          type: 'number',
          default: 1024,
          describe: 'global concurrent connection limit',
        })
        .option('max-per-source', {
          type: 'number',
          default: 16,
          describe: 'concurrent connections per source address',
        })
        .option('workers', {
          type: 'number',
          default: 0,
          describe: 'DAA verification threads per process (0: one per core)',
        })
        .option('processes', {
          type: 'number',
          default: 1,
          describe: 'server processes sharing the port and the registry file',
        })
        .option('registry-sync', {
          type: 'string',
          choices: ['full', 'normal'],
          default: 'full',
          describe: 'SQLite: full fsyncs every decision; normal survives a killed process, not power loss',
        })
        .option('geoip', { type: 'string', describe: 'CIDR,label table for audit geolocation (see README)' })
        .option('pki-port', {
          type: 'number',
          describe:
            "PKI enrollment (certificates from the customer's CA) over TLS 1.3 on this port, on --bind",
        })
        .option('pki-tls-cert', { type: 'string', describe: 'PEM certificate chain of the PKI TLS listener' })
        .option('pki-tls-key', { type: 'string', describe: 'PEM private key of the PKI TLS listener' })
        .options(MANAGEMENT_OPTIONS),
    async (a) => {
      if (!start) throw new UsageError('this build has no XTT endpoint');
      checkManagementArgs(a); // refuse bad --http-* options before anything starts
      const registryUrl = a['registry-url'] ? checkRegistryUrl(a['registry-url']) : undefined;
      for (const [k, v] of [
        ['port', a.port],
        ['max-connections', a['max-connections']],
        ['max-per-source', a['max-per-source']],
        ['workers', a.workers],
        ['processes', a.processes],
        ['pki-port', a['pki-port']],
      ] as const) {
        if (v !== undefined) checkCount(k, v, k.endsWith('port') ? 65535 : Number.MAX_SAFE_INTEGER);
      }
      const pkiPort = a['pki-port'];
      if (pkiPort !== undefined && (!a['pki-tls-cert'] || !a['pki-tls-key']))
        throw new UsageError('--pki-port needs --pki-tls-cert and --pki-tls-key');
      if (pkiPort === undefined && (a['pki-tls-cert'] || a['pki-tls-key']))
        throw new UsageError('--pki-tls-cert and --pki-tls-key go with --pki-port');
      await start({
        ...(pkiPort === undefined
          ? {}
          : { pki: { port: pkiPort, certFile: a['pki-tls-cert']!, keyFile: a['pki-tls-key']! } }),
        dir: a.dir,
        bind: a.bind,
        port: a.port,
        maxConnections: a['max-connections'],
        maxPerSource: a['max-per-source'],
        workers: a.workers,
        processes: Math.max(1, a.processes),
        management: a,
        ...(a.geoip === undefined ? {} : { geoipFile: a.geoip }),
        registrySync: a['registry-sync'] === 'normal' ? 'normal' : 'full',
        ...(registryUrl === undefined ? {} : { registryUrl }),
      });
      // Cluster copies share the primary's stdout: only the primary reports.
      if (!cluster.isWorker) done({ human: 'stopped', json: { stopped: true } });
    },
  );
}

/** The program: the state directory and registry options, and every command. */
export function serverProgram(argv: readonly string[], deps: CliDeps = {}): CliProgram {
  return {
    name: 'enf-server',
    description: 'The ENF reference server: XTT endpoint, registry of networks, batches and devices, audit.',
    readme: 'server-stub/README.md',
    exitTable: EXIT_TABLE,
    exitCodeFor,
    register(base, done) {
      const y = base
        .option('dir', {
          type: 'string',
          default: process.env.ENF_SERVER_DIR ?? DEFAULT_DIR,
          defaultDescription: `$ENF_SERVER_DIR, else ${DEFAULT_DIR}`,
          describe: 'state directory (registry.sqlite, certificates, keys); env ENF_SERVER_DIR',
        })
        .middleware((a) => checkDir(a.dir as string, argv))
        .option('registry-url', {
          type: 'string',
          default: process.env[REGISTRY_URL_ENV] || undefined,
          defaultDescription: `$${REGISTRY_URL_ENV}, else SQLite in --dir`,
          describe: 'shared PostgreSQL registry, postgres://user:password@host:port/database',
        }) as unknown as Argv<GlobalArgs>;
      registerInit(y, done, deps.rng ?? systemRng);
      registerStart(y, done, deps.start);
      registerRegistryCommands(y, done);
      registerPkiCommands(y, done);
      registerAccountCommands(y, done);
    },
  };
}

/** Runs the program on its arguments; returns the exit code. */
export function runCli(argv: string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  return runProgram(serverProgram(argv, deps), argv, io);
}
