// Several enf-server processes behind one address:
// two real `enf-server start` processes on different ports, each with its own state directory (the
// same key material, as a deployment would copy it) and both pointed at one PostgreSQL registry with
// --registry-url (a real server started by test/helpers/postgres.ts). Networks and batches are made
// with the real CLI on the same URL (flag and $ENF_SERVER_REGISTRY_URL). Devices with software keys
// (./_xtt-devices.ts) handshake against both instances at once: no address is handed out twice and a
// device gets the same address from either. A revocation through one instance (its management API,
// or the CLI) makes the very next handshake at the other one refused: nothing is cached per instance.
import test from 'ava';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemRng } from '../../../protocol/util/rng.ts';
import { formatIpv6 } from '../../../server-stub/registry/ipv6.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { startPostgres } from '../../helpers/postgres.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { TOKEN } from './http/_fixtures.ts';
import { handshake, makeGroup, TestDevice } from './_xtt-devices.ts';
import { cleanEnv, runEnfCli, type CliRun } from './_enf-cli.ts';

const pgTest = suiteRequires('enf-server on a shared PostgreSQL registry', ['postgres']);
const MAIN = fileURLToPath(new URL('../../../server-stub/main.ts', import.meta.url));
const KEY_FILES = ['root_cert.bin', 'server_certificate.bin', 'server_keys.asn1.bin'];

