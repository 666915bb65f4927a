// `enf-server start`: wires the real adapters (STYLE.md: only a program's entry builds them): key
// material from the state directory, the registry (registry/open.ts), the identity policy, the DAA verification
// pool, protocol/xtt's server with sealed cookies, and the TCP endpoint; runs until SIGTERM/SIGINT,
// then stops accepting, closes connections, workers and the registry. Logs go to stderr for journald.
// Start-up is all or nothing: inputs are read (keys, token file, TLS files) and the registry is opened
// and checked before anything listens; whatever step fails, everything already started is released
// in reverse order and the typed error reaches main.ts (exit 5/6/7/8). SIGTERM/SIGINT are handled
// from the first line, so a signal during start-up stops it at the next step, cleanly.
// With --processes N > 1 the primary forks N copies (node:cluster) that share the listening port
// (connections are dealt round-robin; one TCP connection, hence one handshake and its cookie, stays
// in one process) and the registry file (SQLite immediate transactions keep identities unique).
// The primary restarts a copy that dies once it has started; a copy that fails during start-up stops
// the whole server with that copy's exit code. Connection limits then apply per process.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { isMissingPath, MissingFileError } from '../common/cli.ts';
import { parseCertificate } from '../protocol/pki/certificate.ts';
import { ZtpError } from '../protocol/errors.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../protocol/xtt/cookie.ts';
import { XttServer } from '../protocol/xtt/server.ts';
import type { StartOptions } from './cli/cli.ts';
import { openRegistryAt } from './registry/open.ts';
import { EXIT } from './exit-codes.ts';
import { IdentityPolicy } from './policy/identity-policy.ts';
import { journalLogger, rateLimitedWarnings } from './log.ts';
import { CidrGeoLocator } from './policy/geoip.ts';
import { startManagementFromArgs } from './http/cli-options.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { OpensslP256Signer } from './keys/openssl-signer.ts';
import { PkiEndpoint } from './endpoint/pki-endpoint.ts';
import { PkiPolicy } from './policy/pki-policy.ts';
import type { Registry } from './registry/registry.ts';
import { InputFileError } from './labels/gpk-input.ts';
import { loadKeyMaterial } from './keys/server-keys.ts';
import { VerifyPool } from './endpoint/verify-pool.ts';
import { XttEndpoint } from './endpoint/xtt-endpoint.ts';

/** A lookup of a network's organization over one registry, remembered (a network never changes organization). */
function networkOrganizations(
  registry: Registry,
): (networkId: number | undefined) => Promise<number | undefined> {
  const known = new Map<number, number>();
  return async (networkId) => {
    if (networkId === undefined) return undefined;
    let org = known.get(networkId);
    if (org === undefined) {
      org = (await registry.getNetwork(networkId))?.organizationId;
      if (org !== undefined && known.size < 100_000) known.set(networkId, org);
    }
    return org;
  };
}

