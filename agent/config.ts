// Agent configuration: defaults < config file (/etc/xtt-agent/config.json) < environment
// (XTT_AGENT_*) < command-line flags. Every setting has one dotted name used in all three places
// (file: nested JSON; env: XTT_AGENT_ + upper snake case; flag: kebab case), and every validation
// failure is a ConfigError naming that setting. Unknown keys in the file are errors too (a typo must
// not silently fall back to a default).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTpmSpec } from '../tpm/open.ts';
import { parsePersistentHandle } from '../tpm/pki-key.ts';
import { ConfigError } from './errors.ts';

export const DEFAULT_CONFIG_PATH = '/etc/xtt-agent/config.json';
export const DEFAULT_STATE_DIR = '/var/lib/xtt-agent';

/** The reference client's file names for development mode (xaptum/xtt 0.12 sample data). */
export const DEV_FILES = {
  gpk: 'daa_gpk.bin',
  credential: 'daa_cred.bin',
  secretKey: 'daa_secretkey.bin',
  basename: 'basename.bin',
  /** 81-byte XTT root certificate (root_id || P-256 public key), as `xtt genrootcert` writes it. */
  rootCert: 'root_cert.bin',
} as const;

export interface DevCredentials {
  gpk: string;
  credential: string;
  secretKey: string;
  basename: string;
  rootCert: string;
}

export interface AgentConfig {
  server: { host: string; port: number };
  interface: string;
  prefixLength: number;
  /** Add the address with IFA_F_NODAD (skip duplicate address detection). */
  nodad: boolean;
  /** '/dev/tpmrm0' or 'swtpm:HOST:PORT' (see tpm/open.ts). Unused in development mode. */
  tpm: string;
  /** XTT suite 1..4 (xtt-spec: 1 = X25519/Ed25519/ChaCha20Poly1305/SHA512, ...). */
  suite: number;
  timeouts: { connectMs: number; handshakeMs: number; dadMs: number };
  /**
   * Retry delays: network faults wait up to maxMs; refusals (the batch not yet associated with a
   * network, a revoked batch or device) up to refusedMaxMs, since they change only by an operator.
   */
  backoff: { initialMs: number; maxMs: number; refusedMaxMs: number };
  stateDir: string;
  /** Development mode: the reference's credential files instead of a TPM. */
  dev?: DevCredentials;
  /** 'xtt' (DAA batch membership, the default) or 'pki' (a certificate from the customer's CA). */
  method: 'xtt' | 'pki';
  /** method 'pki' only. */
  pki?: PkiSettings;
  /** Who keeps the identity address after READY=1 (agent/network-manager/). */
  network: {
    /** The manager to hand the address to; 'auto' detects the one managing the interface. */
    manager: NetworkManagerChoice;
    /** 'runtime': /run (gone at reboot, re-applied each boot); 'persistent': /etc. */
    persist: NetworkPersistence;
  };
  /** Stay resident after READY=1 and put the address back when it goes (the netlink watcher). */
  watch: boolean;
}

export interface PkiSettings {
  /** PEM: the device certificate, then any intermediates the server needs. */
  cert: string;
  /** PEM private key for the certificate; absent: the key is in the TPM at `tpmHandle`. */
  key?: string;
  tpmHandle: number;
  /** PEM CA certificate(s) the server's TLS certificate must chain to. */
  serverCa: string;
  /** Name the server's certificate must carry; default server.host. */
  serverName?: string;
}

export const NETWORK_MANAGERS = ['auto', 'networkd', 'networkmanager', 'none'] as const;
export type NetworkManagerChoice = (typeof NETWORK_MANAGERS)[number];
export const NETWORK_PERSISTENCE = ['runtime', 'persistent'] as const;
export type NetworkPersistence = (typeof NETWORK_PERSISTENCE)[number];

type Kind = 'string' | 'port' | 'int' | 'bool' | 'ms' | 'enum';
interface Setting {
  key: string;
  kind: Kind;
  min?: number;
  max?: number;
  /** The allowed values of an 'enum' setting. */
  values?: readonly string[];
}

/** Every setting, by dotted name. Env name and flag name are derived from it. */
export const SETTINGS: readonly Setting[] = [
  { key: 'server.host', kind: 'string' },
  { key: 'server.port', kind: 'port' },
  { key: 'interface', kind: 'string' },
  { key: 'prefixLength', kind: 'int', min: 1, max: 128 },
  { key: 'nodad', kind: 'bool' },
  { key: 'tpm', kind: 'string' },
  { key: 'suite', kind: 'int', min: 1, max: 4 },
  { key: 'timeouts.connectMs', kind: 'ms' },
  { key: 'timeouts.handshakeMs', kind: 'ms' },
  { key: 'timeouts.dadMs', kind: 'ms' },
  { key: 'backoff.initialMs', kind: 'ms' },
  { key: 'backoff.maxMs', kind: 'ms' },
  { key: 'backoff.refusedMaxMs', kind: 'ms' },
  { key: 'stateDir', kind: 'string' },
  { key: 'network.manager', kind: 'enum', values: NETWORK_MANAGERS },
  { key: 'network.persist', kind: 'enum', values: NETWORK_PERSISTENCE },
  { key: 'watch', kind: 'bool' },
  { key: 'dev.dir', kind: 'string' },
  { key: 'method', kind: 'string' },
  { key: 'pki.cert', kind: 'string' },
  { key: 'pki.key', kind: 'string' },
  { key: 'pki.tpmHandle', kind: 'string' },
  { key: 'pki.serverCa', kind: 'string' },
  { key: 'pki.serverName', kind: 'string' },
  ...Object.keys(DEV_FILES).map((k) => ({ key: `dev.${k}`, kind: 'string' as const })),
];

