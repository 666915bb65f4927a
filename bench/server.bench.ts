// ENF server figures: capacity (handshakes per second and p50/p99 latency at 64 concurrent clients)
// and the latency of a lone handshake (one client, sequential handshakes). Runs the real
// `enf-server start` process on loopback with a fresh registry, and the load generator
// (bench/server-load.ts) in another process. Figures only; nothing passes or fails here.
// With `--reference-dir PREFIX` (a build of xaptum/xtt 0.12, test/interop/README.md) the same load
// generator also drives the reference C server (`xtt runserver` given the batch's gpk.bin and
// basename.bin and the server certificate and key of the same root), interleaved with ours: lone
// handshake p50 of both, the reference's rate at 1, 2, 4 and 8 clients and its best, and the ratios.
// Without it the reference figures are skipped with a note.
// Knobs: SERVER_BENCH_HANDSHAKES (measured, default 400), SERVER_BENCH_CONCURRENCY (default 64),
// SERVER_BENCH_PROCESSES (enf-server --processes, default 1), SERVER_BENCH_WORKERS (--workers,
// default 0 = the server's default), SERVER_BENCH_SYNC (--registry-sync,
// default full), SERVER_BENCH_LONE (sequential handshakes per lone-latency round, default 30),
// SERVER_BENCH_NODE_ARGS (extra node options for the server process only, e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under load; NODE_OPTIONS refuses --cpu-prof),
// SERVER_BENCH_LOAD_NODE_ARGS (the same for the load generator's processes).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createIssuer,
  createJoinRequest,
  encodeCredential,
  encodeGroupPublicKey,
  encodeScalar,
  issueCredential,
  randomScalar,
} from '../protocol/ecdaa/index.ts';
import { p256 } from '@noble/curves/nist.js';
import { toHex } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../server-stub/keys/server-keys.ts';
import { freePort } from '../test/interop/interop-env.ts';
import { locateReference, ReferenceServer, type ReferenceBuild } from '../test/interop/reference-tool.ts';
import type { LoadConfig } from './server-load.ts';
import { emit, percentile, referenceDir, round } from './stats.ts';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

function makeDevices(n: number): { gpk: Uint8Array; basename: Uint8Array; devices: LoadConfig['devices'] } {
  const issuer = createIssuer(systemRng);
  const gpk = encodeGroupPublicKey(issuer.publicKey.gpk);
  const basename = new TextEncoder().encode('BENCH');
  const devices = Array.from({ length: n }, () => {
    const sk = randomScalar(systemRng);
    const nonce = systemRng.bytes(32);
    const { credential } = issueCredential(
      issuer.secretKey,
      createJoinRequest(sk, nonce, systemRng),
      nonce,
      systemRng,
    );
    return {
      longtermKey: toHex(p256.utils.randomSecretKey()),
      secretKey: toHex(encodeScalar(sk)),
      credential: toHex(encodeCredential(credential)),
      gpk: toHex(gpk),
      basename: toHex(basename),
    };
  });
  return { gpk, basename, devices };
}

function spawnTsx(
  cmd: string[],
  onStderr?: (all: string) => void,
  nodeArgs: string[] = [],
): { done: Promise<{ code: number | null; out: string }>; kill: () => void; pid: number } {
  const p = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    onStderr?.(err);
  });
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    p.on('close', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(err);
      resolve({ code, out });
    }),
  );
  return { done, kill: () => p.kill('SIGTERM'), pid: p.pid ?? 0 };
}

interface LoadResult {
  handshakes: number;
  failures: number;
  seconds: number;
  latencies: number[];
  /** The load generator's CPU time over the measured handshakes. */
  cpuMs: number;
}

/**
 * CPU time (ns) of each thread of process `pid` from /proc/PID/task/TID/schedstat (time on a CPU,
 * user and system; Linux only). The main thread's TID is the PID.
 */
