// Timing helpers for benchmarks: run a function n times after a warm-up and report the median.
import { performance } from 'node:perf_hooks';

export interface Figure {
  bench: string;
  unit: string;
  median?: number;
  value?: number;
  n?: number;
  [extra: string]: unknown;
}

export function emit(fig: Figure): void {
  console.log(JSON.stringify(fig));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Times `fn` n times (after `warmup` untimed calls); returns milliseconds per call. */
export async function timeIt(fn: () => unknown, n: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Like timeIt, also reporting this process's CPU time per call (user + system): on a machine
 * shared with other jobs, CPU time is far steadier than wall time.
 */
export async function timeItWithCpu(
  fn: () => unknown,
  n: number,
  warmup = 3,
): Promise<{ wall: number[]; cpu: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** The `--reference-dir PREFIX` (or `--reference-dir=PREFIX`) given to `npm run bench`, if any. */
export function referenceDir(): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--reference-dir') return args[i + 1];
    if (a.startsWith('--reference-dir=')) return a.slice('--reference-dir='.length);
  }
  return undefined;
}
