// Shared plumbing of the interop harness (test/interop/README.md): the check registry with
// PASS/FAIL/SKIP reporting, temporary directories, free loopback ports, and the reference's DAA
// sample member (xaptum/xtt 0.12 data/client: daa_gpk.bin, daa_cred.bin, daa_secretkey.bin,
// basename.bin), read from --reference-data or, by default, from the copy under
// test/vectors/xtt-0.12-sample-data/client.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SoftwareDaaFiles } from '../../protocol/xtt/software-daa-signer.ts';
import type { ReferenceBuild } from './reference-tool.ts';
import { freePort } from '../../qemu/ports.ts';

export { freePort };

export const DEFAULT_SAMPLE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'vectors',
  'xtt-0.12-sample-data',
  'client',
);

/** Set (to '1') in the environment of a harness run re-executed inside its private network namespace. */
export const IN_NETNS_ENV = 'XTT_INTEROP_IN_NETNS';

/**
 * As root, re-runs this program inside a new network namespace with only loopback up (the
 * reference server binds 0.0.0.0) and returns its exit status; undefined when not root or
 * already inside. Used by the interop harness and by `npm run bench -- server --reference-dir`.
 */
export function reexecInNetns(): number | undefined {
  if (process.getuid?.() !== 0 || process.env[IN_NETNS_ENV] === '1') return undefined;
  const script = 'ip link set lo up && exec "$0" "$@"';
  const r = spawnSync(
    'unshare',
    ['--net', '--', 'sh', '-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [IN_NETNS_ENV]: '1' } },
  );
  if (r.error) {
    console.error(
      `cannot enter a network namespace (${r.error.message}); run without root to stay on 127.0.0.1`,
    );
    return 2;
  }
  return r.status ?? 1;
}

export interface InteropContext {
  ref: ReferenceBuild;
  /** Directory with the reference's sample member files. */
  sampleDir: string;
  /** Keep temporary directories (printed) instead of deleting them. */
  keep: boolean;
  log(line: string): void;
}

export type CheckOutcome = { status: 'pass'; detail: string } | { status: 'skip'; detail: string };

export interface Check {
  id: string;
  title: string;
  run(ctx: InteropContext): Promise<CheckOutcome>;
}

export const pass = (detail: string): CheckOutcome => ({ status: 'pass', detail });
export const skip = (detail: string): CheckOutcome => ({ status: 'skip', detail });

/** Throws with `message` unless `cond` holds: the checks' assertion primitive. */
export function expect(cond: boolean, message: string): asserts cond {
  if (!cond) throw new CheckFailed(message);
}

export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

export function readSampleMember(dir: string): SoftwareDaaFiles {
  const f = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  return {
    gpk: f('daa_gpk.bin'),
    credential: f('daa_cred.bin'),
    secretKey: f('daa_secretkey.bin'),
    basename: f('basename.bin'),
  };
}

/** A temporary directory removed by `done()` unless the run keeps its files. */
export function tempDir(ctx: InteropContext, label: string): { path: string; done(): void } {
  const path = mkdtempSync(join(tmpdir(), `xtt-interop-${label}-`));
  return {
    path,
    done: () => {
      if (ctx.keep) ctx.log(`  kept ${path}`);
      else rmSync(path, { recursive: true, force: true });
    },
  };
}