function threadCpuNs(pid: number): Map<number, number> | undefined {
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(
          Number(tid),
          Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]),
        );
      } catch {
        // the thread ended between the listing and the read: its time is not counted
      }
    }
    return out;
  } catch {
    return undefined; // no /proc (not Linux) or the process is gone
  }
}

/** CPU ms between two threadCpuNs snapshots: the main thread, and all other threads together. */
function cpuBetween(
  pid: number,
  before: Map<number, number>,
  after: Map<number, number>,
): { mainMs: number; otherMs: number } {
  let mainMs = 0;
  let otherMs = 0;
  for (const [tid, ns] of after) {
    const ms = (ns - (before.get(tid) ?? 0)) / 1e6;
    if (tid === pid) mainMs += ms;
    else otherMs += ms;
  }
  return { mainMs, otherMs };
}

interface Bench {
  dir: string;
  group: ReturnType<typeof makeDevices>;
  rootCertificate: string;
}

/** A fresh directory with the server's key material and one batch of devices. */
async function prepare(devices: number): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-bench-'));
  createKeyMaterial(dir, systemRng);
  const group = makeDevices(devices);
  writeFileSync(join(dir, 'gpk.bin'), group.gpk);
  writeFileSync(join(dir, 'basename.bin'), group.basename);
  const reg = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await reg.addNetwork({ name: 'bench', prefix: '2001:db8:be:1::/64' });
  await reg.addBatch({
    gpk: group.gpk,
    basename: group.basename,
    name: 'bench',
    network: 'bench',
    size: 100_000,
  });
  await reg.close();
  return { dir, group, rootCertificate: toHex(readFileSync(join(dir, 'root_cert.bin'))) };
}

interface RunningServer {
  port: number;
  /** The server process (0 for the reference server, which is not measured this way). */
  pid: number;
  /** Stops the server; resolves with what it logged. */
  stop(): Promise<string>;
}

