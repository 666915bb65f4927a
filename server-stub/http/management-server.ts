// The management HTTP(S) listener of enf-server: JSON API under /api/v1 (routes-*.ts),
// live events (/api/v1/events, server-sent events), Prometheus metrics (/metrics) and the static
// dashboard (/ and /static/*). node:http, or node:https when a certificate and key are configured.
// Every API route needs `Authorization: Bearer <token>`; errors are {"error":{code,message,field}}.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ZtpError } from '../../protocol/errors.ts';
import type { Logger } from '../log.ts';
import { Gauge, MetricRegistry, PROMETHEUS_CONTENT_TYPE, type Metrics } from '../metrics.ts';
import { TokenAuthenticator, WWW_AUTHENTICATE, type TokenGrant } from './auth.ts';
import type { ApiContext } from './context.ts';
import { ListenError } from '../errors.ts';
import { ApiError, errorBody, toApiError } from './errors.ts';
import { EventHub } from './events.ts';
import { OPENAPI } from './openapi.ts';
import type { Registry } from '../registry/registry.ts';
import { Router } from './router.ts';
import { Authenticator } from './authenticate.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { addAccountRoutes } from './routes-accounts.ts';
import { addDeviceRoutes } from './routes-devices.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, Sessions, type ActiveSession } from './sessions.ts';
import { systemClock, type Clock } from '../registry/registry.ts';
import { addNetworkRoutes } from './routes-networks.ts';
import { addOperatorAuditRoutes } from './routes-operator-audit.ts';
import { addOrganizationRoutes } from './routes-organizations.ts';
import { addOverviewRoutes } from './routes-overview.ts';
import { addPkiRoutes, orgNetworkIds } from './routes-pki.ts';
import { allows, type Principal, type Role } from './roles.ts';
import { SECURITY_HEADERS, StaticFiles } from './static.ts';

export interface ManagementServerOptions {
  registry: Registry;
  metrics?: Metrics;
  logger?: Logger;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Bearer tokens (secrets, bytes: superadmins; or grants bound to an organization and role) or a
   * file with one per line; one of the two is required.
   */
  tokens?: readonly (Uint8Array | TokenGrant)[];
  tokenFile?: string;
  /** PEM certificate chain and key files: serve HTTPS instead of HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Serve /metrics without a token (for scrapers on a trusted network); default false. */
  isMetricsPublic?: boolean;
  /** The server certificate CA registration codes are bound to (enf-server ca registration-code). */
  caVerificationIdentity?: Uint8Array;
  /** Audit polling interval for live events (ms); default 500. */
  eventPollMs?: number;
  /** A dashboard session unused this long ends (ms); default 30 min. */
  sessionIdleMs?: number;
  /** The failed sign-in throttle's settings (login-throttle.ts). */
  loginThrottle?: LoginThrottleOptions;
  /** Default the system clock. */
  clock?: Clock;
}

/** A --tls-cert or --tls-key file cannot be read or is not a usable PEM pair (bad-input exit code). */
export class TlsFileError extends ZtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_FILE', message, options);
  }
}

/** Reads the certificate chain and key and has OpenSSL check them (PEM syntax, key matches). */
function loadTls(tls: { certFile: string; keyFile: string }): SecureContextOptions {
  const read = (option: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new TlsFileError(`--${option}: cannot read ${file}`, { cause });
    }
  };
  const options = { cert: read('tls-cert', tls.certFile), key: read('tls-key', tls.keyFile) };
  try {
    createSecureContext(options);
  } catch (cause) {
    // OpenSSL's reason ("no start line", "key values mismatch") names the problem; no key bytes.
    throw new TlsFileError(
      `--tls-cert ${tls.certFile} / --tls-key ${tls.keyFile}: not a usable PEM certificate and key: ${(cause as Error).message}`,
      { cause },
    );
  }
  return options;
}

