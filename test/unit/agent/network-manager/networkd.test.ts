// Tests for agent/network-manager/networkd.ts: link state parsing, drop-in paths per persistence,
// and the drop-in text.
import test from 'ava';
import { ConfigError } from '../../../../agent/errors.ts';
import { dropInPath, parseLinkState, renderDropIn } from '../../../../agent/network-manager/networkd.ts';

test('parseLinkState reads ADMIN_STATE and NETWORK_FILE and ignores the rest', (t) => {
  const text = [
    '# This is private data. Do not parse.',
    'ADMIN_STATE=configured',
    'OPER_STATE=routable',
    'NETWORK_FILE=/etc/systemd/network/20-wired.network',
    'DNS=10.0.2.3',
    '',
  ].join('\n');
  t.deepEqual(parseLinkState(text), {
    adminState: 'configured',
    networkFile: '/etc/systemd/network/20-wired.network',
  });
  t.deepEqual(parseLinkState('ADMIN_STATE=unmanaged\nNETWORK_FILE=\n'), { adminState: 'unmanaged' });
  t.deepEqual(parseLinkState(''), {});
});

test('dropInPath: <name>.network.d/90-xtt-agent.conf under /run or /etc, wherever the .network is', (t) => {
  t.is(
    dropInPath('/usr/lib/systemd/network/80-wired.network', 'runtime'),
    '/run/systemd/network/80-wired.network.d/90-xtt-agent.conf',
  );
  t.is(
    dropInPath('/etc/systemd/network/20-wired.network', 'persistent'),
    '/etc/systemd/network/20-wired.network.d/90-xtt-agent.conf',
  );
  t.is(
    dropInPath('/run/systemd/network/10-eth0.network', 'persistent', { runtime: '/r', persistent: '/e' }),
    '/e/10-eth0.network.d/90-xtt-agent.conf',
  );
  t.throws(() => dropInPath('/etc/systemd/network/20-wired.link', 'runtime'), { instanceOf: ConfigError });
});

test('renderDropIn: one [Address] section, DAD as configured', (t) => {
  const text = renderDropIn({ address: 'fd00:e2e:1:2::7', prefixLen: 64, nodad: false });
  t.regex(text, /^# Written by xtt-agent/);
  t.true(text.endsWith('[Address]\nAddress=fd00:e2e:1:2::7/64\nDuplicateAddressDetection=ipv6\n'));
  t.regex(
    renderDropIn({ address: 'fd00::1', prefixLen: 128, nodad: true }),
    /Address=fd00::1\/128\nDuplicateAddressDetection=none\n$/,
  );
});
