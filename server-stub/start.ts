// `enf-server start`: wires the real adapters (STYLE.md: only a program's entry builds them): key
// material from the state directory, the registry (cli.ts), the identity policy, the DAA verification
// pool, protocol/xtt's server with sealed cookies, and the TCP endpoint; runs until SIGTERM/SIGINT,
// then stops accepting, closes connections, workers and the registry. Logs go to stderr for journald.
// With --processes N > 1 the primary forks N copies (node:cluster) that share the listening port
// (connections are dealt round-robin; one TCP connection, hence one handshake and its cookie, stays
// in one process) and the registry file (SQLite immediate transactions keep identities unique).
// The primary restarts a copy that dies. Connection limits then apply per process.
import cluster from 'node:cluster';
import { systemRng } from '../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../protocol/xtt/cookie.ts';
import { XttServer } from '../protocol/xtt/server.ts';
import type { ServerPolicy } from '../protocol/xtt/signers.ts';
import { openRegistryAt, type StartOptions } from './cli.ts';
import { IdentityPolicy } from './identity-policy.ts';
import { journalLogger, rateLimitedWarnings } from './log.ts';
import { CidrGeoLocator } from './geoip.ts';
import { startManagementFromArgs } from './http/cli-options.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { OpensslP256Signer } from './openssl-signer.ts';
import { loadKeyMaterial } from './server-keys.ts';
import { VerifyPool } from './verify-pool.ts';
import { XttEndpoint } from './xtt-endpoint.ts';

/** The endpoint gives every connection its own policy; this one is never reached. */
const unreachablePolicy: ServerPolicy = {
  verifyDaa: () => Promise.resolve({ ok: false, reason: 'no connection policy' }),
  assignIdentity: () => Promise.resolve({ ok: false, reason: 'no connection policy' }),
};

function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

/** The cluster primary: forks the copies, restarts one that dies, stops them all on SIGTERM. */
async function runPrimary(opts: StartOptions, logger: Logger): Promise<void> {
  loadKeyMaterial(opts.dir).serverKeys.privateKey.fill(0); // fail early, in the primary, on bad keys
  if (opts.geoipFile) CidrGeoLocator.fromFile(opts.geoipFile);
  let isStopping = false;
  const fork = () => cluster.fork({ ENF_SERVER_PROCESS: '1' });
  cluster.on('exit', (worker, code, signal) => {
    if (isStopping) return;
    logger.error('server.process-died', { pid: worker.process.pid, code, signal });
    setTimeout(fork, 500).unref();
  });
  for (let i = 0; i < opts.processes; i++) fork();
  await stopSignal();
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
  logger.info('server.stopped', { processes: workers.length });
}

export async function startServer(opts: StartOptions, stop?: Promise<void>): Promise<void> {
  const logger = rateLimitedWarnings(journalLogger(), 50);
  if (opts.processes > 1 && cluster.isPrimary) return runPrimary(opts, logger);
  const keys = loadKeyMaterial(opts.dir);
  const geo = opts.geoipFile ? CidrGeoLocator.fromFile(opts.geoipFile) : undefined;
  const signer = new OpensslP256Signer(keys.serverKeys.privateKey, keys.serverKeys.publicKey);
  keys.serverKeys.privateKey.fill(0);
  const registry = await openRegistryAt(opts, { synchronous: opts.registrySync ?? 'full' });
  const metrics = new Metrics();
  const pool = new VerifyPool({
    ...(opts.workers > 0 ? { workers: opts.workers } : {}),
    logger,
    onBatch: (n) => metrics.verifyBatch(n),
  });
  metrics.addCollector(() => metrics.queueDepth(pool.queueDepth));
  metrics.addCollector(async () => {
    const batches = await registry.listBatches();
    const revoked = batches.reduce((n, b) => n + b.revokedDevices, 0);
    metrics.deviceCounts({ active: batches.reduce((n, b) => n + b.devices, 0) - revoked, revoked });
  });
  let http: Awaited<ReturnType<typeof startManagementFromArgs>>;
  try {
    const xtt = new XttServer({
      certificate: keys.serverCertificate,
      signer,
      cookies: new SealedCookieStrategy({ rng: systemRng }),
      policy: unreachablePolicy,
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
        policy: new IdentityPolicy(registry, { logger, ...(geo ? { geo } : {}) }),
        verifier: pool,
        logger,
        onHandshake: (outcome, seconds) => metrics.handshakeFinished(outcome, seconds),
      },
    );
    const addr = await endpoint.listen();
    logger.info('server.listening', { address: addr.address, port: addr.port, workers: pool.workerCount });
    http = await startManagementFromArgs(opts.management ?? {}, { registry, metrics, logger });
    await (stop ?? stopSignal());
    logger.info('server.stopping', {
      provisioned: endpoint.stats.provisioned,
      failed: endpoint.stats.failed,
      // DAA verification batches sent to the workers, "size:count,..." (bench/server.bench.ts reads it)
      batches: [...pool.batchSizes]
        .sort((a, b) => a[0] - b[0])
        .map(([size, count]) => `${size}:${count}`)
        .join(','),
    });
    await endpoint.close();
  } finally {
    await http?.close();
    await pool.close();
    await registry.close();
    // A cluster copy keeps an IPC channel to the primary open: let go of it so the process ends.
    if (cluster.isWorker) cluster.worker?.disconnect();
  }
}
