// Suites that need root, swtpm, QEMU, PostgreSQL or Chromium call `suiteRequires(...)`. Where a
// requirement is missing they are skipped with a printed reason; under CI (CI=true) a missing
// requirement is an error instead, because .ci/run installs everything (see ../../.ci/run).
import anyTest, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { yoctoMissing } from '../../image/bitbake-env.ts';

export type Requirement =
  'root' | 'swtpm' | 'qemu' | 'postgres' | 'chromium' | 'netns' | 'debootstrap' | 'yocto';

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const checks: Record<Requirement, () => string | undefined> = {
  root: () => (process.getuid?.() === 0 ? undefined : 'not running as root'),
  swtpm: () => (hasCommand('swtpm') ? undefined : 'swtpm not installed (apt-get install swtpm)'),
  qemu: () =>
    hasCommand('qemu-system-x86_64')
      ? undefined
      : 'qemu-system-x86_64 not installed (apt-get install qemu-system-x86)',
  postgres: () =>
    existsSync('/usr/lib/postgresql')
      ? undefined
      : 'PostgreSQL server not installed (apt-get install postgresql)',
  chromium: () =>
    existsSync('/usr/bin/chromium') ? undefined : 'chromium not installed (apt-get install chromium)',
  netns: () => (hasCommand('ip') ? undefined : 'iproute2 not installed (apt-get install iproute2)'),
  debootstrap: () =>
    hasCommand('debootstrap') ? undefined : 'debootstrap not installed (apt-get install debootstrap)',
  // BitBake on ../shared/yocto: the QEMU e2e boots the tree the Yocto recipe installs.
  yocto: () => yoctoMissing(),
};

/** Reasons the requirements are not met (empty when all are). */
export function missingRequirements(reqs: Requirement[]): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    const why = checks[r]();
    if (why) out.push(why);
  }
  return out;
}

/**
 * Returns ava's `test` when every requirement is met, otherwise a skipping `test` after printing why.
 * Under CI a missing requirement throws: CI must not skip suites.
 */
export function suiteRequires<Context = unknown>(suite: string, reqs: Requirement[]): TestFn<Context> {
  const test = anyTest as TestFn<Context>;
  const missing = missingRequirements(reqs);
  if (missing.length === 0) return test;
  const why = `${suite}: skipped, ${missing.join('; ')}`;
  if (process.env.CI) throw new Error(`${why} (CI must run every suite; .ci/run installs the requirements)`);
  console.log(`SKIP ${why}`);
  const skipping = ((title: string, ...rest: unknown[]) =>
    (test.skip as (...a: unknown[]) => void)(title, ...rest)) as unknown as TestFn<Context>;
  Object.assign(skipping, test, { serial: skipping, before: () => undefined, after: () => undefined });
  Object.assign(skipping, { 'after.always': () => undefined, beforeEach: () => undefined });
  return skipping;
}
