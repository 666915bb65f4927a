// `enf-server start`: wires the real adapters (STYLE.md: only a program's entry builds them): key
// material from the state directory, the SQLite registry, the identity policy, the DAA verification
// pool, protocol/xtt's server with sealed cookies, and the TCP endpoint; runs until SIGTERM/SIGINT,
// then stops accepting, closes connections, workers and the registry. Logs go to stderr for journald.
import { systemRng } from '../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../protocol/xtt/cookie.ts';
import { XttServer } from '../protocol/xtt/server.ts';
import { SoftwareP256Signer, type ServerPolicy } from '../protocol/xtt/signers.ts';
import { openRegistry, type StartOptions } from './cli.ts';
import { IdentityPolicy } from './identity-policy.ts';
import { journalLogger, rateLimitedWarnings } from './log.ts';
import { loadKeyMaterial } from './server-keys.ts';
import { VerifyPool } from './verify-pool.ts';
import { XttEndpoint } from './xtt-endpoint.ts';

/** The endpoint gives every connection its own policy; this one is never reached. */
const unreachablePolicy: ServerPolicy = {
  verifyDaa: () => Promise.resolve({ ok: false, reason: 'no connection policy' }),
  assignIdentity: () => Promise.resolve({ ok: false, reason: 'no connection policy' }),
};

export async function startServer(opts: StartOptions, stop?: Promise<void>): Promise<void> {
  const logger = rateLimitedWarnings(journalLogger(), 50);
  const keys = loadKeyMaterial(opts.dir);
  const signer = SoftwareP256Signer.fromPrivateKey(keys.serverKeys.privateKey, systemRng);
  keys.serverKeys.privateKey.fill(0);
  const registry = openRegistry(opts.dir);
  const pool = new VerifyPool({ ...(opts.workers > 0 ? { workers: opts.workers } : {}), logger });
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
      { xtt, policy: new IdentityPolicy(registry, { logger }), verifier: pool, logger },
    );
    const addr = await endpoint.listen();
    logger.info('server.listening', { address: addr.address, port: addr.port, workers: pool.workerCount });
    await (stop ??
      new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      }));
    logger.info('server.stopping', {
      provisioned: endpoint.stats.provisioned,
      failed: endpoint.stats.failed,
    });
    await endpoint.close();
  } finally {
    await pool.close();
    await registry.close();
    signer.destroy();
  }
}
