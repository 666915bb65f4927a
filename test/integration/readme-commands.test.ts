// The root README's "Commands" section, run as written: its `<!-- readme-run -->` blocks in order
// (test/helpers/readme-blocks.ts) with bash -eu, with the real programs on PATH through `npm link`
// (into a temporary npm prefix, so nothing global changes), the namespace part inside a namespace
// the blocks themselves create. Only the namespace name and the /tmp/ztp directory are replaced by
// this test's own. Asserts that every command succeeds, that the agent's identity is on the
// namespace's eth0 inside the network's /64, that the revocations report what they did, and that
// the README's last block leaves nothing behind (namespace, directory, processes).
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespaceSession, relocate, runnableBlocks } from '../helpers/readme-blocks.ts';
import { suiteRequires } from '../helpers/requirements.ts';

const test = suiteRequires('readme-commands', ['root', 'swtpm', 'netns']);
const REPO = join(import.meta.dirname, '..', '..');
const EXAMPLES = { dir: '/tmp/ztp', netns: 'ztp' };

function netnsExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.split(' ')[0] === name);
}

/** Pids whose command line mentions `needle`. */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(Number(pid));
    } catch {
      // the process ended while we looked: nothing to report
    }
  }
  return out;
}

/** SIGKILL to a pid (or a process group, negative) that may have ended already. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

test.serial('the README command blocks run as written and clean up after themselves', async (t) => {
  t.timeout(600_000);
  const session = namespaceSession(runnableBlocks(readFileSync(join(REPO, 'README.md'), 'utf8')));
  t.is(session.netns, EXAMPLES.netns);
  const scratch = mkdtempSync(join(tmpdir(), 'readme-cmds-'));
  const own = { dir: join(scratch, 'examples'), netns: `readme-${process.pid}` };
  const prefix = join(scratch, 'npm-prefix');
  t.teardown(() => {
    for (const pid of pidsMentioning(own.dir)) killQuietly(pid);
    if (netnsExists(own.netns)) execFileSync('ip', ['netns', 'del', own.netns]);
    rmSync(scratch, { recursive: true, force: true });
  });

  const inside = join(scratch, 'inside.sh');
  writeFileSync(inside, relocate(session.inside, EXAMPLES, own));
  const script = [
    relocate(session.before, EXAMPLES, own),
    `ip netns exec ${own.netns} bash -eu -o pipefail ${inside}`,
    relocate(session.after, EXAMPLES, own),
  ].join('\n');
  // Output to files, not pipes: a daemon the blocks start (swtpm) would hold a pipe open after a
  // failure, and the session would never seem to end.
  const outFile = join(scratch, 'stdout');
  const errFile = join(scratch, 'stderr');
  const [outFd, errFd] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
  const child = spawn('bash', ['-eu', '-o', 'pipefail', '-c', script], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, npm_config_prefix: prefix, PATH: `${prefix}/bin:${process.env.PATH ?? ''}` },
  });
  closeSync(outFd);
  closeSync(errFd);
  const killSession = () => killQuietly(-child.pid!); // bash and what it started in the background
  t.teardown(killSession); // teardowns run last first: this one before the cleanup above
  const timer = setTimeout(killSession, 540_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  const out = readFileSync(outFile, 'utf8');
  const err = readFileSync(errFile, 'utf8');
  const logs = `stderr:\n${err.slice(-3000)}\nstdout:\n${out.slice(-3000)}`;
  t.is(code, 0, `the README's commands failed\n${logs}`);

  const identity = /inet6 (fd00:1:2:3:[0-9a-f:]+)\/64 scope global/.exec(out)?.[1];
  t.truthy(identity, `an identity in fd00:1:2:3::/64 on eth0\n${logs}`);
  t.regex(out, new RegExp(`^${identity}\\s+lot-1\\s+active\\s+1\\s`, 'm'), 'device list shows it');
  t.true(out.includes(`device ${identity} allow-rekey on`), logs);
  t.true(out.includes(`device ${identity} revoked`), logs);
  t.true(out.includes('batch lot-1 revoked'), logs);
  t.false(netnsExists(own.netns), 'the namespace was deleted');
  t.false(existsSync(own.dir), 'the directory was removed');
  t.deepEqual(pidsMentioning(own.dir), [], 'no process of the examples is left');
});
