// Acceptance in TPM mode with real components: a swtpm provisioned by the factory code
// (factory/provision.ts: ECDAA key at 0x81800000, reference NV layout, root certificate of the
// server below), the real enf-server with that batch registered, and the agent reading GPK,
// credential, basename and root certificate from NV, signing with the TPM's ECDAA key and creating
// its long-term key in the TPM. swtpm and the server run inside the test's network namespace with
// the agent (a namespace cannot reach the host's loopback). The TPM state is provisioned on the host
// first, then the same state directory is served from inside the namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeBatch, createBatch, openBatch } from '../../../factory/batch.ts';
import { provisionDevice } from '../../../factory/provision.ts';
import { EXIT } from '../../../agent/exit-codes.ts';
import { formatIpv6 } from '../../../protocol/util/ipv6.ts';
import { FileStateStore } from '../../../agent/state-store.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { Tpm } from '../../../tpm/tpm.ts';
import { createNetns, ipv6Addresses } from '../../helpers/netns.ts';
import { notifyReceiver } from '../../helpers/notify-receiver.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';
import { swtpmSocketArgs } from '../../../qemu/swtpm-command.ts';

const test = suiteRequires('agent first boot with swtpm', ['root', 'netns', 'swtpm']);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function track(proc: ChildProcess) {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function until(what: string, cond: () => boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial(
  'TPM mode: first start provisions with the TPM, restart re-applies without a handshake',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'xtt-first-boot-tpm-'));
    const ns = createNetns('xtttpm');
    const procs: ReturnType<typeof track>[] = [];
    t.teardown(async () => {
      for (const p of procs.reverse()) {
        p.proc.kill('SIGTERM');
        await p.exited;
      }
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    // Server keys, network and the factory batch registered with the server.
    const serverDir = join(dir, 'server');
    createKeyMaterial(serverDir, systemRng);
    const rootCertificate = new Uint8Array(readFileSync(join(serverDir, 'root_cert.bin')));
    const created = createBatch({
      dir: join(dir, 'batch'),
      name: 'lot-tpm',
      size: 10,
      basename: new TextEncoder().encode('BASENAME'),
      rng: systemRng,
    });
    closeBatch(created);
    const batch = openBatch(join(dir, 'batch'), { withSecret: true });
    const r = SqliteRegistry.open(join(serverDir, 'registry.sqlite'));
    await r.addNetwork({ name: 'plant-b', prefix: '2001:db8:bb:1::/64' });
    await r.addBatch({
      gpk: batch.gpkBytes,
      basename: batch.basename,
      name: 'lot-tpm',
      network: 'plant-b',
      size: 10,
    });
    await r.close();

    // Factory provisioning of a swtpm on the host, then a clean shutdown keeping the state.
    const tpmState = join(dir, 'tpm');
    spawnSync('mkdir', ['-p', tpmState]);
    const factorySw = await startSwtpm({ stateDir: tpmState });
    const tpm = new Tpm(factorySw.transport());
    try {
      await provisionDevice({ tpm, batch, rootCertificate, force: false, rng: systemRng });
    } finally {
      await tpm.close();
      closeBatch(batch);
      await factorySw.stop();
    }

    // The same TPM state served inside the namespace, with the server next to it.
    const tpmPort = 21000 + Math.floor(Math.random() * 20000);
    const swtpm = track(
      spawn('ip', [
        'netns',
        'exec',
        ns.name,
        'swtpm',
        ...swtpmSocketArgs({ stateDir: tpmState, port: tpmPort }),
      ]),
    );
    procs.push(swtpm);
    const serverPort = tpmPort + 2;
    const server = track(
      spawn(
        'ip',
        [
          'netns',
          'exec',
          ns.name,
          process.execPath,
          '--import',
          'tsx',
          'server-stub/main.ts',
          '--dir',
          serverDir,
          'start',
          '--bind',
          '127.0.0.1',
          '--port',
          String(serverPort),
          '--workers',
          '1',
        ],
        { cwd: REPO },
      ),
    );
    procs.push(server);
    await until('enf-server', () => /server\.listening/.test(server.output()));
    await until(
      'swtpm',
      () =>
        ns.ip('-j', 'addr').length > 0 &&
        spawnSync('ip', ['netns', 'exec', ns.name, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${tpmPort}`])
          .status === 0,
    );

    const stateDir = join(dir, 'state');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { host: '127.0.0.1', port: serverPort },
        interface: ns.ifname,
        nodad: true,
        tpm: `swtpm:127.0.0.1:${tpmPort}`,
        stateDir,
        backoff: { initialMs: 200, maxMs: 1000 },
      }),
    );
    const notifyPath = join(dir, 'notify');
    const notify = notifyReceiver(notifyPath);
    t.teardown(() => notify.close());
    const runAgent = () => {
      const a = track(
        spawn(
          'ip',
          [
            'netns',
            'exec',
            ns.name,
            process.execPath,
            '--import',
            'tsx',
            'agent/main.ts',
            'run',
            '--config',
            config,
          ],
          {
            cwd: REPO,
            env: { ...process.env, NOTIFY_SOCKET: notifyPath },
          },
        ),
      );
      procs.push(a);
      return a;
    };

    const agent = runAgent();
    await notify
      .waitFor((m) => m.startsWith('READY=1'), 300_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\nagent: ${agent.output()}\nserver: ${server.output()}`);
      });
    const state = (await new FileStateStore(stateDir).load())!;
    const text = formatIpv6(state.identity);
    t.true(text.startsWith('2001:db8:bb:1:'), text);
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
    t.true(existsSync(join(stateDir, 'longterm-key.tpm')), 'TPM long-term key blob kept');
    const r2 = SqliteRegistry.open(join(serverDir, 'registry.sqlite'));
    const devices = await r2.listDevices();
    await r2.close();
    t.is(devices.length, 1);
    t.is(formatIpv6(devices[0]!.identity), text);
    t.deepEqual(devices[0]!.longtermPublicKey, state.longtermPublicKey, 'the TPM key is the registered one');
    // No watcher: the agent ends by itself after READY=1.
    t.is(await agent.exited, 0, agent.output());

    notify.seen.length = 0;
    const again = runAgent();
    await notify
      .waitFor((m) => m.startsWith('READY=1'), 300_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\nagent: ${again.output()}`);
      });
    t.false(notify.seen.some((m) => m.includes('handshake')));
    t.is(await again.exited, 0, again.output());
  },
);

test.serial(
  'TPM mode on a TPM without factory provisioning: exit 5, nothing stored, no address',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'xtt-unprovisioned-tpm-'));
    const ns = createNetns('xttnotp');
    const tpmState = join(dir, 'tpm');
    spawnSync('mkdir', ['-p', tpmState]);
    const tpmPort = 21000 + Math.floor(Math.random() * 20000);
    const swtpm = track(
      spawn('ip', [
        'netns',
        'exec',
        ns.name,
        'swtpm',
        ...swtpmSocketArgs({ stateDir: tpmState, port: tpmPort }),
      ]),
    );
    t.teardown(async () => {
      swtpm.proc.kill('SIGTERM');
      await swtpm.exited;
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const probe = ['netns', 'exec', ns.name, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${tpmPort}`];
    await until('swtpm', () => spawnSync('ip', probe).status === 0);
    const stateDir = join(dir, 'state');
    const agent = spawnSync(
      'ip',
      [
        ...['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', 'agent/main.ts', 'run'],
        ...['--server-host', '127.0.0.1', '--interface', ns.ifname, '--tpm', `swtpm:127.0.0.1:${tpmPort}`],
        ...['--state-dir', stateDir],
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    t.is(agent.status, EXIT.TPM_NOT_PROVISIONED, agent.stderr);
    t.regex(agent.stderr, /TPM lacks the factory provisioning: NV index 0x01410007 is not defined/);
    t.false(existsSync(join(stateDir, 'state.json')));
    t.deepEqual(ipv6Addresses(ns, ns.ifname), []);
  },
);