export interface ManagementServer {
  port: number;
  url: string;
  /** The route table (method, path template), for the OpenAPI cross-check. */
  routes: { method: string; path: string; isAuthenticated: boolean; role: Role }[];
  close(): Promise<void>;
}

export function buildRouter(ctx: ApiContext, isMetricsPublic: boolean): Router {
  const router = new Router();
  addNetworkRoutes(router, ctx);
  addDeviceRoutes(router, ctx);
  addPkiRoutes(router, ctx);
  addOperatorAuditRoutes(router, ctx);
  addOrganizationRoutes(router, ctx);
  addAccountRoutes(router, ctx);
  addOverviewRoutes(router, ctx);
  router.add({
    method: 'GET',
    path: '/api/v1/events',
    isAuthenticated: true,
    role: 'viewer',
    handler: async ({ res, principal }) => {
      if (!(await ctx.events.subscribe(res, principal?.org)))
        throw new ApiError('UNAVAILABLE', 'too many event listeners');
      return undefined;
    },
  });
  router.add({
    method: 'GET',
    path: '/api/v1/openapi.json',
    isAuthenticated: false,
    role: 'viewer',
    handler: async () => ({ status: 200, body: OPENAPI }),
  });
  router.add({
    method: 'GET',
    path: '/metrics',
    isAuthenticated: !isMetricsPublic,
    // Server-wide figures for superadmins (and a public scrape), handshake and enrollment counters
    // labelled with every organization; an organization's token gets its own organization's device
    // gauges (organizationMetrics) and its own counter series only, labelled with its name.
    role: 'viewer',
    handler: async ({ res, principal }) => {
      if (!ctx.metrics) throw new ApiError('NOT_FOUND', 'metrics are not enabled');
      const names = new Map((await ctx.registry.listOrganizations()).map((o) => [o.id, o.name]));
      if (principal?.org !== undefined) {
        const body =
          (await organizationMetrics(ctx, principal.org)) + ctx.metrics.expose(names, principal.org);
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
        res.end(body);
        return undefined;
      }
      const batches = await ctx.registry.listBatches();
      const revoked = batches.reduce((n, b) => n + b.revokedDevices, 0);
      const all = batches.reduce((n, b) => n + b.devices, 0);
      ctx.metrics.deviceCounts({ active: all - revoked, revoked });
      const cas = await ctx.registry.pki.listCas();
      const certRevoked = cas.reduce((n, c) => n + c.revokedDevices, 0);
      const certAll = cas.reduce((n, c) => n + c.devices, 0);
      ctx.metrics.certDeviceCounts({ active: certAll - certRevoked, revoked: certRevoked });
      await ctx.metrics.collect();
      const body = ctx.metrics.expose(names);
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(body);
      return undefined;
    },
  });
  return router;
}

/** One organization's device gauges: `enf_devices` and `enf_pki_devices` with `organization`. */
async function organizationMetrics(ctx: ApiContext, org: number): Promise<string> {
  const name = (await ctx.registry.getOrganization(org))?.name ?? String(org);
  const out = new MetricRegistry();
  const daa = out.register(
    new Gauge('enf_devices', 'Registered DAA (batch) devices of this organization, by status.', [
      'organization',
      'status',
    ]),
  );
  const pki = out.register(
    new Gauge('enf_pki_devices', 'Certificate devices of this organization (PKI option), by status.', [
      'organization',
      'status',
    ]),
  );
  const batches = await ctx.registry.listBatches(org);
  const revoked = batches.reduce((n, b) => n + b.revokedDevices, 0);
  daa.set({ organization: name, status: 'active' }, batches.reduce((n, b) => n + b.devices, 0) - revoked);
  daa.set({ organization: name, status: 'revoked' }, revoked);
  const nets = await orgNetworkIds(ctx, org);
  const cas = (await ctx.registry.pki.listCas()).filter((c) => nets?.has(c.networkId));
  const certRevoked = cas.reduce((n, c) => n + c.revokedDevices, 0);
  pki.set({ organization: name, status: 'active' }, cas.reduce((n, c) => n + c.devices, 0) - certRevoked);
  pki.set({ organization: name, status: 'revoked' }, certRevoked);
  return out.expose();
}