/** The PKI enrollment listener (TLS files read here, before anything listens). */
function startPki(
  opts: StartOptions,
  pki: NonNullable<StartOptions['pki']>,
  registry: Registry,
  logger: Logger,
  geo: CidrGeoLocator | undefined,
  metrics: Metrics,
): { endpoint: PkiEndpoint } {
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (cause) {
      if (isMissingPath(cause)) throw new MissingFileError(path, 'file', { cause });
      throw new InputFileError(path, 'cannot read', { cause });
    }
  };
  const policy = new PkiPolicy(registry.pki, parseCertificate, {
    clock: { now: Date.now },
    logger,
    ...(geo ? { geo } : {}),
  });
  const networkOrganization = networkOrganizations(registry);
  try {
    const endpoint = new PkiEndpoint(
      {
        host: opts.bind,
        port: pki.port,
        cert: read(pki.certFile),
        key: read(pki.keyFile),
        maxConnections: opts.maxConnections,
        maxPerSource: opts.maxPerSource,
      },
      {
        policy,
        logger,
        onEnrollment: (outcome, seconds, networkId) => {
          // The organization is its CA's network's (a network never changes organization).
          void networkOrganization(networkId).then(
            (org) => metrics.pkiEnrollmentFinished(outcome, seconds, org),
            () => metrics.pkiEnrollmentFinished(outcome, seconds, undefined),
          );
        },
      },
    );
    return { endpoint };
  } catch (cause) {
    if (cause instanceof InputFileError || cause instanceof MissingFileError) throw cause;
    // OpenSSL refused the PEM files (not a certificate or key, or they do not match)
    throw new InputFileError(pki.certFile, `unusable with ${pki.keyFile}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** SIGTERM or SIGINT (or the caller's promise): `requested` resolves, `isRequested` reads it. */
interface StopRequest {
  requested: Promise<void>;
  readonly isRequested: boolean;
}

function stopRequest(stop?: Promise<void>): StopRequest {
  let isRequested = false;
  const requested = (
    stop ??
    new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    })
  ).then(() => {
    isRequested = true;
  });
  return {
    requested,
    get isRequested() {
      return isRequested;
    },
  };
}

/**
 * Waits for `step` unless a stop comes first (then undefined); a result that arrives after the stop
 * is released with `release`, so nothing opened during an interrupted start-up stays open.
 */
async function unlessStopped<T>(
  stop: StopRequest,
  step: Promise<T>,
  release: (value: T) => Promise<void>,
): Promise<T | undefined> {
  const result = await Promise.race([step, stop.requested.then(() => undefined)]);
  if (result === undefined) {
    step.then(release, () => undefined);
    return undefined;
  }
  return result;
}

/** A server process stopped during start-up with this exit code (cluster primary). */
const EXIT_ERROR_CODE: Partial<Record<number, string>> = {
  [EXIT.USAGE]: 'USAGE',
  [EXIT.NOT_FOUND]: 'NOT_FOUND',
  [EXIT.REGISTRY]: 'STORAGE',
  [EXIT.BAD_INPUT]: 'INPUT_FILE',
  [EXIT.KEYS]: 'KEYS_INVALID',
  [EXIT.LISTEN]: 'LISTEN',
};

/** What a cluster copy tells the primary once everything listens. */
const READY_MESSAGE = 'enf-server:ready';

/**
 * The cluster primary: forks the copies and stops them all on SIGTERM. A copy that dies after it
 * started is restarted; one that fails during start-up stops the server with its exit code.
 */
async function runPrimary(opts: StartOptions, logger: Logger, stop: StopRequest): Promise<void> {
  loadKeyMaterial(opts.dir).serverKeys.privateKey.fill(0); // fail early, in the primary, on bad keys
  if (opts.geoipFile) CidrGeoLocator.fromFile(opts.geoipFile);
  let isStopping = false;
  let failure: ZtpError | undefined;
  let onFailure: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => (onFailure = resolve));
  const ready = new Set<number>();
  const fork = () => {
    const w = cluster.fork({ ENF_SERVER_PROCESS: '1' });
    w.on('message', (m) => {
      if (m === READY_MESSAGE) ready.add(w.id);
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (isStopping) return;
    if (!ready.has(worker.id)) {
      const exitCode = code ?? EXIT.INTERNAL;
      failure = new ZtpError(
        EXIT_ERROR_CODE[exitCode] ?? 'INTERNAL',
        `server process ${worker.process.pid} failed during start-up (exit ${code ?? signal}); its error is above`,
      );
      onFailure();
      return;
    }
    ready.delete(worker.id);
    logger.error('server.process-died', { pid: worker.process.pid, code, signal });
    setTimeout(fork, 500).unref();
  });
  for (let i = 0; i < opts.processes; i++) fork();
  await Promise.race([stop.requested, failed]);
  isStopping = true;
  const workers = Object.values(cluster.workers ?? {});
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (!w || w.isDead()) return resolve();
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
  if (failure) throw failure;
  logger.info('server.stopped', { processes: workers.length });
}

/** Release functions of what has been started so far, run newest first. */
class Resources {
  private readonly releases: (() => Promise<void> | void)[] = [];
  /** Set once every listener is up (start-up finished). */
  isListening = false;
  add(release: () => Promise<void> | void): void {
    this.releases.push(release);
  }
  async releaseAll(logger: Logger): Promise<void> {
    for (const release of this.releases.reverse()) {
      try {
        await release();
      } catch (err) {
        // Keep releasing the rest; the start-up error (if any) is what main.ts reports.
        logger.error('server.release-failed', { msg: (err as Error).message });
      }
    }
  }
}

export async function startServer(opts: StartOptions, stop?: Promise<void>): Promise<void> {
  const stopping = stopRequest(stop);
  const logger = rateLimitedWarnings(journalLogger(), 50);
  if (opts.processes > 1 && cluster.isPrimary) return runPrimary(opts, logger, stopping);
  const resources = new Resources();
  try {
    await runServer(opts, logger, stopping, resources);
    if (stopping.isRequested && !resources.isListening) logger.info('server.stopped-during-start-up');
  } finally {
    await resources.releaseAll(logger);
    // A cluster copy keeps an IPC channel to the primary open: let go of it so the process ends.
    if (cluster.isWorker) cluster.worker?.disconnect();
  }
}

async function runServer(
  opts: StartOptions,
  logger: Logger,
  stop: StopRequest,
  resources: Resources,
): Promise<void> {
  logger.info('server.starting', { pid: process.pid });
  const keys = loadKeyMaterial(opts.dir);
  const geo = opts.geoipFile ? CidrGeoLocator.fromFile(opts.geoipFile) : undefined;
  const signer = new OpensslP256Signer(keys.serverKeys.privateKey, keys.serverKeys.publicKey);
  keys.serverKeys.privateKey.fill(0);
  const registry = await unlessStopped(
    stop,
    openRegistryAt(opts, { synchronous: opts.registrySync ?? 'full', isChecked: true }),
    (r) => r.close(),
  );
  if (!registry) return;
  resources.add(() => registry.close());
  const metrics = new Metrics();
  // The pool batches harder while many handshakes are open at once (verify-pool.ts); the endpoint
  // that counts them is made below.
  const open: { endpoint?: XttEndpoint } = {};
  const pool = new VerifyPool({
    ...(opts.workers > 0 ? { workers: opts.workers } : {}),
    logger,
    onBatch: (n) => metrics.verifyBatch(n),
    handshakesInProgress: () => open.endpoint?.handshakesInProgress ?? 0,
  });
  resources.add(() => pool.close());
  metrics.addCollector(() => metrics.queueDepth(pool.queueDepth));
  // Device counts are read by the /metrics handler itself (http/management-server.ts), once a scrape.
  // The management listener first: it reads the token and TLS files before it listens, so bad input
  // fails before the XTT port ever opens.
  const http = await unlessStopped(
    stop,
    startManagementFromArgs(opts.management ?? {}, {
      registry,
      metrics,
      logger,
      caVerificationIdentity: keys.serverCertificate,
    }),
    async (h) => h?.close(),
  );
  if (stop.isRequested) return;
  if (http) resources.add(() => http.close());
  const xtt = new XttServer({
    certificate: keys.serverCertificate,
    signer,
    cookies: new SealedCookieStrategy({ rng: systemRng }),
    rng: systemRng,
  });
  const endpoint = new XttEndpoint(
    {
      host: opts.bind,
      port: opts.port,
      maxConnections: opts.maxConnections,
      maxPerSource: opts.maxPerSource,
    },
    {
      xtt,
      policy: new IdentityPolicy(registry, { logger, verifier: pool, ...(geo ? { geo } : {}) }),
      logger,
      onHandshake: (outcome, seconds, org) => metrics.handshakeFinished(outcome, seconds, org),
    },
  );
  open.endpoint = endpoint;
  resources.add(() => endpoint.close());
  const pki = opts.pki ? startPki(opts, opts.pki, registry, logger, geo, metrics) : undefined;
  if (pki) {
    resources.add(() => pki.endpoint.close());
    const pkiAddr = await pki.endpoint.listen();
    logger.info('server.pki-listening', { address: pkiAddr.address, port: pkiAddr.port });
  }
  const addr = await endpoint.listen();
  if (stop.isRequested) return;
  resources.isListening = true;
  logger.info('server.listening', { address: addr.address, port: addr.port, workers: pool.workerCount });
  if (cluster.isWorker) process.send?.(READY_MESSAGE);
  await stop.requested;
  logger.info('server.stopping', {
    provisioned: endpoint.stats.provisioned,
    failed: endpoint.stats.failed,
    // DAA verification batches sent to the workers, "size:count,..." (bench/server.bench.ts reads it)
    batches: [...pool.batchSizes]
      .sort((a, b) => a[0] - b[0])
      .map(([size, count]) => `${size}:${count}`)
      .join(','),
  });
}
