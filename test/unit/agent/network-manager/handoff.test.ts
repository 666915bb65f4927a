// Tests for agent/network-manager/handoff.ts over a fake command runner and a temporary host tree
// (sysfs ifindex, networkd link state, /run and /etc networkd directories): what is detected, what
// is written where, when networkd is reloaded, the nmcli sequence, failures, and takeBack().
import test from 'ava';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NetworkManagerError } from '../../../../agent/errors.ts';
import {
  gatherFacts,
  handOff,
  takeBack,
  type HandoffHost,
  type HandoffRequest,
} from '../../../../agent/network-manager/handoff.ts';
import { FakeCommandRunner } from '../../../fakes/fake-command-runner.ts';
import { RecordingLogger } from '../../../fakes/recording-logger.ts';

const ID = new Uint8Array(Buffer.from('fd000e2e000100020000000000000007', 'hex'));
const CIDR = 'fd00:e2e:1:2::7/64';
const UUID = '3c0e1b8a-5b8e-4d5e-9b3a-2f1f1e2d3c4b';
const NETWORKD_ACTIVE = 'systemctl is-active --quiet systemd-networkd.service';
const NETWORKD_PASSWD = 'systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n';
const NM_ACTIVE = 'systemctl is-active --quiet NetworkManager.service';
const NM_STATE = 'nmcli -t -g GENERAL.STATE device show eth0';
const req: HandoffRequest = {
  choice: 'auto',
  persist: 'runtime',
  ifname: 'eth0',
  address: ID,
  prefixLen: 64,
  nodad: false,
};

function host(t: { teardown: (f: () => void) => void }, opts: { networkFile?: string } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'xtt-handoff-'));
  const sleeps: number[] = [];
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const h: HandoffHost & { runner: FakeCommandRunner; sleeps: number[] } = {
    runner: new FakeCommandRunner(),
    sleeps,
    sysClassNet: join(root, 'sys'),
    netifLinks: join(root, 'netif'),
    networkd: { runtime: join(root, 'run'), persistent: join(root, 'etc') },
    etc: join(root, 'etc-files'),
    log: new RecordingLogger(),
    sleep: async (ms) => void sleeps.push(ms),
  };
  // networkd's account (uid/gid 998), for the check that networkd can read the drop-in.
  chmodSync(root, 0o755);
  mkdirSync(h.etc);
  writeFileSync(join(h.etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n' + NETWORKD_PASSWD);
  writeFileSync(join(h.etc, 'group'), 'root:x:0:\nsystemd-network:x:998:\n');
  mkdirSync(join(h.sysClassNet, 'eth0'), { recursive: true });
  writeFileSync(join(h.sysClassNet, 'eth0', 'ifindex'), '2\n');
  mkdirSync(h.netifLinks);
  if (opts.networkFile) {
    writeFileSync(join(h.netifLinks, '2'), `ADMIN_STATE=configured\nNETWORK_FILE=${opts.networkFile}\n`);
  }
  return h;
}

const runtimeDropIn = (h: HandoffHost) => join(h.networkd.runtime, '20-wired.network.d', '90-xtt-agent.conf');
const persistentDropIn = (h: HandoffHost) =>
  join(h.networkd.persistent, '20-wired.network.d', '90-xtt-agent.conf');

test('networkd: drop-in under /run for the matching .network, one reload, unchanged the second time', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  const r = await handOff(h, req);
  t.deepEqual(r, { manager: 'networkd', changed: true, detail: runtimeDropIn(h) });
  t.regex(readFileSync(runtimeDropIn(h), 'utf8'), /\[Address\]\nAddress=fd00:e2e:1:2::7\/64\n/);
  t.deepEqual(h.runner.calls, [NETWORKD_ACTIVE, NM_ACTIVE, 'networkctl reload']);

  h.runner.calls.length = 0;
  t.like(await handOff(h, req), { manager: 'networkd', changed: false });
  t.false(h.runner.calls.includes('networkctl reload'), 'no reload when nothing changed');
});

test.serial("networkd: readable by networkd (systemd-network) under the unit's UMask=0077", async (t) => {
  // The unit's UMask=0077 also holds for ExecStartPost=+: created directories must still be 0755
  // and the drop-in 0644, else networkd skips them and drops the identity when it reconfigures.
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  mkdirSync(h.networkd.persistent, { mode: 0o750 });
  chmodSync(h.networkd.persistent, 0o750);
  chownSync(h.networkd.persistent, 0, 998); // networkd reads it through its group
  const before = process.umask(0o077);
  t.teardown(() => process.umask(before));
  await handOff(h, req);
  await handOff(h, { ...req, address: ID.map((b, i) => (i === 15 ? 8 : b)) });
  const mode = (p: string) => statSync(p).mode & 0o7777;
  t.is(mode(h.networkd.runtime), 0o755, 'created base directory');
  t.is(mode(dirname(runtimeDropIn(h))), 0o755, 'created .network.d directory');
  t.is(mode(runtimeDropIn(h)), 0o644, 'drop-in, also when replaced');
  t.regex(readFileSync(runtimeDropIn(h), 'utf8'), /^Address=fd00:e2e:1:2::8\/64$/m);
  await handOff(h, { ...req, persist: 'persistent' });
  t.is(mode(h.networkd.persistent), 0o750, 'an existing directory keeps its mode');
  t.is(mode(dirname(persistentDropIn(h))), 0o755);
  t.is(mode(persistentDropIn(h)), 0o644);
});

