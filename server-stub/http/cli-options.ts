// The `enf-server start` options of the management listener: --http-port, --http-bind,
// --api-token-file, --tls-cert/--tls-key, --metrics-public, --http-allow-plaintext. The listener
// binds loopback unless told otherwise; any other address without TLS would carry bearer tokens in
// clear text, so it needs --http-allow-plaintext and logs a warning. Kept here so the start command
// adds them with one spread and one call:
//   .options(MANAGEMENT_OPTIONS)  ...  const http = await startManagementFromArgs(a, { registry, metrics, logger });
import { existsSync } from 'node:fs';
import { BlockList, isIPv6 } from 'node:net';
import { ZtpError } from '../../protocol/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { startManagementServer, type ManagementServer } from './management-server.ts';
import type { Registry } from '../registry/registry.ts';

/** The management listener's default address: loopback only. */
export const DEFAULT_HTTP_BIND = '127.0.0.1';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (any spelling, IPv4-mapped too) or the name localhost. */
export function isLoopbackAddress(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  try {
    return LOOPBACK.check(host, isIPv6(host) ? 'ipv6' : 'ipv4');
  } catch {
    return false; // a host name or malformed text: not known to be loopback
  }
}

export const MANAGEMENT_OPTIONS = {
  'http-port': { type: 'number', describe: 'management API, dashboard and /metrics port (off when absent)' },
  'http-bind': {
    type: 'string',
    default: DEFAULT_HTTP_BIND,
    describe: 'address of the management listener (not loopback: needs --tls-cert or --http-allow-plaintext)',
  },
  'http-allow-plaintext': {
    type: 'boolean',
    default: false,
    describe: 'allow plain HTTP on a non-loopback --http-bind (tokens in clear text; logs a warning)',
  },
  'api-token-file': {
    type: 'string',
    describe: 'file of API bearer tokens, one per line (required with --http-port)',
  },
  'tls-cert': { type: 'string', describe: 'PEM certificate chain: serve the management API over HTTPS' },
  'tls-key': { type: 'string', describe: 'PEM private key for --tls-cert' },
  'metrics-public': { type: 'boolean', default: false, describe: 'serve /metrics without a token' },
  'session-idle-timeout': {
    type: 'number',
    default: 1800,
    describe: 'seconds after which an unused dashboard session ends',
  },
} as const;

export interface ManagementArgs {
  'http-port'?: number | undefined;
  'http-bind'?: string | undefined;
  'api-token-file'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'metrics-public'?: boolean | undefined;
  'http-allow-plaintext'?: boolean | undefined;
  'session-idle-timeout'?: number | undefined;
}

/**
 * A management option is wrong; `option` names it. USAGE (the default): options missing or given
 * together wrongly; BAD_VALUE: a value out of range or refused; NOT_FOUND: a named file is missing.
 */
export class ManagementOptionError extends ZtpError {
  readonly option: string;
  readonly field: string;
  constructor(option: string, message: string, code: 'USAGE' | 'BAD_VALUE' | 'NOT_FOUND' = 'USAGE') {
    super(code, `--${option}: ${message}`);
    this.option = option;
    this.field = option;
  }
}

/** Validates the options; undefined when the listener is off (no --http-port). */
export function checkManagementArgs(a: ManagementArgs) {
  const port = a['http-port'];
  if (port === undefined) {
    for (const k of ['api-token-file', 'tls-cert', 'tls-key'] as const) {
      if (a[k] !== undefined) throw new ManagementOptionError(k, 'needs --http-port');
    }
    return undefined;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ManagementOptionError(
      'http-port',
      `${port} is not a port number`,
      Number.isNaN(port) ? 'USAGE' : 'BAD_VALUE',
    );
  const tokenFile = a['api-token-file'];
  if (!tokenFile) throw new ManagementOptionError('api-token-file', 'required with --http-port');
  if (!existsSync(tokenFile))
    throw new ManagementOptionError('api-token-file', `${tokenFile} does not exist`, 'NOT_FOUND');
  const cert = a['tls-cert'];
  const key = a['tls-key'];
  if ((cert === undefined) !== (key === undefined)) {
    throw new ManagementOptionError(
      cert === undefined ? 'tls-cert' : 'tls-key',
      '--tls-cert and --tls-key go together',
    );
  }
  for (const [k, f] of [
    ['tls-cert', cert],
    ['tls-key', key],
  ] as const) {
    if (f !== undefined && !existsSync(f))
      throw new ManagementOptionError(k, `${f} does not exist`, 'NOT_FOUND');
  }
  const idle = a['session-idle-timeout'] ?? 1800;
  if (!Number.isInteger(idle) || idle < 1 || idle > 30 * 86400)
    throw new ManagementOptionError(
      'session-idle-timeout',
      'whole seconds in 1..2592000 (30 days)',
      Number.isNaN(idle) ? 'USAGE' : 'BAD_VALUE',
    );
  const host = a['http-bind'] ?? DEFAULT_HTTP_BIND;
  const isPlaintextExposed = cert === undefined && !isLoopbackAddress(host);
  if (isPlaintextExposed && !a['http-allow-plaintext']) {
    throw new ManagementOptionError(
      'http-bind',
      `${host} is not a loopback address: serve HTTPS there (--tls-cert, --tls-key) or accept bearer tokens in clear text with --http-allow-plaintext`,
    );
  }
  return {
    host,
    isPlaintextExposed,
    port,
    tokenFile,
    isMetricsPublic: a['metrics-public'] ?? false,
    sessionIdleMs: idle * 1000,
    ...(cert !== undefined && key !== undefined ? { tls: { certFile: cert, keyFile: key } } : {}),
  };
}

/** Starts the management listener when --http-port is given; undefined otherwise. */
export async function startManagementFromArgs(
  a: ManagementArgs,
  deps: { registry: Registry; metrics?: Metrics; logger?: Logger; caVerificationIdentity?: Uint8Array },
): Promise<ManagementServer | undefined> {
  const checked = checkManagementArgs(a);
  if (!checked) return undefined;
  const { isPlaintextExposed, ...opts } = checked;
  if (isPlaintextExposed) {
    deps.logger?.warn('http.plaintext', {
      host: opts.host,
      msg: 'management API without TLS on a non-loopback address: bearer tokens travel in clear text',
    });
  }
  return startManagementServer({ ...opts, ...deps });
}
