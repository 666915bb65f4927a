// Agent figures (targets: bundle at most 1 MB without koffi, peak RSS at most 64 MB):
//   agent.bundle_size        bytes of dist/xtt-agent/xtt-agent.js (koffi excluded)
//   agent.bundle_koffi_size  bytes of the koffi JS + native binaries copied beside it
//   agent.start_to_ready     ms from spawn of the bundled agent to READY=1 (later boot: stored
//                            identity, address added with nodad, watcher up), in a fresh netns
//   agent.peak_rss           MB, VmHWM of that process once READY (includes the startup peak)
//   agent.first_boot_to_ready ms from spawn to READY=1 on first boot: XTT handshake (development
//                            mode, the reference's sample DAA member, software signing) against
//                            enf-server in the same netns, state stored, address added (nodad)
//   agent.first_boot_peak_rss MB, VmHWM of that process once READY
//   agent.steady_rss         MB resident after READY=1 without the watcher (later boot): the sum over
//                            the agent's processes still alive once it settled; 0 when it ended
//   agent.steady_rss_watch   MB, VmRSS of the agent with `watch` 2 s after READY=1 (stays resident)
//   agent.handoff_peak_rss   MB, peak RSS of `xtt-agent handoff` (network.manager none: the Node and
//                            bundle cost of the step the unit runs after READY=1, without a manager)
// The READY figures need root and iproute2 and are skipped with a note otherwise. TPM signing
// costs are in bench/tpm.bench.ts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../agent/state-store.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../server-stub/keys/server-keys.ts';
import { createNetns } from '../test/helpers/netns.ts';
import { notifyReceiver } from '../test/helpers/notify-receiver.ts';
import { emit, median, round } from './stats.ts';

function duBytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + duBytes(join(p, f)), 0);
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field}`);
  return Number(m[1]);
}

/**
 * Starts the bundle in the namespace with NOTIFY_SOCKET set, times start to READY=1 and reads its
 * peak RSS. Then the steady state: without `watch` the agent must end by itself (0 MB once it
 * has); with `watch` its VmRSS 2 s after READY=1, then SIGTERM.
 */
async function runUntilReady(
  netns: string,
  bundle: string,
  config: string,
  notifyPath: string,
  notify: ReturnType<typeof notifyReceiver>,
  timeoutMs: number,
  watch = false,
): Promise<{ ms: number; rssMb: number; steadyMb: number }> {
  const start = performance.now();
  const child = spawn(
    'ip',
    ['netns', 'exec', netns, process.execPath, ...NODE_FLAGS, bundle, 'run', '--config', config],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: notifyPath },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let ended = false;
  const exited = new Promise((res) => child.once('exit', res)).then(() => (ended = true));
  await notify.waitFor((m) => m.startsWith('READY=1'), timeoutMs);
  const ms = performance.now() - start;
  // Without the watcher the agent may be gone already: its own end-of-run line has the peak.
  const peakKb = (() => {
    try {
      return statusKb(child.pid!, 'VmHWM');
    } catch {
      return undefined;
    }
  })();
  let steadyMb: number;
  if (watch) {
    await new Promise((res) => setTimeout(res, 2000));
    steadyMb = ended ? 0 : statusKb(child.pid!, 'VmRSS') / 1024;
    child.kill('SIGTERM');
  } else {
    const timer = new Promise((res) => setTimeout(res, 30_000));
    await Promise.race([exited, timer]);
    steadyMb = ended ? 0 : statusKb(child.pid!, 'VmRSS') / 1024;
    child.kill('SIGTERM');
  }
  await exited;
  const logged = /run done \(peak RSS ([0-9.]+) MB\)/.exec(log)?.[1];
  const rssMb = peakKb !== undefined ? peakKb / 1024 : Number(logged ?? NaN);
  return { ms, rssMb, steadyMb };
}

async function oneStart(
  bundle: string,
  dir: string,
  i: number,
  watch = false,
): Promise<{ ms: number; rssMb: number; steadyMb: number; handoffMb: number }> {
  const ns = createNetns('xttbench');
  const notifyPath = join(dir, `notify-${i}`);
  const notify = notifyReceiver(notifyPath);
  try {
    const stateDir = join(dir, `state-${i}`);
    await new FileStateStore(stateDir).save({
      identity: new Uint8Array(Buffer.from('fd00747400000000000000000000be01', 'hex')),
      longtermPublicKey: new Uint8Array(65).fill(4),
      server: 'bench:4444',
      provisionedAt: new Date(),
    });
    const config = join(dir, `config-${i}.json`);
    writeFileSync(
      config,
      JSON.stringify({ server: { host: 'bench' }, interface: ns.ifname, stateDir, nodad: true, watch }),
    );
    const r = await runUntilReady(ns.name, bundle, config, notifyPath, notify, 30_000, watch);
    // The handoff step as the unit runs it, without a manager to talk to; it logs its own peak.
    const log = spawnSync(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, ...NODE_FLAGS, bundle, 'handoff', '--config', config,
        '--network-manager', 'none'], // prettier-ignore
      { encoding: 'utf8' },
    ).stderr;
    const handoffMb = Number(/handoff done \(peak RSS ([0-9.]+) MB\)/.exec(log)?.[1] ?? NaN);
    return { ...r, handoffMb };
  } finally {
    notify.close();
    ns.destroy();
  }
}

const SAMPLE = 'test/vectors/xtt-0.12-sample-data/client';
/** The node flags of the unit's ExecStart= (systemd/xtt-agent.service), so figures match a device. */
const NODE_FLAGS = (() => {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync('systemd/xtt-agent.service', 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).filter((w) => w.startsWith('--'));
})();

async function oneFirstBoot(
  bundle: string,
  dir: string,
  i: number,
): Promise<{ ms: number; rssMb: number; steadyMb: number }> {
  const ns = createNetns('xttbfb');
  const notifyPath = join(dir, `fb-notify-${i}`);
  const notify = notifyReceiver(notifyPath);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const serverDir = join(dir, `fb-server-${i}`);
    createKeyMaterial(serverDir, systemRng);
    const r = SqliteRegistry.open(join(serverDir, 'registry.sqlite'));
    await r.addNetwork({ name: 'bench', prefix: '2001:db8:be:1::/64' });
    await r.addBatch({
      gpk: new Uint8Array(readFileSync(join(SAMPLE, 'daa_gpk.bin'))),
      basename: new Uint8Array(readFileSync(join(SAMPLE, 'basename.bin'))),
      name: 'sample',
      network: 'bench',
      size: 10,
    });
    await r.close();
    const port = 30000 + i;
    server = spawn(
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
        String(port),
        '--workers',
        '1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/server\.listening/.test(log)) {
      if (Date.now() > deadline) throw new Error(`enf-server did not start: ${log}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const config = join(dir, `fb-config-${i}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        server: { host: '127.0.0.1', port },
        interface: ns.ifname,
        nodad: true,
        stateDir: join(dir, `fb-state-${i}`),
        dev: { dir: SAMPLE, rootCert: join(serverDir, 'root_cert.bin') },
      }),
    );
    return await runUntilReady(ns.name, bundle, config, notifyPath, notify, 60_000);
  } finally {
    if (server) {
      const gone = new Promise((res) => server!.once('exit', res));
      server.kill('SIGTERM');
      await gone;
    }
    notify.close();
    ns.destroy();
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xtt-agent-bench-'));
  try {
    const out = join(dir, 'bundle');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', out], { stdio: 'ignore' });
    const bundle = join(out, 'xtt-agent.js');
    emit({ bench: 'agent.bundle_size', unit: 'bytes', value: statSync(bundle).size });
    emit({ bench: 'agent.bundle_koffi_size', unit: 'bytes', value: duBytes(join(out, 'node_modules')) });

    if (process.getuid?.() !== 0 || (!existsSync('/usr/bin/ip') && !existsSync('/sbin/ip'))) {
      console.error('agent.start_to_ready/peak_rss skipped: needs root and iproute2');
      return;
    }
    const runs: { ms: number; rssMb: number; steadyMb: number; handoffMb: number }[] = [];
    for (let i = 0; i < 5; i++) runs.push(await oneStart(bundle, dir, i));
    const watching: number[] = [];
    for (let i = 0; i < 3; i++) watching.push((await oneStart(bundle, dir, 10 + i, true)).steadyMb);
    const ms = runs.map((r) => r.ms);
    const rss = runs.map((r) => r.rssMb);
    emit({
      bench: 'agent.start_to_ready',
      unit: 'ms',
      median: round(median(ms)),
      max: round(Math.max(...ms)),
      n: 5,
    });
    emit({
      bench: 'agent.peak_rss',
      unit: 'MB',
      median: round(median(rss)),
      max: round(Math.max(...rss)),
      n: 5,
    });

    const steady = runs.map((r) => r.steadyMb);
    emit({
      bench: 'agent.steady_rss',
      unit: 'MB',
      median: round(median(steady)),
      max: round(Math.max(...steady)),
      n: 5,
    });
    emit({
      bench: 'agent.steady_rss_watch',
      unit: 'MB',
      median: round(median(watching)),
      max: round(Math.max(...watching)),
      n: 3,
    });
    const handoff = runs.map((r) => r.handoffMb);
    emit({
      bench: 'agent.handoff_peak_rss',
      unit: 'MB',
      median: round(median(handoff)),
      max: round(Math.max(...handoff)),
      n: 5,
    });

    const fb: { ms: number; rssMb: number }[] = [];
    for (let i = 0; i < 3; i++) fb.push(await oneFirstBoot(bundle, dir, i));
    const fbMs = fb.map((r) => r.ms);
    const fbRss = fb.map((r) => r.rssMb);
    emit({
      bench: 'agent.first_boot_to_ready',
      unit: 'ms',
      median: round(median(fbMs)),
      max: round(Math.max(...fbMs)),
      n: 3,
    });
    emit({
      bench: 'agent.first_boot_peak_rss',
      unit: 'MB',
      median: round(median(fbRss)),
      max: round(Math.max(...fbRss)),
      n: 3,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