async function startEnfServer(b: Bench, processes: number): Promise<RunningServer> {
  let resolvePort: (p: number) => void = () => undefined;
  let serverLog = '';
  let hasPort = false;
  const portP = new Promise<number>((r) => (resolvePort = r));
  const server = spawnTsx(
    [
      'server-stub/main.ts',
      '--dir',
      b.dir,
      'start',
      '--bind',
      '127.0.0.1',
      '--port',
      '0',
      '--processes',
      String(processes),
      '--max-per-source',
      '1000',
      '--registry-sync',
      process.env.SERVER_BENCH_SYNC === 'normal' ? 'normal' : 'full',
      '--workers',
      String(env('SERVER_BENCH_WORKERS', 0)),
    ],
    (all) => {
      serverLog = all;
      if (hasPort) return; // the log grows by a line per handshake: scan it only until the port shows
      const m = /server\.listening address=\S+ port=(\d+)/.exec(all);
      if (m) {
        hasPort = true;
        resolvePort(Number(m[1]));
      }
    },
    (process.env.SERVER_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  );
  const port = await portP;
  return {
    port,
    pid: server.pid,
    stop: async () => {
      server.kill();
      await server.done;
      return serverLog;
    },
  };
}

/** `xtt runserver` of the reference build on the bench's batch, server certificate and key. */
async function startReferenceServer(b: Bench, ref: ReferenceBuild): Promise<RunningServer> {
  const port = await freePort();
  const server = await ReferenceServer.start(ref, b.dir, port, [
    '-d',
    'gpk.bin',
    '-b',
    'basename.bin',
    '-k',
    'server_keys.asn1.bin',
    '-c',
    'server_certificate.bin',
  ]);
  return {
    port,
    pid: 0,
    stop: async () => {
      await server.stop();
      return '';
    },
  };
}

let loadRuns = 0;

async function runLoad(
  b: Bench,
  port: number,
  concurrency: number,
  warmup: number,
  measured: number,
  onMeasuring?: () => void,
): Promise<LoadResult> {
  const cfg: LoadConfig = {
    port,
    rootCertificate: b.rootCertificate,
    devices: b.group.devices.slice(0, Math.max(1, Math.min(concurrency, b.group.devices.length))),
    concurrency,
    warmupHandshakes: warmup,
    measuredHandshakes: measured,
  };
  const file = join(b.dir, `load-${loadRuns++}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  let loadLog = '';
  const load = await spawnTsx(
    ['bench/server-load.ts', file],
    (all) => {
      if (onMeasuring && !loadLog.includes('load: measuring') && all.includes('load: measuring'))
        onMeasuring();
      loadLog = all;
    },
    (process.env.SERVER_BENCH_LOAD_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  ).done;
  for (const line of loadLog.split('\n'))
    if (line.includes('first failure')) process.stderr.write(`${line}\n`);
  return JSON.parse(load.out) as LoadResult;
}

function emitBatchSizes(serverLog: string, common: object): void {
  // DAA batches over the whole run (warm-up included), from each process's stop line.
  let batches = 0;
  let signatures = 0;
  const sizes: string[] = [];
  for (const m of serverLog.matchAll(/server\.stopping .*?batches="?([0-9:,]*)/g)) {
    if (m[1]) sizes.push(m[1]);
    for (const pair of (m[1] ?? '').split(',').filter((x) => x !== '')) {
      const [size, count] = pair.split(':').map(Number);
      batches += count ?? 0;
      signatures += (size ?? 0) * (count ?? 0);
    }
  }
  if (batches > 0) {
    emit({
      bench: 'server.verify_batch_mean',
      unit: 'signatures',
      value: round(signatures / batches, 1),
      batches,
      sizes: sizes.join(' '),
      ...common,
    });
  }
}

/**
 * CPU time per completed handshake of the capacity run's measured phase, far steadier than rates
 * on a shared machine: the server's main thread (sockets, handshake state machine, registry), its
 * other threads (the DAA verification workers, plus V8's and libuv's helper threads), and the load
 * generator. On C cores both processes together sustain at most C x 1000 / (their ms per handshake).
 */
function emitCpu(
  pid: number,
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
  r: LoadResult,
  common: { processes: number },
): void {
  const completed = r.handshakes - r.failures;
  if (!before || !after || completed === 0 || common.processes > 1) {
    emit({
      bench: 'server.main_cpu_per_handshake',
      unit: 'note',
      note: 'skipped: needs Linux /proc, one server process and completed handshakes',
    });
    return;
  }
  const { mainMs, otherMs } = cpuBetween(pid, before, after);
  const per = (ms: number) => round(ms / completed, 2);
  const extra = { completed, ...common };
  emit({ bench: 'server.main_cpu_per_handshake', unit: 'ms', value: per(mainMs), ...extra });
  emit({ bench: 'server.workers_cpu_per_handshake', unit: 'ms', value: per(otherMs), ...extra });
  emit({ bench: 'load.cpu_per_handshake', unit: 'ms', value: per(r.cpuMs), ...extra });
  const total = (mainMs + otherMs + r.cpuMs) / completed;
  emit({
    bench: 'server.cpu_bound_handshakes_per_s',
    unit: '1/s',
    value: round((os.cpus().length * 1000) / total, 1),
    cores: os.cpus().length,
    cpuMsPerHandshake: round(total, 2),
    mainThreadBound: round(1000 / (mainMs / completed), 1),
  });
}

const loadavg = (): number[] => os.loadavg().map((x) => round(x, 2));

export async function run(): Promise<void> {
  const concurrency = env('SERVER_BENCH_CONCURRENCY', 64);
  const measured = env('SERVER_BENCH_HANDSHAKES', 400);
  const processes = env('SERVER_BENCH_PROCESSES', 1);
  const lone = env('SERVER_BENCH_LONE', 30);
  const refDir = referenceDir();
  const ref = refDir === undefined ? undefined : locateReference(refDir);
  const b = await prepare(Math.min(Math.max(concurrency, 8), 64));
  const sync = process.env.SERVER_BENCH_SYNC === 'normal' ? 'normal' : 'full';
  try {
    emit({ bench: 'server.loadavg', unit: 'load', value: loadavg()[0]!, loadavg: loadavg() });
    // Lone handshakes, interleaved: ours, reference, ours, reference (same client, same run).
    const loneLatencies = { ours: [] as number[], reference: [] as number[] };
    const ours = await startEnfServer(b, processes);
    const theirs = ref === undefined ? undefined : await startReferenceServer(b, ref);
    try {
      for (let round_ = 0; round_ < 2; round_++) {
        loneLatencies.ours.push(...(await runLoad(b, ours.port, 1, 3, lone)).latencies);
        if (theirs) loneLatencies.reference.push(...(await runLoad(b, theirs.port, 1, 3, lone)).latencies);
      }
      emit({
        bench: 'server.lone_latency_p50',
        unit: 'ms',
        value: round(percentile(loneLatencies.ours, 50), 1),
        n: loneLatencies.ours.length,
      });
      if (theirs) {
        const refP50 = percentile(loneLatencies.reference, 50);
        emit({
          bench: 'server.reference.lone_latency_p50',
          unit: 'ms',
          value: round(refP50, 1),
          n: loneLatencies.reference.length,
        });
        emit({
          bench: 'server.lone_latency_vs_reference',
          unit: 'ratio',
          value: round(percentile(loneLatencies.ours, 50) / refP50, 2),
        });
      }
      // The reference server's rate at 1, 2, 4, 8 clients (it serves one connection at a time with
      // a listen backlog of 1), before our capacity run so it sees the same machine state.
      let refBest = 0;
      if (theirs) {
        for (const c of [1, 2, 4, 8]) {
          const r = await runLoad(b, theirs.port, c, 2 * c, Math.max(60, Math.round(measured / 4)));
          const rate = (r.handshakes - r.failures) / r.seconds; // completed handshakes only
          refBest = Math.max(refBest, rate);
          emit({
            bench: 'server.reference.handshakes_per_s',
            unit: '1/s',
            value: round(rate, 1),
            concurrency: c,
            n: r.handshakes,
            failures: r.failures,
          });
        }
        emit({ bench: 'server.reference.best_handshakes_per_s', unit: '1/s', value: round(refBest, 1) });
      } else {
        emit({
          bench: 'server.reference',
          unit: 'note',
          note: 'skipped: no --reference-dir given (a build of xaptum/xtt 0.12 as in test/interop/README.md)',
        });
      }
      let cpuBefore: Map<number, number> | undefined;
      const r = await runLoad(b, ours.port, concurrency, Math.max(concurrency, 32), measured, () => {
        cpuBefore = threadCpuNs(ours.pid);
      });
      const cpuAfter = threadCpuNs(ours.pid);
      const common = { concurrency, processes, sync, n: r.handshakes, failures: r.failures };
      const rate = (r.handshakes - r.failures) / r.seconds; // completed handshakes only
      emit({ bench: 'server.handshakes_per_s', unit: '1/s', value: round(rate, 1), ...common });
      emit({
        bench: 'server.latency_p50',
        unit: 'ms',
        value: round(percentile(r.latencies, 50), 1),
        ...common,
      });
      emit({
        bench: 'server.latency_p99',
        unit: 'ms',
        value: round(percentile(r.latencies, 99), 1),
        ...common,
      });
      if (theirs)
        emit({ bench: 'server.capacity_vs_reference', unit: 'ratio', value: round(rate / refBest, 2) });
      emitCpu(ours.pid, cpuBefore, cpuAfter, r, common);
    } finally {
      if (theirs) await theirs.stop();
      emitBatchSizes(await ours.stop(), { concurrency, processes, sync });
    }
    emit({ bench: 'server.loadavg', unit: 'load', value: loadavg()[0]!, loadavg: loadavg() });
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
}
