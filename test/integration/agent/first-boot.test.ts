// Acceptance with real processes: the agent (development mode: the reference's sample
// DAA member, test/vectors/xtt-0.12-sample-data) and the real enf-server (server-stub/main.ts, its
// SQLite registry) in a network namespace made by the test. First start provisions and the address
// appears; a restart does no handshake and re-applies; server down then up provisions after
// backoff; a device powered on before its batch is associated with a network keeps asking and
// provisions by itself once the operator associates it; a revoked batch or device is refused for as
// long as it stays revoked (no address, nothing stored, the agent still asking); kill -9 after the
// handshake still ends with exactly one identity, the server's. Backoff caps are short in the
// config (1 s) so retries happen while the test waits; nothing asserts how fast. Without the watcher the agent ends by itself with
// exit 0 after READY=1 (the kill -9 test runs with `watch` so that every stage has a process).
// (TPM mode runs the same flow with tpm/'s signers; its TPM parts are tested in test/integration/tpm.)
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../../agent/exit-codes.ts';
import { formatIpv6 } from '../../../protocol/util/ipv6.ts';
import { FileStateStore } from '../../../agent/state-store.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { createNetns, ipv6Addresses, type TestNetns } from '../../helpers/netns.ts';
import { notifyReceiver, type NotifyReceiver } from '../../helpers/notify-receiver.ts';
import { suiteRequires } from '../../helpers/requirements.ts';

const test = suiteRequires('agent first boot against enf-server', ['root', 'netns']);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(REPO, 'test/vectors/xtt-0.12-sample-data/client');
const PREFIX = '2001:db8:aa:1::/64';

interface World {
  ns: TestNetns;
  dir: string;
  serverDir: string;
  stateDir: string;
  config: string;
  port: number;
  notify: NotifyReceiver;
}

async function world(
  t: { teardown: (f: () => void | Promise<void>) => void },
  opts: { isAssociated?: boolean; watch?: boolean } = {},
): Promise<World> {
  const ns = createNetns('xttfb');
  const dir = mkdtempSync(join(tmpdir(), 'xtt-first-boot-'));
  const serverDir = join(dir, 'server');
  createKeyMaterial(serverDir, systemRng);
  const r = SqliteRegistry.open(join(serverDir, 'registry.sqlite'));
  await r.addNetwork({ name: 'plant-a', prefix: PREFIX });
  await r.addBatch({
    gpk: new Uint8Array(readFileSync(join(SAMPLE, 'daa_gpk.bin'))),
    basename: new Uint8Array(readFileSync(join(SAMPLE, 'basename.bin'))),
    name: 'reference-sample',
    ...(opts.isAssociated === false ? {} : { network: 'plant-a' }),
    size: 10,
  });
  await r.close();
  for (const f of ['daa_gpk.bin', 'daa_cred.bin', 'daa_secretkey.bin', 'basename.bin']) {
    copyFileSync(join(SAMPLE, f), join(dir, f));
  }
  const stateDir = join(dir, 'state');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { host: '127.0.0.1', port },
      interface: ns.ifname,
      nodad: true,
      stateDir,
      backoff: { initialMs: 200, maxMs: 1000, refusedMaxMs: 1000 },
      timeouts: { connectMs: 2000, handshakeMs: 20000 },
      dev: { dir, rootCert: join(serverDir, 'root_cert.bin') },
      watch: opts.watch ?? false,
    }),
  );
  const notify = notifyReceiver(join(dir, 'notify'));
  t.teardown(() => {
    notify.close();
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ns, dir, serverDir, stateDir, config, port, notify };
}

