// systemd/ units checked by systemd's own tools: `systemd-analyze verify` must be clean,
// `systemd-analyze security --offline` exposure is reported and must stay at or below 3.0 ("OK"),
// sysusers.d and tmpfiles.d files are applied to a scratch root with systemd-sysusers/-tmpfiles.
// Also the unit's hardening directives and RestartPreventExitStatus= against agent/exit-codes.ts.
import anyTest, { type TestFn } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PERMANENT_EXIT_CODES } from '../../../agent/exit-codes.ts';

const HAS_SYSTEMD = existsSync('/usr/bin/systemd-analyze');
if (!HAS_SYSTEMD && process.env.CI) throw new Error('systemd-analyze missing (.ci/run installs systemd)');
if (!HAS_SYSTEMD) console.log('SKIP systemd units: systemd-analyze not installed (apt-get install systemd)');
const test: TestFn = HAS_SYSTEMD ? anyTest : (anyTest.skip as unknown as TestFn);

const UNIT = 'systemd/xtt-agent.service';

/** Directive -> values (a directive may repeat), from one unit file. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
const unit = parseUnit(readFileSync(UNIT, 'utf8'));
const one = (k: string) => unit.get(k)?.join(' ');

test('systemd-analyze verify is clean', (t) => {
  let file = UNIT;
  // verify checks that ExecStart's binary exists; where node is elsewhere, check a copy pointing at it.
  if (!existsSync('/usr/bin/node')) {
    const dir = mkdtempSync(join(tmpdir(), 'unit-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    file = join(dir, 'xtt-agent.service');
    writeFileSync(file, readFileSync(UNIT, 'utf8').replace('/usr/bin/node', process.execPath));
  }
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr.trim(), '', 'no warnings');
});

test('systemd-analyze security: exposure reported and at most 3.0', (t) => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], {
    encoding: 'utf8',
  });
  const m = /Overall exposure level for xtt-agent\.service: (\d+\.\d) (\w+)/.exec(r.stdout);
  t.truthy(m, r.stdout + r.stderr);
  const exposure = Number(m![1]);
  t.log(`systemd-analyze security exposure: ${exposure} ${m![2]}`);
  t.true(exposure <= 3.0, `exposure ${exposure}`);
  t.is(m![2], 'OK');
});

test('hardening and readiness directives required by STYLE.md are present', (t) => {
  t.is(one('Type'), 'notify');
  t.is(one('NotifyAccess'), 'main');
  t.regex(
    one('ExecStart') ?? '',
    /^\/usr\/bin\/node (--[\w-]+=\d+ )*\/usr\/lib\/xtt-agent\/xtt-agent\.js run$/,
  );
  t.regex(
    one('ExecStartPost') ?? '',
    /^\+\/usr\/bin\/node (--[\w-]+=\d+ )*\/usr\/lib\/xtt-agent\/xtt-agent\.js handoff$/,
  );
  t.is(one('RemainAfterExit'), 'yes', 'active after the agent exits at READY=1');
  t.is(one('StateDirectory'), 'xtt-agent');
  t.is(one('User'), 'xtt-agent');
  t.is(one('SupplementaryGroups'), 'tss');
  t.is(one('DevicePolicy'), 'closed');
  t.is(one('DeviceAllow'), '/dev/tpmrm0 rw');
  t.is(one('CapabilityBoundingSet'), 'CAP_NET_ADMIN');
  t.is(one('AmbientCapabilities'), 'CAP_NET_ADMIN');
  t.is(one('RestrictAddressFamilies'), 'AF_UNIX AF_NETLINK AF_INET AF_INET6');
  t.is(one('ProtectSystem'), 'strict');
  for (const k of ['PrivateTmp', 'ProtectHome', 'NoNewPrivileges']) t.is(one(k), 'yes', k);
  t.true(unit.get('SystemCallFilter')?.includes('@system-service'));
  t.false(unit.has('MemoryDenyWriteExecute'), 'V8 needs W+X memory');
  t.false(unit.has('ConditionFirstBoot'), 'first boot is gated on the agent state');
  // An unreachable server must not hold network-online.target (TimeoutStartSec=infinity).
  t.notRegex(one('Before') ?? '', /network-online\.target/);
  t.is(one('WantedBy'), 'multi-user.target');
  t.is(one('Restart'), 'on-failure');
});

test('RestartPreventExitStatus= lists exactly the permanent exit codes', (t) => {
  const listed = (one('RestartPreventExitStatus') ?? '')
    .split(/\s+/)
    .map(Number)
    .sort((a, b) => a - b);
  t.deepEqual(
    listed,
    [...PERMANENT_EXIT_CODES].sort((a, b) => a - b),
  );
});

test('sysusers.d and tmpfiles.d apply cleanly to a scratch root', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sysroot-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  execFileSync('mkdir', ['-p', join(root, 'etc'), join(root, 'var/lib')]);
  const su = spawnSync('systemd-sysusers', [`--root=${root}`, resolve('systemd/xtt-agent.sysusers.conf')], {
    encoding: 'utf8',
  });
  t.is(su.status, 0, su.stderr);
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
  const group = readFileSync(join(root, 'etc/group'), 'utf8');
  t.regex(passwd, /^xtt-agent:x:\d+:\d+:XTT provisioning agent:\/var\/lib\/xtt-agent:/m);
  t.regex(group, /^tss:x:\d+:xtt-agent$/m);
  const tf = spawnSync(
    'systemd-tmpfiles',
    [`--root=${root}`, '--create', resolve('systemd/xtt-agent.tmpfiles.conf')],
    {
      encoding: 'utf8',
    },
  );
  t.is(tf.status, 0, tf.stderr);
  t.is(statSync(join(root, 'var/lib/xtt-agent')).mode & 0o777, 0o750);
  t.is(statSync(join(root, 'etc/xtt-agent')).mode & 0o777, 0o755);
});