function sendJson(res: ServerResponse, status: number, body: unknown, isHead = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...(status === 401 ? { 'www-authenticate': WWW_AUTHENTICATE } : {}),
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(isHead ? undefined : text);
}

/**
 * Reads every input (tokens, TLS files) before anything starts, then listens. On any failure it
 * throws with nothing left running (TokenFileError/TlsFileError: bad input, ListenError).
 */
export async function startManagementServer(opts: ManagementServerOptions): Promise<ManagementServer> {
  const auth = opts.tokenFile
    ? TokenAuthenticator.fromFile(opts.tokenFile)
    : new TokenAuthenticator(opts.tokens ?? []);
  const tls = opts.tls ? loadTls(opts.tls) : undefined;
  await auth.resolve(opts.registry);
  const events = new EventHub(opts.registry, {
    ...(opts.eventPollMs !== undefined ? { pollMs: opts.eventPollMs } : {}),
    onError: (err) => opts.logger?.warn('http.events.poll-failed', { msg: (err as Error).message }),
  });
  await events.start();
  const clock = opts.clock ?? systemClock;
  const sessions = new Sessions(opts.registry.accounts, clock, {
    idleTimeoutMs: opts.sessionIdleMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    isSecure: opts.tls !== undefined,
  });
  const authenticator = new Authenticator(auth, opts.registry, sessions, () => clock.now());
  const ctx: ApiContext = {
    registry: opts.registry,
    events,
    metrics: opts.metrics,
    logger: opts.logger,
    caVerificationIdentity: opts.caVerificationIdentity,
    accounts: {
      sessions,
      throttle: new LoginThrottle(opts.registry.accounts, clock, opts.loginThrottle),
      clock,
    },
  };
  const router = buildRouter(ctx, opts.isMetricsPublic ?? false);
  const statics = new StaticFiles();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new ApiError('BAD_REQUEST', 'bad request target');
    }
    if ((method === 'GET' || method === 'HEAD') && statics.serve(url.pathname, res, method === 'HEAD'))
      return;
    const { route, params } = router.match(method, url.pathname);
    let principal: Principal | undefined;
    let session: ActiveSession | undefined;
    if (route.isAuthenticated) {
      ({ principal, session } = await authenticator.authenticate(req));
      if (!allows(principal.role, route.role)) {
        throw new ApiError(
          'FORBIDDEN',
          `this ${session ? 'user' : 'token'}'s role (${principal.role}) may not do this`,
        );
      }
    }
    const result = await route.handler({ req, res, params, query: url.searchParams, principal, session });
    if (result) sendJson(res, result.status, result.body, method === 'HEAD');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      const e = toApiError(err);
      if (e.status >= 500) {
        const cause = (e.cause as Error | undefined)?.message ?? e.message;
        opts.logger?.error('http.error', {
          method: req.method,
          path: req.url?.split('?')[0],
          code: e.code,
          msg: cause,
        });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A refused upload may still be arriving: answer, then close rather than read it all.
      if (!req.complete) res.setHeader('connection', 'close');
      sendJson(res, e.status, errorBody(e));
    });
  };

  const server: Server = tls
    ? createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, onRequest)
    : createHttpServer(onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.maxHeadersCount = 64;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      events.close();
      reject(new ListenError(opts.host ?? '127.0.0.1', opts.port, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host: opts.host ?? '127.0.0.1', port: opts.port }, () => {
      server.off('error', onError);
      server.on('error', (err) => opts.logger?.error('http.error', { msg: err.message }));
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const shown = host === '::' || host === '0.0.0.0' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  opts.logger?.info('http.listening', { host, port, tls: opts.tls !== undefined });
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://${shown}:${port}`,
    routes: router.table,
    close: async () => {
      events.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
