// Agent figures (issue 6 targets: bundle at most 1 MB without koffi, peak RSS at most 64 MB):
//   agent.bundle_size        bytes of dist/xtt-agent/xtt-agent.js (koffi excluded)
//   agent.bundle_koffi_size  bytes of the koffi JS + native binaries copied beside it
//   agent.start_to_ready     ms from spawn of the bundled agent to READY=1 (later boot: stored
//                            identity, address added with nodad, watcher up), in a fresh netns
//   agent.peak_rss           MB, VmHWM of that process once READY (includes the startup peak)
// The READY figures need root and iproute2 and are skipped with a note otherwise. The first-boot
// handshake is measured by bench/xtt.bench.ts (protocol) and bench/tpm.bench.ts (TPM signing).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../agent/state-store.ts';
import { createNetns } from '../test/helpers/netns.ts';
import { notifyReceiver } from '../test/helpers/notify-receiver.ts';
import { emit, median, round } from './stats.ts';

function duBytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + duBytes(join(p, f)), 0);
}

function vmHwmKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmHWM');
  return Number(m[1]);
}

async function oneStart(bundle: string, dir: string, i: number): Promise<{ ms: number; rssMb: number }> {
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
      JSON.stringify({ server: { host: 'bench' }, interface: ns.ifname, stateDir, nodad: true }),
    );
    const start = performance.now();
    const child = spawn(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, bundle, 'run', '--config', config],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: notifyPath },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    await notify.waitFor((m) => m.startsWith('READY=1'), 30_000);
    const ms = performance.now() - start;
    const rssMb = vmHwmKb(child.pid!) / 1024;
    child.kill('SIGTERM');
    await exited;
    return { ms, rssMb };
  } finally {
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
    const runs: { ms: number; rssMb: number }[] = [];
    for (let i = 0; i < 5; i++) runs.push(await oneStart(bundle, dir, i));
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
