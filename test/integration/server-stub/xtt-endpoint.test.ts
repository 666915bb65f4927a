// The XTT endpoint over loopback TCP with software keys: protocol/xtt's client
// against the real endpoint, SQLite registry on disk, DAA verification in worker threads. Devices are
// members of a DAA group made by the test with protocol/ecdaa.
import anyTest, { type TestFn } from 'ava';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SealedCookieStrategy } from '../../../protocol/xtt/cookie.ts';
import { XttServer } from '../../../protocol/xtt/server.ts';
import { SoftwareP256Signer } from '../../../protocol/xtt/signers.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { memoryLogger } from '../../../server-stub/log.ts';
import { formatIpv6, parseIpv6 } from '../../../server-stub/registry/ipv6.ts';
import type { Batch } from '../../../server-stub/registry/registry.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial, loadKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { VerifyPool } from '../../../server-stub/endpoint/verify-pool.ts';
import { XttEndpoint } from '../../../server-stub/endpoint/xtt-endpoint.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { handshake, makeGroup, TestDevice, type TestGroup } from './_xtt-devices.ts';

interface Ctx {
  dir: string;
  registry: SqliteRegistry;
  endpoint: XttEndpoint;
  pool: VerifyPool;
  port: number;
  root: Uint8Array;
  group: TestGroup;
  batch: Batch;
  group2: TestGroup;
  batch2: Batch;
  logger: ReturnType<typeof memoryLogger>;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-endpoint-'));
  createKeyMaterial(dir, systemRng);
  const keys = loadKeyMaterial(dir);
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  const group = makeGroup();
  const batch = await registry.addBatch({
    gpk: group.gpk,
    basename: group.basename,
    name: 'lot-1',
    network: 'plant-a',
    size: 8,
  });
  const group2 = makeGroup('B2');
  const batch2 = await registry.addBatch({
    gpk: group2.gpk,
    basename: group2.basename,
    name: 'lot-2',
    network: 'plant-a',
    size: 100,
  });
  const logger = memoryLogger();
  const pool = new VerifyPool({ workers: 1, logger });
  const xtt = new XttServer({
    certificate: keys.serverCertificate,
    signer: SoftwareP256Signer.fromPrivateKey(keys.serverKeys.privateKey, systemRng),
    cookies: new SealedCookieStrategy({ rng: systemRng }),
    rng: systemRng,
  });
  const endpoint = new XttEndpoint(
    // Idle and handshake limits long enough that a real handshake on a loaded machine never meets
    // them; the slowloris case waits for the idle cut.
    { host: '::', port: 0, maxPerSource: 6, idleTimeoutMs: 5_000, handshakeTimeoutMs: 120_000 },
    { xtt, policy: new IdentityPolicy(registry, { logger, verifier: pool }), logger },
  );
  const { port } = await endpoint.listen();
  const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));
  t.context = { dir, registry, endpoint, pool, port, root, group, batch, group2, batch2, logger };
});

