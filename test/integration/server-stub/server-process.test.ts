// `enf-server start` as a real process (tsx server-stub/main.ts): serves handshakes, stops cleanly on
// SIGTERM, logs one line per event without secrets; and durability: kill -9
// during a storm of handshakes, restart, and no identity is lost or duplicated, the audit intact.
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { startEnfServer, type EnfServerProcess } from './_enf-server.ts';
import { handshake, makeGroup, TestDevice, type TestGroup } from './_xtt-devices.ts';

type Server = EnfServerProcess;

/** A server directory removed when the test ends (passed or not). */
async function setupDir(t: ExecutionContext): Promise<{ dir: string; group: TestGroup; root: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-server-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  createKeyMaterial(dir, systemRng);
  const group = makeGroup();
  const r = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await r.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  await r.addBatch({
    gpk: group.gpk,
    basename: group.basename,
    name: 'lot-1',
    network: 'plant-a',
    size: 1000,
  });
  await r.close();
  return { dir, group, root: new Uint8Array(readFileSync(join(dir, 'root_cert.bin'))) };
}

function startServer(dir: string, extra: string[] = []): Promise<Server> {
  return startEnfServer(dir, ['--workers', '1', ...extra]);
}

test('start serves handshakes, logs one line per event without secrets, stops on SIGTERM', async (t) => {
  const { dir, group, root } = await setupDir(t);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `${toHex(systemRng.bytes(32))}\n`, { mode: 0o600 });
  const http = [
    '--http-port',
    '0',
    '--http-bind',
    '127.0.0.1',
    '--api-token-file',
    tokens,
    '--metrics-public',
  ];
  const geo = join(dir, 'geo.csv');
  writeFileSync(geo, '127.0.0.0/8,Loopback\n');
  const server = await startServer(dir, [...http, '--geoip', geo]);
  const device = new TestDevice(group.member());
  const r = await handshake(server.port, device, root);
  t.true(r.ok);
  // The management listener (server-stub/http) runs in the same process and counts the handshake.
  const httpPort = Number(/http\.listening host=\S+ port=(\d+)/.exec(server.stderr())?.[1]);
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.regex(metrics, /^enf_handshakes_total\{organization="default",outcome="provisioned"\} 1$/m);
  t.regex(metrics, /^enf_verify_batch_size_count 1$/m);
  t.regex(metrics, /^enf_devices\{status="active"\} 1$/m);
  server.proc.kill('SIGTERM');
  t.deepEqual(await server.exited, { code: 0, signal: null });
  const log = server.stderr();
  t.regex(log, /^<6>server\.listening /m);
  t.regex(
    log,
    /^<6>handshake\.provisioned src=127\.0\.0\.1 port=\d+ .* reason=new-device id=2001:db8:aa:1:/m,
  );
  t.regex(log, /^<6>server\.stopping provisioned=1 failed=0 batches="?1:1"?$/m);
  for (const line of log.trimEnd().split('\n')) t.regex(line, /^<[346]>[a-z.-]+( [a-z]+=\S+)*$/, line);
  const audit = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  t.deepEqual(
    (await audit.queryAudit()).map((a) => [a.reason, a.geolocation]),
    [['new-device', 'Loopback']],
  );
  await audit.close();
  const serverKey = toHex(readFileSync(join(dir, 'server_keys.asn1.bin')).subarray(7, 39));
  const rootKey = toHex(readFileSync(join(dir, 'root_keys.asn1.bin')).subarray(7, 39));
  t.false(log.includes(serverKey) || log.includes(rootKey), 'no private key in the log');
});

// With --registry-sync normal a killed process must lose nothing even without per-commit fsync; with
// the default full, concurrent decisions share one COMMIT (group commit) and a device must hear of
// its identity only once that COMMIT is done (registry-processes.test.ts kills one-at-a-time writers).
for (const sync of ['normal', 'full'] as const) {
  test(`kill -9 during a storm of handshakes (--registry-sync ${sync}): after restart no identity is lost or duplicated`, async (t) => {
    const { dir, group, root } = await setupDir(t);
    const devices = Array.from({ length: 24 }, () => new TestDevice(group.member()));
    const got = new Map<number, string>();
    let server = await startServer(dir, ['--registry-sync', sync]);
    let killed = false;
    let next = 0;
    const worker = async () => {
      while (!killed && next < devices.length) {
        const i = next++;
        const r = await handshake(server.port, devices[i]!, root);
        if (r.ok) {
          got.set(i, toHex(r.identity));
          if (got.size === 8 && !killed) {
            killed = true;
            server.proc.kill('SIGKILL');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const exit = await server.exited;
    t.is(exit.signal, 'SIGKILL');
    t.true(got.size >= 8);

    server = await startServer(dir);
    const after = new Map<number, string>();
    for (let i = 0; i < devices.length; i++) {
      const r = await handshake(server.port, devices[i]!, root);
      t.true(r.ok, `device ${i} after restart`);
      if (r.ok) after.set(i, toHex(r.identity));
    }
    for (const [i, id] of got) t.is(after.get(i), id, `device ${i} kept its identity`);
    t.is(new Set(after.values()).size, devices.length, 'no identity handed out twice');
    server.proc.kill('SIGTERM');
    t.is((await server.exited).code, 0);

    const db = new Database(join(dir, 'registry.sqlite'), { readonly: true });
    t.is(db.pragma('integrity_check', { simple: true }), 'ok');
    const rows = db.prepare('SELECT identity FROM devices').all() as { identity: Buffer }[];
    const provisioned = db
      .prepare("SELECT DISTINCT identity FROM audit WHERE outcome = 'provisioned'")
      .all() as { identity: Buffer }[];
    db.close();
    t.is(rows.length, devices.length);
    t.deepEqual(
      provisioned.map((r) => r.identity.toString('hex')).sort(),
      rows.map((r) => r.identity.toString('hex')).sort(),
      'every device has its provisioning in the audit',
    );
  });
}

test('--processes 2: two server processes share the port and the registry, identities stay unique', async (t) => {
  const { dir, group, root } = await setupDir(t);
  const server = await startServer(dir, ['--processes', '2']);
  const devices = Array.from({ length: 8 }, () => new TestDevice(group.member()));
  const first = await Promise.all(devices.map((d) => handshake(server.port, d, root)));
  const second = await Promise.all(devices.map((d) => handshake(server.port, d, root)));
  t.true([...first, ...second].every((r) => r.ok));
  const ids = first.map((r) => (r.ok ? toHex(r.identity) : ''));
  t.deepEqual(
    second.map((r) => (r.ok ? toHex(r.identity) : '')),
    ids,
  );
  t.is(new Set(ids).size, devices.length);
  server.proc.kill('SIGTERM');
  t.deepEqual(await server.exited, { code: 0, signal: null });
  t.is(server.stderr().match(/^<6>server\.stopping /gm)?.length, 2, 'two processes served and stopped');
});