export function envName(key: string): string {
  return (
    'XTT_AGENT_' +
    key
      .replace(/\./g, '_')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toUpperCase()
  );
}
export function flagName(key: string): string {
  return key
    .replace(/\./g, '-')
    .replace(/([a-z])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

const DEFAULTS: Record<string, string | number | boolean> = {
  'server.port': 4444,
  prefixLength: 64,
  nodad: false,
  tpm: '/dev/tpmrm0',
  suite: 1,
  'timeouts.connectMs': 10_000,
  'timeouts.handshakeMs': 30_000,
  'timeouts.dadMs': 10_000,
  'backoff.initialMs': 1_000,
  'backoff.maxMs': 300_000,
  'backoff.refusedMaxMs': 3_600_000,
  method: 'xtt',
  'pki.tpmHandle': '0x81010010',
  'network.manager': 'auto',
  'network.persist': 'runtime',
  watch: false,
};

type Raw = Record<string, unknown>;

/** Flattens the nested file object to dotted keys, rejecting unknown keys and non-objects. */
function flattenFile(doc: unknown, path: string): Raw {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError('(file)', `${path} must hold a JSON object`);
  }
  const out: Raw = {};
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix + k;
      const isGroup = SETTINGS.some((s) => s.key.startsWith(key + '.'));
      if (isGroup) {
        if (typeof v !== 'object' || v === null || Array.isArray(v))
          throw new ConfigError(key, 'must be an object');
        walk(v as Record<string, unknown>, key + '.');
      } else if (SETTINGS.some((s) => s.key === key)) out[key] = v;
      else throw new ConfigError(key, `unknown setting in ${path}`);
    }
  };
  walk(doc as Record<string, unknown>, '');
  return out;
}

function coerce(s: Setting, v: unknown, from: string): string | number | boolean {
  const bad = (why: string): never => {
    throw new ConfigError(s.key, `${why} (from ${from})`);
  };
  if (s.kind === 'string') {
    if (typeof v !== 'string' || v.length === 0) bad('must be a non-empty string');
    return v as string;
  }
  if (s.kind === 'enum') {
    const values = s.values ?? [];
    if (typeof v !== 'string' || !values.includes(v)) bad(`must be one of ${values.join(', ')}`);
    return v as string;
  }
  if (s.kind === 'bool') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    return bad('must be true or false');
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) bad('must be an integer');
  const [min, max] =
    s.kind === 'port'
      ? [1, 65535]
      : s.kind === 'ms'
        ? [1, 86_400_000]
        : [s.min ?? 0, s.max ?? Number.MAX_SAFE_INTEGER];
  if (n < min || n > max) bad(`${n} is outside ${min}..${max}`);
  return n;
}

export interface ConfigSources {
  /** Path of the config file; missing is fine only when it is the default path. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by dotted key (the CLI maps its kebab flags back). Undefined entries are ignored. */
  flags?: Record<string, unknown>;
}

export function loadConfig(src: ConfigSources = {}): AgentConfig {
  return validate(mergeSettings(src));
}

/** What `xtt-agent status` needs: local state only, so no server or interface is required. */
export interface LocalConfig {
  stateDir: string;
  prefixLength: number;
  interface: string | undefined;
  /** host:port when a server is configured. */
  server: string | undefined;
}

export function loadLocalConfig(src: ConfigSources = {}): LocalConfig {
  const v = mergeSettings(src);
  const stateDir = v.stateDir as string;
  if (!stateDir.startsWith('/')) throw new ConfigError('stateDir', 'must be an absolute path');
  const host = v['server.host'] as string | undefined;
  return {
    stateDir,
    prefixLength: v.prefixLength as number,
    interface: (v.interface as string | undefined) || undefined,
    server: host ? `${host}:${v['server.port'] as number}` : undefined,
  };
}

