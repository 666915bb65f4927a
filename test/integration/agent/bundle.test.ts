// The bundle (scripts/build.mjs): builds into a temp directory, moves it away from the repository
// (so nothing resolves from the repo's node_modules), and runs it on this Node 20: --help, status,
// and a `run` that reaches netlink through the copied koffi (interface missing -> exit 8).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../../agent/exit-codes.ts';

const dir = mkdtempSync(join(tmpdir(), 'xtt-agent-bundle-'));
const out = join(dir, 'usr-lib-xtt-agent');
test.before(() => {
  execFileSync(process.execPath, ['scripts/build.mjs', '--out', out], { stdio: 'pipe' });
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const agent = (...args: string[]) =>
  spawnSync(process.execPath, [join(out, 'xtt-agent.js'), ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { PATH: '/usr/bin:/bin' },
  });

test('the bundle is one JS file plus koffi with only linux glibc binaries, and runs on this Node', (t) => {
  t.true(Number(process.versions.node.split('.')[0]) >= 20);
  t.deepEqual(readdirSync(out).sort(), [
    'README.md',
    'node_modules',
    'package.json',
    'xtt-agent.js',
    'xtt-agent.js.LEGAL.txt',
  ]);
  t.deepEqual(readdirSync(join(out, 'node_modules')).sort(), ['@koromix', 'koffi']);
  for (const pkg of readdirSync(join(out, 'node_modules', '@koromix'))) {
    t.regex(pkg, /^koffi-linux-(x64|arm64|arm|riscv64)$/);
    const dirs = readdirSync(join(out, 'node_modules', '@koromix', pkg)).filter(
      (f) => !f.endsWith('.js') && !f.endsWith('.json'),
    );
    t.true(
      dirs.every((d) => d.startsWith('linux_')),
      dirs.join(','),
    );
  }
  t.true(statSync(join(out, 'xtt-agent.js')).size < 1024 * 1024, 'bundle at most 1 MB (koffi excluded)');
  t.is(statSync(join(out, 'xtt-agent.js')).mode & 0o111, 0o111);
});

test('--help and status --help run from the bundle', (t) => {
  const r = agent('--help');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /xtt-agent run +provision on first boot/);
  t.regex(r.stdout, /Exit codes:/);
  const s = agent('status', '--help');
  t.is(s.status, 0, s.stderr);
  t.regex(s.stdout, /--json/);
});

test('status from the bundle: not provisioned is exit 10', (t) => {
  const r = agent(
    'status',
    '--json',
    '--server-host',
    'h',
    '--interface',
    'eth0',
    '--state-dir',
    join(dir, 'state'),
  );
  t.is(r.status, EXIT.NOT_PROVISIONED, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { provisioned: false, interface: 'eth0', server: 'h:4444' });
});

test('run from the bundle loads koffi and asks netlink for the interface', (t) => {
  const r = agent('run', '--server-host', 'h', '--interface', 'nosuch9', '--state-dir', join(dir, 'state'));
  t.is(r.status, EXIT.INTERFACE_MISSING, r.stderr);
  t.regex(r.stderr, /network interface "nosuch9" does not exist/);
});