/** The real enf-server CLI with --json; `env` adds to a clean environment for ENF_SERVER_*. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runEnfCli(args, { ...cleanEnv(), ...env });
}

/** `enf-server start` on a free loopback port; with `http`, the management API too. */
async function startInstance(dir: string, url: string, http: boolean) {
  const args = ['--import', 'tsx', MAIN, '--dir', dir, 'start', '--registry-url', url];
  args.push('--bind', '127.0.0.1', '--port', '0', '--workers', '1');
  if (http) {
    const tokens = join(dir, 'api-tokens');
    writeFileSync(tokens, `${TOKEN}\n`, { mode: 0o600 });
    args.push('--http-port', '0', '--http-bind', '127.0.0.1', '--api-token-file', tokens);
  }
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ENF_SERVER_REGISTRY_URL: '' },
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ports = await new Promise<{ xtt: number; http: number | undefined }>((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const xtt = /server\.listening address=\S+ port=(\d+)/.exec(log);
      const web = /http\.listening host=\S+ port=(\d+)/.exec(log);
      if (xtt && (!http || web)) resolve({ xtt: Number(xtt[1]), http: web ? Number(web[1]) : undefined });
    });
    void exited.then((code) => reject(new Error(`enf-server exited ${code}: ${log}`)));
  });
  return {
    ...ports,
    log: () => log,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

test('--registry-url: anything but a postgres URL is bad input naming the option; no server is exit 5; value never echoed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-pgurl-'));
  try {
    for (const [args, env] of [
      [['--dir', dir, 'network', 'list', '--registry-url', 'mysql://u:hunter2@db/x'], {}],
      [['--dir', dir, 'start', '--registry-url', 'sqlite:///var/lib/x?pw=hunter2'], {}],
      [['--dir', dir, 'audit'], { ENF_SERVER_REGISTRY_URL: 'http://u:hunter2@db/x' }],
      [['--dir', dir, 'init', '--registry-url', 'postgres:// hunter2'], {}],
    ] as const) {
      const r = await cli([...args], env);
      t.is(r.code, 6, r.stderr);
      const err = (r.json as { error: { code: string; message: string } }).error;
      t.is(err.code, 'BAD_VALUE');
      t.regex(err.message, /--registry-url/);
      t.notRegex(r.stderr, /hunter2/);
    }
    // A well-formed URL with nothing listening (loopback port 1): a registry error, exit 5.
    const down = await cli([
      '--dir',
      dir,
      'network',
      'list',
      '--registry-url',
      'postgres://u:hunter2@127.0.0.1:1/x',
    ]);
    t.is(down.code, 5, down.stderr);
    t.is((down.json as { error: { code: string } }).error.code, 'STORAGE');
    t.notRegex(down.stderr, /hunter2/);
    t.false(existsSync(join(dir, 'registry.sqlite')), 'no registry opened');
    t.false(existsSync(join(dir, 'root_cert.bin')), 'init refused before writing keys');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

pgTest(
  'two enf-server processes on one PostgreSQL registry: unique addresses, revocations seen by both',
  async (t) => {
    t.timeout(300_000); // the machine is shared: no timing assumptions
    const pg = await startPostgres();
    const tmp = mkdtempSync(join(tmpdir(), 'enf-pg-servers-'));
    const instances: Awaited<ReturnType<typeof startInstance>>[] = [];
    try {
      const conn = await pg.createDatabase();
      const url = `postgres://${pg.user}@/${String(conn.database)}?host=${encodeURIComponent(pg.host)}&port=${pg.port}`;
      const dirA = join(tmp, 'a');
      const dirB = join(tmp, 'b');
      createKeyMaterial(dirA, systemRng);
      mkdirSync(dirB, { mode: 0o700 });
      for (const f of KEY_FILES) copyFileSync(join(dirA, f), join(dirB, f));
      const root = new Uint8Array(readFileSync(join(dirA, 'root_cert.bin')));

      // The operator's side, on the shared registry: schema, network, batch (flag and env forms).
      const init = await cli(['--dir', join(tmp, 'c'), 'init', '--registry-url', url]);
      t.is(init.code, 0, init.stderr);
      t.false(JSON.stringify(init.json).includes(url), 'the URL is not echoed');
      const net = await cli(['network', 'add', '--name', 'plant-a', '--prefix', '2001:db8:7::/64'], {
        ENF_SERVER_REGISTRY_URL: url,
      });
      t.is(net.code, 0, net.stderr);
      const group = makeGroup();
      const gpkFile = join(tmp, 'gpk.bin');
      writeFileSync(gpkFile, group.gpk);
      const batch = await cli([
        'batch',
        'add',
        '--registry-url',
        url,
        '--gpk-file',
        gpkFile,
        '--basename',
        'BASENAME',
        '--name',
        'lot-1',
        '--network',
        'plant-a',
        '--size',
        '20',
      ]);
      t.is(batch.code, 0, batch.stderr);

      instances.push(await startInstance(dirA, url, true), await startInstance(dirB, url, false));
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];

      // Each device handshakes at both instances at once; new devices race across the two.
      const devices = Array.from({ length: 8 }, () => new TestDevice(group.member()));
      const outcomes = await Promise.all(
        devices.map((d) => Promise.all([handshake(a.xtt, d, root), handshake(b.xtt, d, root)])),
      );
      const ids: string[] = [];
      for (const [atA, atB] of outcomes) {
        if (!atA.ok || !atB.ok) return t.fail(`handshake failed: ${JSON.stringify([atA, atB])}`);
        t.is(formatIpv6(atA.identity), formatIpv6(atB.identity), 'one device, one address on both');
        ids.push(formatIpv6(atA.identity));
      }
      t.is(new Set(ids).size, devices.length, 'no address handed out twice');
      t.true(ids.every((id) => id.startsWith('2001:db8:7:0:')));
      const listed = await cli(['device', 'list', '--registry-url', url]);
      t.deepEqual((listed.json as { identity: string }[]).map((d) => d.identity).sort(), [...ids].sort());

      // Revoke through instance A's management API: the next handshake at B is refused.
      const revoked = await fetch(`http://127.0.0.1:${a.http}/api/v1/devices/${ids[0]}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      t.is(revoked.status, 200, await revoked.text());
      t.like(await handshake(b.xtt, devices[0]!, root), { ok: false });
      // Revoke through the CLI on the shared registry: the next handshake at A is refused.
      const viaCli = await cli(['device', 'revoke', ids[1]!, '--registry-url', url]);
      t.is(viaCli.code, 0, viaCli.stderr);
      t.like(await handshake(a.xtt, devices[1]!, root), { ok: false });
      // The others still get their addresses from both: the refusals are the revocations.
      for (const port of [a.xtt, b.xtt]) {
        const again = await handshake(port, devices[2]!, root);
        t.true(again.ok && formatIpv6(again.identity) === ids[2]);
      }

      const audit = await cli(['audit', '--outcome', 'refused', '--registry-url', url]);
      t.deepEqual(
        (audit.json as { identity: string | null; reason: string }[]).map((e) => e.reason),
        ['device-revoked', 'device-revoked'],
      );
      for (const dir of [dirA, dirB]) t.false(existsSync(join(dir, 'registry.sqlite')));
      for (const i of instances.splice(0)) t.is(await i.stop(), 0);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
      await pg.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
