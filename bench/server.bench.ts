// ENF server throughput (issue 5 "Acceptance": handshakes per second and p50/p99 latency at 64
// concurrent clients; the reference C server does about 46 handshakes/s on this machine). Runs the
// real `enf-server start` process on loopback with a fresh registry, and the load generator
// (bench/server-load.ts) in another process. Figures only; nothing passes or fails here.
// Knobs: SERVER_BENCH_HANDSHAKES (measured, default 400), SERVER_BENCH_CONCURRENCY (default 64),
// SERVER_BENCH_PROCESSES (enf-server --processes, default 1), SERVER_BENCH_WORKERS (--workers,
// default 0 = the server's default), SERVER_BENCH_SYNC (--registry-sync,
// default full), SERVER_BENCH_NODE_ARGS (extra node options for the server process only, e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under load; NODE_OPTIONS refuses --cpu-prof).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { toHex } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../server-stub/server-keys.ts';
import type { LoadConfig } from './server-load.ts';
import { emit, percentile, round } from './stats.ts';

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
): { done: Promise<{ code: number | null; out: string }>; kill: () => void } {
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
  return { done, kill: () => p.kill('SIGTERM') };
}

async function benchOnce(concurrency: number, measured: number, processes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-bench-'));
  try {
    createKeyMaterial(dir, systemRng);
    const group = makeDevices(Math.min(concurrency, 64));
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

    let resolvePort: (p: number) => void = () => undefined;
    let serverLog = '';
    const portP = new Promise<number>((r) => (resolvePort = r));
    const server = spawnTsx(
      [
        'server-stub/main.ts',
        '--dir',
        dir,
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
        const m = /server\.listening address=\S+ port=(\d+)/.exec(all);
        if (m) resolvePort(Number(m[1]));
      },
      (process.env.SERVER_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    );
    const port = await portP;
    const cfg: LoadConfig = {
      port,
      rootCertificate: toHex(readFileSync(join(dir, 'root_cert.bin'))),
      devices: group.devices,
      concurrency,
      warmupHandshakes: Math.max(concurrency, 32),
      measuredHandshakes: measured,
    };
    writeFileSync(join(dir, 'load.json'), JSON.stringify(cfg));
    const load = await spawnTsx(['bench/server-load.ts', join(dir, 'load.json')]).done;
    server.kill();
    await server.done;
    const r = JSON.parse(load.out) as {
      handshakes: number;
      failures: number;
      seconds: number;
      latencies: number[];
    };
    const sync = process.env.SERVER_BENCH_SYNC === 'normal' ? 'normal' : 'full';
    const common = { concurrency, processes, sync, n: r.handshakes, failures: r.failures };
    emit({
      bench: 'server.handshakes_per_s',
      unit: '1/s',
      value: round(r.handshakes / r.seconds, 1),
      ...common,
    });
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await benchOnce(
    env('SERVER_BENCH_CONCURRENCY', 64),
    env('SERVER_BENCH_HANDSHAKES', 400),
    env('SERVER_BENCH_PROCESSES', 1),
  );
}