function nsNode(w: World, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', w.ns.name, process.execPath, '--import', 'tsx', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface Proc {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function track(proc: ChildProcess): Proc {
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function startServer(w: World, t: { teardown: (f: () => Promise<void>) => void }): Promise<Proc> {
  const p = track(
    nsNode(w, [
      'server-stub/main.ts',
      '--dir',
      w.serverDir,
      'start',
      '--bind',
      '127.0.0.1',
      '--port',
      String(w.port),
      '--workers',
      '1',
    ]),
  );
  t.teardown(async () => {
    p.proc.kill('SIGTERM');
    await p.exited;
  });
  const deadline = Date.now() + 180_000; // a bound for a hung start, not a speed check
  while (!/server\.listening/.test(p.output())) {
    if (Date.now() > deadline) throw new Error(`enf-server did not start: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

function startAgent(w: World): Proc {
  return track(
    nsNode(w, ['agent/main.ts', 'run', '--config', w.config], { NOTIFY_SOCKET: join(w.dir, 'notify') }),
  );
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  p.proc.kill(signal);
  return p.exited;
}

async function serverDevices(w: World) {
  const r = SqliteRegistry.open(join(w.serverDir, 'registry.sqlite'));
  try {
    return await r.listDevices();
  } finally {
    await r.close();
  }
}

test.serial('first start provisions and configures; restart re-applies without a handshake', async (t) => {
  const w = await world(t);
  await startServer(w, t);
  const agent = startAgent(w);
  const ready = await w.notify
    .waitFor((m) => m.startsWith('READY=1'), 300_000)
    .catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.output()}`);
    });
  const state = await new FileStateStore(w.stateDir).load();
  t.truthy(state);
  const text = formatIpv6(state!.identity);
  t.is(ready, `READY=1\nSTATUS=identity ${text} on ${w.ns.ifname}`);
  t.true(text.startsWith('2001:db8:aa:1:'), text);
  t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
  t.truthy(state!.certificate, 'self-signed identity certificate stored');
  const devices = await serverDevices(w);
  t.is(devices.length, 1);
  t.is(formatIpv6(devices[0]!.identity), text, "the stored identity is the server's");
  t.deepEqual(devices[0]!.longtermPublicKey, state!.longtermPublicKey);
  t.is(await agent.exited, 0, agent.output());

  w.ns.ip('-6', 'addr', 'flush', 'dev', w.ns.ifname, 'scope', 'global');
  w.notify.seen.length = 0;
  const again = startAgent(w);
  await w.notify.waitFor((m) => m.startsWith('READY=1'), 300_000);
  t.false(
    w.notify.seen.some((m) => m.includes('handshake')),
    'no handshake on restart',
  );
  t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
  t.is((await serverDevices(w))[0]!.handshakeCount, 1);
  t.is(await again.exited, 0, again.output());
});

test.serial('server down, then up: the agent retries with backoff and provisions', async (t) => {
  const w = await world(t);
  const agent = startAgent(w);
  await w.notify.waitFor((m) => /STATUS=provisioning: server unreachable .*retry 2 in/.test(m), 300_000);
  t.false(w.notify.seen.some((m) => m.startsWith('READY=1')));
  await startServer(w, t);
  await w.notify.waitFor((m) => m.startsWith('READY=1'), 300_000);
  t.true(w.notify.seen.filter((m) => m.includes('server unreachable')).length >= 1);
  t.is((await serverDevices(w)).length, 1);
  t.is(await agent.exited, 0, agent.output());
});

/** Waits until the agent has been refused `n` times (STATUS=), failing with its output if it exits. */
async function refusedTimes(w: World, agent: Proc, n: number): Promise<void> {
  const refused = new RegExp(`^STATUS=provisioning: server refused this device \\(${n}x; `);
  let isDone = false;
  const exited = agent.exited.then((code) => {
    if (!isDone) throw new Error(`agent exited ${code} while refused:\n${agent.output()}`);
  });
  try {
    await Promise.race([w.notify.waitFor((m) => refused.test(m), 300_000), exited]);
  } finally {
    isDone = true;
  }
}

function enfCli(w: World, args: string[]): Promise<{ code: number | null; output: string }> {
  const p = track(nsNode(w, ['server-stub/main.ts', '--dir', w.serverDir, ...args]));
  return p.exited.then((code) => ({ code, output: p.output() }));
}