test('networkd: a drop-in networkd cannot read is refused, named, and not reloaded', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  const dir = dirname(runtimeDropIn(h));
  mkdirSync(dir, { recursive: true });
  chmodSync(h.networkd.runtime, 0o755);
  chmodSync(dir, 0o700); // an existing directory keeps its mode, so this one stays unreadable
  await t.throwsAsync(handOff(h, req), {
    instanceOf: NetworkManagerError,
    message: `networkd: systemd-networkd reads its configuration as systemd-network, which cannot search ${dir} (mode 0700, owner 0:0): networkd would ignore ${runtimeDropIn(h)}`,
  });
  t.false(h.runner.calls.includes('networkctl reload'));

  chmodSync(dir, 0o750);
  chownSync(dir, 0, 998); // readable through networkd's group
  t.like(await handOff(h, req), { manager: 'networkd', changed: false });
});

test('networkd: same text with a mode networkd cannot read is rewritten 0644 and reloaded', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  await handOff(h, req);
  chmodSync(runtimeDropIn(h), 0o600);
  h.runner.calls.length = 0;
  t.like(await handOff(h, req), { manager: 'networkd', changed: true });
  t.is(statSync(runtimeDropIn(h)).mode & 0o7777, 0o644);
  t.true(h.runner.calls.includes('networkctl reload'));
});

