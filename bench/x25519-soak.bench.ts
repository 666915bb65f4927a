// Soak of the handshake's X25519 sequence (bench/x25519-soak-child.ts: x25519Ephemeral on both
// sides and both shared secrets, as protocol/xtt/client.ts and server.ts run it) one million times
// in a child process (X25519_SOAK_COUNT to change the count). A watchdog kills the child when it
// prints no progress for X25519_SOAK_STALL_S seconds (default 120) and the figure then says
// `"hung":true` with the count reached: the deadlock openssl-primitives.ts describes showed within a
// few thousand iterations. Figures: exchanges completed, seconds, exchanges per second.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { emit, round } from './stats.ts';

const CHILD = fileURLToPath(new URL('./x25519-soak-child.ts', import.meta.url));

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

export async function run(): Promise<void> {
  const count = positiveInt('X25519_SOAK_COUNT', 1_000_000);
  const stallMs = positiveInt('X25519_SOAK_STALL_S', 120) * 1000;
  const step = Math.max(1, Math.min(10_000, Math.floor(count / 100)));
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(count), String(step)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let reached = 0;
  let hung = false;
  let tail = '';
  const arm = (): NodeJS.Timeout =>
    setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, stallMs);
  let watchdog = arm();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4096);
    for (const m of tail.matchAll(/(?:progress|done) (\d+)\n/g)) reached = Math.max(reached, Number(m[1]));
    clearTimeout(watchdog);
    watchdog = arm();
  });
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  clearTimeout(watchdog);
  const seconds = (performance.now() - t0 - (hung ? stallMs : 0)) / 1000;
  emit({
    bench: 'x25519.soak',
    unit: 'exchanges',
    value: reached,
    n: count,
    hung,
    exit: code,
    seconds: round(seconds, 1),
    perSecond: round(reached / seconds, 0),
  });
  if (hung || code !== 0) process.exitCode = 1;
}
