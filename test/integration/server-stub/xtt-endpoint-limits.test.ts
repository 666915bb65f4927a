// Global and per-source connection limits of the XTT endpoint with many sources (Linux routes all of
// 127.0.0.0/8 to loopback, so each test client binds its own 127.0.0.N): a flood of idle connections
// fills the global limit, further ones are cut at once, the idle ones are dropped at the idle
// timeout, and a real device is served afterwards. Nothing of the flood reaches the registry.
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../../../protocol/xtt/cookie.ts';
import { XttServer } from '../../../protocol/xtt/server.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { memoryLogger } from '../../../server-stub/log.ts';
import { OpensslP256Signer } from '../../../server-stub/keys/openssl-signer.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial, loadKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { VerifyPool } from '../../../server-stub/endpoint/verify-pool.ts';
import { XttEndpoint } from '../../../server-stub/endpoint/xtt-endpoint.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { handshake, makeGroup, TestDevice } from './_xtt-devices.ts';

test('a flood from many sources is capped globally and per source; service resumes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  createKeyMaterial(dir, systemRng);
  const keys = loadKeyMaterial(dir);
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await registry.addNetwork({ name: 'n', prefix: '2001:db8:cc:1::/64' });
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
    {
      host: '127.0.0.1',
      port: 0,
      maxConnections: 8,
      maxPerSource: 3,
      // Long enough that a real handshake on a loaded machine never meets them; the test waits for
      // the idle cut instead of sleeping a fixed time.
      idleTimeoutMs: 5_000,
      handshakeTimeoutMs: 120_000,
    },
    { xtt, policy: new IdentityPolicy(registry, { logger, verifier: pool }), logger },
  );
  const { port } = await endpoint.listen();
  const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));

  // 5 sources x 4 connections: per source 3 accepted (15 > 8), so the global limit decides.
  const socks: Socket[] = [];
  for (let src = 2; src <= 6; src++) {
    for (let i = 0; i < 4; i++)
      socks.push(
        connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${src}` }).on('error', () => undefined),
      );
  }
  await waitUntil('all 20 connections accepted or rejected', () => endpoint.stats.rejectedByLimit >= 12);
  t.is(endpoint.openConnections, 8);
  t.is(endpoint.stats.rejectedByLimit, 12);
  t.true(logger.lines.some((l) => l.includes('reason=global-limit')));
  t.true(logger.lines.some((l) => l.includes('reason=per-source-limit')));

  // The idle flood is cut at the idle timeout; then a device from yet another source is served.
  await waitUntil('the idle flood cut at the idle timeout', () => endpoint.openConnections === 0);
  t.true(endpoint.stats.timedOut >= 8);
  const r = await handshake(port, new TestDevice(group.member()), root, { host: '127.0.0.1' });
  t.true(r.ok);
  const audit = await registry.queryAudit();
  t.deepEqual(
    audit.map((a) => a.reason),
    ['new-device'],
    'the flood left no trace in the registry',
  );
  socks.forEach((s) => s.destroy());
  await endpoint.close();
  await pool.close();
  await registry.close();
});