test.after.always(async (t) => {
  await t.context.endpoint?.close();
  await t.context.pool?.close();
  await t.context.registry?.close();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test.serial('a device is provisioned and keeps its identity; a reset device needs allow-rekey', async (t) => {
  const { port, root, group, registry, batch } = t.context;
  const device = new TestDevice(group.member());
  const first = await handshake(port, device, root);
  if (!first.ok) return t.fail(`handshake failed: ${JSON.stringify(first)}`);
  t.deepEqual(first.identity.subarray(0, 8), parseIpv6('2001:db8:aa:1::', 'p').subarray(0, 8));
  t.deepEqual(await handshake(port, device, root), first, 'second handshake');
  t.deepEqual(await handshake(port, device, root, { suite: 3 }), first, 'another suite, same identity');

  device.forget(); // factory reset: new long-term key, same DAA key
  const refused = await handshake(port, device, root);
  t.false(refused.ok);
  const stored = await registry.getDeviceByIdentity(first.identity);
  await registry.setAllowRekey(batch.gid, stored!.pseudonym, true);
  t.deepEqual(await handshake(port, device, root), first, 'same identity after an allowed re-key');

  const audit = await registry.queryAudit({ gid: batch.gid, limit: 4 });
  t.deepEqual(
    audit.map((a) => a.reason),
    ['rekeyed', 'longterm-key-changed', 'returning-device', 'returning-device'],
  );
  t.true(audit.every((a) => a.sourceAddress === '127.0.0.1' && a.sourcePort > 0));
  t.is(audit[0]!.suite, 1);
  t.is(audit[2]!.suite, 3);
});

test.serial('all four suites provision over IPv6 loopback too', async (t) => {
  const { port, root, group } = t.context;
  const device = new TestDevice(group.member());
  const ids = new Set<string>();
  for (const suite of [1, 2, 3, 4] as const) {
    const r = await handshake(port, device, root, { suite, host: '::1' });
    t.true(r.ok, `suite ${suite}`);
    if (r.ok) ids.add(formatIpv6(r.identity));
  }
  t.is(ids.size, 1);
  const dev = (await t.context.registry.listDevices()).find((d) => ids.has(formatIpv6(d.identity)));
  t.is(dev?.lastSource?.split(' ')[0], '::1');
});

test.serial(
  'revoked devices, unknown batches and bad signatures are refused the same way, and audited',
  async (t) => {
    const { port, root, group, registry, batch } = t.context;
    const device = new TestDevice(group.member());
    const ok = await handshake(port, device, root);
    t.true(ok.ok);
    const dev = ok.ok ? await registry.getDeviceByIdentity(ok.identity) : undefined;
    await registry.revokeDevice(batch.gid, dev!.pseudonym);
    const revoked = await handshake(port, device, root);
    const stranger = await handshake(port, new TestDevice(makeGroup().member()), root);
    t.false(revoked.ok);
    t.deepEqual(revoked, stranger, 'no oracle: the same answer for both');
    const refused = await registry.queryAudit({ outcome: 'refused', limit: 2 });
    t.deepEqual(
      refused.map((a) => a.reason),
      ['unknown-batch', 'device-revoked'],
    );
  },
);

test.serial(
  'a requested id is honoured inside the network only; quota counts distinct devices',
  async (t) => {
    const { port, root, group, registry, batch } = t.context;
    const wanted = parseIpv6('2001:db8:aa:1::77', 'id');
    const a = new TestDevice(group.member());
    const got = await handshake(port, a, root, { requestedId: wanted });
    t.deepEqual(got, { ok: true, identity: wanted });
    const b = new TestDevice(group.member());
    t.false((await handshake(port, b, root, { requestedId: wanted })).ok, 'taken');
    t.false(
      (await handshake(port, b, root, { requestedId: parseIpv6('2001:db8:bb:1::1', 'id') })).ok,
      'outside',
    );
    t.true((await handshake(port, b, root)).ok, 'assigned when not requesting');

    const left = batch.size - (await registry.listDevices({ gid: batch.gid })).length;
    for (let i = 0; i < left; i++) t.true((await handshake(port, new TestDevice(group.member()), root)).ok);
    t.false((await handshake(port, new TestDevice(group.member()), root)).ok, 'over quota');
    t.is((await registry.queryAudit({ limit: 1 }))[0]!.reason, 'batch-quota-exceeded');
    t.true((await handshake(port, a, root)).ok, 'known devices still served at the quota');
  },
);

test.serial('concurrent handshakes of one device get one identity', async (t) => {
  const { port, root, group2, registry, batch2 } = t.context;
  const device = new TestDevice(group2.member());
  const results = await Promise.all(Array.from({ length: 6 }, () => handshake(port, device, root)));
  t.true(results.every((r) => r.ok));
  t.is(new Set(results.map((r) => (r.ok ? toHex(r.identity) : ''))).size, 1);
  const devices = await registry.listDevices({ gid: batch2.gid });
  t.is(devices.length, 1);
  t.is(devices[0]!.handshakeCount, 6);
  const audit = await registry.queryAudit({ gid: batch2.gid });
  t.deepEqual(audit.map((a) => a.reason).sort(), [
    'new-device',
    ...Array<string>(5).fill('returning-device'),
  ]);
});

test.serial(
  'garbage, truncated and oversized messages and slowloris leave the registry unchanged',
  async (t) => {
    const { port, registry, endpoint } = t.context;
    const before = {
      devices: await registry.listDevices(),
      audit: await registry.queryAudit({ limit: 10_000 }),
    };
    const send = (bytes: Uint8Array, closeAfter: boolean) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        let got = '';
        s.on('connect', () => {
          s.write(bytes);
          if (closeAfter) s.end();
        });
        s.on('data', (d: Buffer) => (got += d.toString('hex')));
        s.on('close', () => resolve(got));
        s.on('error', () => undefined);
      });
    const replies = await Promise.all([
      send(systemRng.bytes(70), false), // random ClientInit-sized bytes
      send(new Uint8Array([1, 0, 70, 1, 0, 1, 9]), true), // truncated ClientInit, then close
      send(new Uint8Array([1, 0xff, 0xff, 1]), false), // oversized length
      send(new Uint8Array([1]), false), // slowloris: one byte, then silence
      send(systemRng.bytes(4000), false), // flood past the byte budget
    ]);
    // Every failure gets the same 4-byte Error message or a close, never details.
    for (const r of replies) t.true(r === '' || r.length === 8, r);
    t.deepEqual(
      { devices: await registry.listDevices(), audit: await registry.queryAudit({ limit: 10_000 }) },
      before,
    );
    t.true(endpoint.stats.timedOut >= 1);
    await waitUntil('the server closed every connection', () => endpoint.openConnections === 0);
  },
);

test.serial(
  'per-source connection limit: idle extra connections are cut, the server keeps serving',
  async (t) => {
    const { port, root, group2, endpoint } = t.context;
    const rejectedBefore = endpoint.stats.rejectedByLimit;
    const socks = Array.from({ length: 10 }, () =>
      connect({ host: '127.0.0.1', port }).on('error', () => undefined),
    );
    // Wait for the server to have seen all ten (the sleep this replaced raced a loaded machine).
    await waitUntil(
      'four connections over the limit rejected',
      () => endpoint.stats.rejectedByLimit - rejectedBefore >= 4,
    );
    t.is(endpoint.stats.rejectedByLimit - rejectedBefore, 4, 'six allowed from one source');
    t.true(t.context.logger.lines.some((l) => l.includes('conn.rejected') && l.includes('per-source-limit')));
    // Another source (IPv6 loopback) is served while 127.0.0.1 is at its limit.
    t.true((await handshake(port, new TestDevice(group2.member()), root, { host: '::1' })).ok);
    socks.forEach((s) => s.destroy());
    await waitUntil('the closed connections released', () => endpoint.openConnections === 0);
    t.true((await handshake(port, new TestDevice(group2.member()), root)).ok);
  },
);
