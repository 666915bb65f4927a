// An XTT endpoint in this process for the endpoint suites (limits, linger): fresh server keys, a
// SQLite registry with one network and one batch of 10, a one-thread verify pool, protocol/xtt's
// server with sealed cookies, and the endpoint with the given limits on 127.0.0.1 (a free port);
// all of it closed and removed at teardown.
import type { ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../../../protocol/xtt/cookie.ts';
import { XttServer } from '../../../protocol/xtt/server.ts';
import { VerifyPool } from '../../../server-stub/endpoint/verify-pool.ts';
import { XttEndpoint } from '../../../server-stub/endpoint/xtt-endpoint.ts';
import { OpensslP256Signer } from '../../../server-stub/keys/openssl-signer.ts';
import { createKeyMaterial, loadKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { memoryLogger } from '../../../server-stub/log.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { makeGroup } from './_xtt-devices.ts';

/** The batch `b` of the world's group is in network `n` with this /64 prefix. */
export async function endpointWorld(
  t: ExecutionContext,
  prefix: string,
  limits: Omit<ConstructorParameters<typeof XttEndpoint>[0], 'host' | 'port'>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'enf-endpoint-'));
  createKeyMaterial(dir, systemRng);
  const keys = loadKeyMaterial(dir);
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await registry.addNetwork({ name: 'n', prefix });
  const group = makeGroup();
  await registry.addBatch({ gpk: group.gpk, basename: group.basename, name: 'b', network: 'n', size: 10 });
  const logger = memoryLogger();
  const pool = new VerifyPool({ workers: 1 });
  const xtt = new XttServer({
    certificate: keys.serverCertificate,
    signer: new OpensslP256Signer(keys.serverKeys.privateKey, keys.serverKeys.publicKey),
    cookies: new SealedCookieStrategy({ rng: systemRng }),
    rng: systemRng,
  });
  const endpoint = new XttEndpoint(
    { host: '127.0.0.1', port: 0, ...limits },
    { xtt, policy: new IdentityPolicy(registry, { logger, verifier: pool }), logger },
  );
  const { port } = await endpoint.listen();
  const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));
  t.teardown(async () => {
    await endpoint.close();
    await pool.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { endpoint, port, root, group, registry, pool, xtt, logger };
}