test.serial(
  'powered on before its batch is associated with a network: keeps asking, provisions by itself after the association',
  async (t) => {
    const w = await world(t, { isAssociated: false });
    await startServer(w, t);
    const agent = startAgent(w);
    // The agent is refused again and again without giving up (the order devices meet in the field).
    await refusedTimes(w, agent, 3);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), []);
    t.is(await new FileStateStore(w.stateDir).load(), undefined);
    t.regex(agent.output(), /its batch may not be associated with a network yet/);
    // The customer scans the label later: the operator associates the batch with the network.
    const assigned = await enfCli(w, ['batch', 'assign', 'reference-sample', '--network', 'plant-a']);
    t.is(assigned.code, 0, assigned.output);
    await w.notify
      .waitFor((m) => m.startsWith('READY=1'), 300_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${agent.output()}`);
      });
    const state = await new FileStateStore(w.stateDir).load();
    const devices = await serverDevices(w);
    t.is(devices.length, 1);
    t.is(formatIpv6(state!.identity), formatIpv6(devices[0]!.identity));
    t.deepEqual(
      ipv6Addresses(w.ns, w.ns.ifname).map((a) => a.local),
      [formatIpv6(devices[0]!.identity)],
    );
    const r = SqliteRegistry.open(join(w.serverDir, 'registry.sqlite'));
    const audit = await r.queryAudit();
    await r.close();
    t.true(audit.filter((a) => a.outcome === 'refused').length >= 3, 'the refusals were audited');
    t.is(audit.filter((a) => a.outcome === 'provisioned').length, 1);
    t.is(await agent.exited, 0, agent.output());
  },
);

test.serial(
  'revoked batch: refused for as long as it stays revoked, no address, nothing stored',
  async (t) => {
    const w = await world(t);
    const r = SqliteRegistry.open(join(w.serverDir, 'registry.sqlite'));
    const batch = (await r.findBatch('reference-sample'))!;
    await r.revokeBatch(batch.gid);
    await r.close();
    await startServer(w, t);
    const agent = startAgent(w);
    await refusedTimes(w, agent, 3);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), []);
    t.is(await new FileStateStore(w.stateDir).load(), undefined);
    t.false(w.notify.seen.some((m) => m.startsWith('READY=1')));
    t.is(await stop(agent), 0, 'SIGTERM during the refusal backoff stops it cleanly');
  },
);

test.serial(
  "kill -9 at each stage: every restart ends with exactly one identity, the server's",
  async (t) => {
    const w = await world(t, { watch: true });
    await startServer(w, t);
    // One device, killed at successive stages of its first boot; each kill is followed by a restart
    // that is itself killed at the next stage. Triggers are watched as fast as the test can poll.
    const stages: [string, () => Promise<boolean>][] = [
      [
        'long-term key stored, handshake under way',
        async () => existsSync(join(w.stateDir, 'longterm-key.bin')),
      ],
      ['server registered the device', async () => (await serverDevices(w)).length > 0],
      ['identity stored', async () => existsSync(join(w.stateDir, 'state.json'))],
      ['address configured', async () => ipv6Addresses(w.ns, w.ns.ifname).length > 0],
      [
        'READY=1 sent',
        async () => {
          w.notify.drain();
          return w.notify.seen.some((m) => m.startsWith('READY=1'));
        },
      ],
    ];
    for (const [stage, reached] of stages) {
      const agent = startAgent(w);
      const deadline = Date.now() + 300_000;
      while (!(await reached())) {
        if (Date.now() > deadline) throw new Error(`never reached: ${stage}\n${agent.output()}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      t.not(await stop(agent, 'SIGKILL'), 0, `killed at: ${stage}`);
      t.true((await serverDevices(w)).length <= 1, `at most one device after: ${stage}`);
    }
    w.notify.seen.length = 0;
    const last = startAgent(w);
    await w.notify.waitFor((m) => m.startsWith('READY=1'), 300_000);
    const devices = await serverDevices(w);
    t.is(devices.length, 1, 'exactly one device on the server');
    const state = await new FileStateStore(w.stateDir).load();
    t.is(
      formatIpv6(state!.identity),
      formatIpv6(devices[0]!.identity),
      "the stored identity is the server's",
    );
    t.deepEqual(devices[0]!.longtermPublicKey, state!.longtermPublicKey);
    t.deepEqual(
      ipv6Addresses(w.ns, w.ns.ifname).map((a) => a.local),
      [formatIpv6(devices[0]!.identity)],
    );
    t.is(await stop(last), 0);
  },
);

test.serial(
  'a server whose certificate does not chain to our root: exit 7 at once, nothing stored',
  async (t) => {
    const w = await world(t);
    const otherRoot = join(w.dir, 'other-root');
    createKeyMaterial(otherRoot, systemRng);
    const cfg = JSON.parse(readFileSync(w.config, 'utf8')) as { dev: { rootCert: string } };
    cfg.dev.rootCert = join(otherRoot, 'root_cert.bin');
    writeFileSync(w.config, JSON.stringify(cfg));
    await startServer(w, t);
    const agent = startAgent(w);
    t.is(await agent.exited, EXIT.SERVER_UNTRUSTED, agent.output());
    t.regex(agent.output(), /ServerInitAndAttest: server certificate names an unknown root_id/);
    t.is(await new FileStateStore(w.stateDir).load(), undefined);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), []);
  },
);

test.serial(
  'revoked device: once its state is gone, the server refuses it and it keeps asking, no address',
  async (t) => {
    const w = await world(t);
    await startServer(w, t);
    const first = startAgent(w);
    await w.notify.waitFor((m) => m.startsWith('READY=1'), 300_000);
    t.is(await first.exited, 0, first.output());
    const r = SqliteRegistry.open(join(w.serverDir, 'registry.sqlite'));
    const [device] = await r.listDevices();
    await r.revokeDevice(device!.gid, device!.pseudonym);
    await r.close();
    // The identity is the device's for life, so a later boot never asks; a device that lost its state
    // (same TPM or key, same pseudonym) asks again and is refused.
    rmSync(join(w.stateDir, 'state.json'));
    w.ns.ip('-6', 'addr', 'flush', 'dev', w.ns.ifname, 'scope', 'global');
    const again = startAgent(w);
    await refusedTimes(w, again, 2);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), []);
    t.is(await stop(again), 0);
  },
);