test('networkd: without a systemd-network account the access check is left out', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  writeFileSync(join(h.etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  mkdirSync(dirname(runtimeDropIn(h)), { recursive: true, mode: 0o700 });
  t.like(await handOff(h, req), { manager: 'networkd', changed: true });
});

test('networkd: persistent goes to /etc and removes a runtime copy left from before', async (t) => {
  const h = host(t, { networkFile: '/usr/lib/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  await handOff(h, req);
  const r = await handOff(h, { ...req, persist: 'persistent' });
  t.deepEqual(r, { manager: 'networkd', changed: true, detail: persistentDropIn(h) });
  t.true(existsSync(persistentDropIn(h)));
  t.false(existsSync(runtimeDropIn(h)));
});

test('networkd: a failed reload is a NetworkManagerError naming the command and its message', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner
    .answer(NETWORKD_ACTIVE, {})
    .answer('networkctl reload', { status: 1, stderr: 'Failed to reload: Access denied\n' });
  await t.throwsAsync(handOff(h, req), {
    instanceOf: NetworkManagerError,
    message: 'networkd: networkctl reload failed: Failed to reload: Access denied',
  });
});

test('NetworkManager: temporary +ipv6.addresses on the active connection, then reapply', async (t) => {
  const h = host(t);
  h.runner
    .answer(NM_ACTIVE, {})
    .answer('nmcli -t -f UUID,DEVICE connection show --active', { stdout: `${UUID}:eth0\n` })
    .answer(`nmcli -t -e no -g ipv6.method,ipv6.addresses connection show uuid ${UUID}`, {
      stdout: 'auto\n\n',
    })
    .answer(`nmcli connection modify --temporary uuid ${UUID} +ipv6.addresses ${CIDR}`, {})
    .answer(NM_STATE, { stdout: '100 (connected)\n' })
    .answer('nmcli device reapply eth0', {});
  t.deepEqual(await handOff(h, req), { manager: 'networkmanager', changed: true, detail: UUID });
  t.deepEqual(h.runner.calls.slice(-3), [
    `nmcli connection modify --temporary uuid ${UUID} +ipv6.addresses ${CIDR}`,
    NM_STATE,
    'nmcli device reapply eth0',
  ]);
  t.deepEqual(h.sleeps, [], 'activated already: no wait');
  t.false(existsSync(h.networkd.runtime), 'nothing written for networkd');
});

test('NetworkManager: a device still activating is reapplied once activated', async (t) => {
  const h = host(t);
  h.runner
    .answer(NM_ACTIVE, {})
    .answer('nmcli -t -f UUID,DEVICE connection show --active', { stdout: `${UUID}:eth0\n` })
    .answer(`nmcli -t -e no -g ipv6.method,ipv6.addresses connection show uuid ${UUID}`, {
      stdout: 'auto\n\n',
    })
    .answer(`nmcli connection modify --temporary uuid ${UUID} +ipv6.addresses ${CIDR}`, {})
    .answerInTurn(NM_STATE, [
      { stdout: '70 (connecting (getting IP configuration))\n' },
      { stdout: '70 (connecting (getting IP configuration))\n' },
      { stdout: '100 (connected)\n' },
    ])
    .answer('nmcli device reapply eth0', {});
  t.is((await handOff(h, req)).manager, 'networkmanager');
  t.is(h.sleeps.length, 2, 'waited twice');
  t.is(h.runner.calls.filter((c) => c === 'nmcli device reapply eth0').length, 1);
  t.is(h.runner.calls.at(-1), 'nmcli device reapply eth0', 'reapplied only after activation');
});

test('NetworkManager: a device that never activates is exit-14 material naming its state, not reapplied', async (t) => {
  const h = host(t);
  h.runner
    .answer(NM_ACTIVE, {})
    .answer('nmcli -t -f UUID,DEVICE connection show --active', { stdout: `${UUID}:eth0\n` })
    .answer(`nmcli -t -e no -g ipv6.method,ipv6.addresses connection show uuid ${UUID}`, {
      stdout: 'auto\n\n',
    })
    .answer(`nmcli connection modify --temporary uuid ${UUID} +ipv6.addresses ${CIDR}`, {})
    .answer(NM_STATE, { stdout: '20 (unavailable)\n' });
  await t.throwsAsync(handOff(h, req), {
    instanceOf: NetworkManagerError,
    message: /eth0 not activated 180 s after the connection change \(device state: 20 \(unavailable\)\)/,
  });
  t.false(h.runner.calls.includes('nmcli device reapply eth0'));
  t.true(h.sleeps.length > 0);
});

test("NetworkManager: a refused modify is exit-14 material with nmcli's message", async (t) => {
  const h = host(t);
  h.runner
    .answer(NM_ACTIVE, {})
    .answer('nmcli -t -f UUID,DEVICE connection show --active', { stdout: `${UUID}:eth0\n` })
    .answer(`nmcli -t -e no -g ipv6.method,ipv6.addresses connection show uuid ${UUID}`, {
      stdout: 'auto\n\n',
    })
    .answer(`nmcli connection modify --temporary uuid ${UUID} +ipv6.addresses ${CIDR}`, {
      status: 1,
      stderr: 'Error: Failed to modify connection: Insufficient privileges.\n',
    });
  await t.throwsAsync(handOff(h, req), {
    instanceOf: NetworkManagerError,
    message: /Insufficient privileges/,
  });
});

test('no manager: nothing run beyond detection, nothing written', async (t) => {
  const h = host(t);
  const r = await handOff(h, req);
  t.is(r.manager, 'none');
  t.deepEqual(h.runner.calls, [NETWORKD_ACTIVE, NM_ACTIVE]);
  t.deepEqual(await gatherFacts(h, 'eth0'), {
    networkd: { isRunning: false },
    networkManager: { isRunning: false },
  });
});

test('forced networkd without networkd is refused before anything is written', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  await t.throwsAsync(handOff(h, { ...req, choice: 'networkd' }), {
    message: /systemd-networkd is not running/,
  });
  t.false(existsSync(h.networkd.runtime));
});

test('takeBack removes the drop-ins in both directories and the NetworkManager address', async (t) => {
  const h = host(t, { networkFile: '/etc/systemd/network/20-wired.network' });
  h.runner.answer(NETWORKD_ACTIVE, {}).answer('networkctl reload', {});
  await handOff(h, { ...req, persist: 'persistent' });
  mkdirSync(join(h.networkd.runtime, '10-other.network.d'), { recursive: true });
  writeFileSync(join(h.networkd.runtime, '10-other.network.d', '90-xtt-agent.conf'), '[Address]\n');
  writeFileSync(join(h.networkd.runtime, '10-other.network.d', 'keep.conf'), '[Network]\n');
  h.runner
    .answer(NM_ACTIVE, {})
    .answer('nmcli -t -f UUID,DEVICE connection show --active', { stdout: `${UUID}:eth0\n` })
    .answer(`nmcli -t -e no -g ipv6.method,ipv6.addresses connection show uuid ${UUID}`, {
      stdout: `auto\n${CIDR}\n`,
    })
    .answer(`nmcli connection modify uuid ${UUID} -ipv6.addresses ${CIDR}`, {})
    .answer(NM_STATE, { stdout: '100 (connected)\n' })
    .answer('nmcli device reapply eth0', {});
  h.runner.calls.length = 0;
  const removed = await takeBack(h, 'eth0', CIDR);
  t.deepEqual(removed, [
    join(h.networkd.runtime, '10-other.network.d', '90-xtt-agent.conf'),
    persistentDropIn(h),
    `NetworkManager connection ${UUID}: ${CIDR}`,
  ]);
  t.true(existsSync(join(h.networkd.runtime, '10-other.network.d', 'keep.conf')), 'other drop-ins stay');
  t.true(h.runner.calls.includes('networkctl reload'));
  t.deepEqual(await takeBack(h, 'eth0', undefined), [], 'nothing left the second time');
});