/** defaults < config file < XTT_AGENT_* environment < flags, each value coerced and checked. */
function mergeSettings(src: ConfigSources): Record<string, string | number | boolean> {
  const env = src.env ?? process.env;
  const filePath = src.file ?? env.XTT_AGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
  let fileRaw: Raw = {};
  let text: string | undefined;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(code === 'ENOENT' && filePath === DEFAULT_CONFIG_PATH && src.file === undefined)) {
      throw new ConfigError('(file)', `cannot read ${filePath}: ${code ?? String(e)}`, { cause: e });
    }
  }
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ConfigError('(file)', `${filePath} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    fileRaw = flattenFile(doc, filePath);
  }

  const values: Record<string, string | number | boolean> = { ...DEFAULTS };
  if (env.STATE_DIRECTORY)
    values.stateDir = env.STATE_DIRECTORY.split(':')[0]!; // systemd StateDirectory=
  else values.stateDir = DEFAULT_STATE_DIR;
  for (const s of SETTINGS) {
    if (fileRaw[s.key] !== undefined) values[s.key] = coerce(s, fileRaw[s.key], filePath);
    const e = env[envName(s.key)];
    if (e !== undefined && e !== '') values[s.key] = coerce(s, e, envName(s.key));
    const f = src.flags?.[s.key];
    if (f !== undefined) values[s.key] = coerce(s, f, `--${flagName(s.key)}`);
  }
  return values;
}

function validate(v: Record<string, string | number | boolean>): AgentConfig {
  const str = (k: string) => v[k] as string | undefined;
  const num = (k: string) => v[k] as number;
  const host = str('server.host');
  if (!host)
    throw new ConfigError('server.host', 'is required (config file, XTT_AGENT_SERVER_HOST or --server-host)');
  if (/[\s/]/.test(host))
    throw new ConfigError('server.host', `${JSON.stringify(host)} is not a host name or address`);
  const ifname = str('interface');
  if (!ifname)
    throw new ConfigError('interface', 'is required (config file, XTT_AGENT_INTERFACE or --interface)');
  if (new TextEncoder().encode(ifname).length > 15 || /[\s/:]/.test(ifname)) {
    throw new ConfigError('interface', `${JSON.stringify(ifname)} is not a valid interface name`);
  }
  const tpm = str('tpm')!;
  try {
    parseTpmSpec(tpm);
  } catch (e) {
    throw new ConfigError('tpm', (e as Error).message, { cause: e });
  }
  for (const k of ['backoff.maxMs', 'backoff.refusedMaxMs']) {
    if (num(k) < num('backoff.initialMs')) throw new ConfigError(k, 'must be at least backoff.initialMs');
  }
  const stateDir = str('stateDir')!;
  if (!stateDir.startsWith('/')) throw new ConfigError('stateDir', 'must be an absolute path');
  const cfg: AgentConfig = {
    server: { host, port: num('server.port') },
    interface: ifname,
    prefixLength: num('prefixLength'),
    nodad: v.nodad as boolean,
    tpm,
    suite: num('suite'),
    timeouts: {
      connectMs: num('timeouts.connectMs'),
      handshakeMs: num('timeouts.handshakeMs'),
      dadMs: num('timeouts.dadMs'),
    },
    backoff: {
      initialMs: num('backoff.initialMs'),
      maxMs: num('backoff.maxMs'),
      refusedMaxMs: num('backoff.refusedMaxMs'),
    },
    stateDir,
    method: 'xtt',
    network: {
      manager: v['network.manager'] as NetworkManagerChoice,
      persist: v['network.persist'] as NetworkPersistence,
    },
    watch: v.watch as boolean,
  };
  const method = str('method');
  if (method !== 'xtt' && method !== 'pki')
    throw new ConfigError('method', `${JSON.stringify(method)} is not xtt or pki`);
  cfg.method = method;
  const pkiKeys = SETTINGS.filter((s) => s.key.startsWith('pki.') && s.key !== 'pki.tpmHandle' && str(s.key));
  if (method === 'xtt' && pkiKeys.length > 0) {
    throw new ConfigError(pkiKeys[0]!.key, 'is a PKI setting: set method to pki (--method pki) to use it');
  }
  if (method === 'pki') {
    const cert = str('pki.cert');
    if (!cert) throw new ConfigError('pki.cert', 'is required with method pki (--cert FILE)');
    const serverCa = str('pki.serverCa');
    if (!serverCa)
      throw new ConfigError(
        'pki.serverCa',
        "is required with method pki (the server's TLS CA, --server-ca FILE)",
      );
    const handleText = str('pki.tpmHandle')!;
    let tpmHandle: number;
    try {
      tpmHandle = parsePersistentHandle(handleText);
    } catch (e) {
      throw new ConfigError('pki.tpmHandle', (e as Error).message, { cause: e });
    }
    const pki: PkiSettings = { cert, serverCa, tpmHandle };
    const key = str('pki.key');
    if (key) pki.key = key;
    const serverName = str('pki.serverName');
    if (serverName) pki.serverName = serverName;
    cfg.pki = pki;
  }
  const dir = str('dev.dir');
  const named = (Object.keys(DEV_FILES) as (keyof typeof DEV_FILES)[]).filter((k) => str(`dev.${k}`));
  if (dir || named.length > 0) {
    const dev = {} as DevCredentials;
    for (const k of Object.keys(DEV_FILES) as (keyof typeof DEV_FILES)[]) {
      const p = str(`dev.${k}`) ?? (dir ? join(dir, DEV_FILES[k]) : undefined);
      if (!p) throw new ConfigError(`dev.${k}`, 'is required in development mode (or set dev.dir)');
      dev[k] = p;
    }
    cfg.dev = dev;
    if (cfg.method === 'pki')
      throw new ConfigError('dev.dir', 'development mode (DAA credential files) is for method xtt');
  }
  return cfg;
}
