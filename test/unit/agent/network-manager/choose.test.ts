// Tests for agent/network-manager/choose.ts: auto detection order, forced managers and why they
// cannot serve, and `none`.
import test from 'ava';
import { chooseManager, type ManagerFacts } from '../../../../agent/network-manager/choose.ts';
import { NetworkManagerError } from '../../../../agent/errors.ts';
import { EXIT, exitCodeFor } from '../../../../agent/exit-codes.ts';

const UUID = '3c0e1b8a-5b8e-4d5e-9b3a-2f1f1e2d3c4b';
const networkd = {
  isRunning: true,
  networkFile: '/etc/systemd/network/20-wired.network',
  adminState: 'configured',
};
const nm = { isRunning: true, connectionUuid: UUID };
const off = { isRunning: false };
const facts = (n: ManagerFacts['networkd'], m: ManagerFacts['networkManager']): ManagerFacts => ({
  networkd: n,
  networkManager: m,
});

test('auto: networkd when it manages the interface, even if NetworkManager runs too', (t) => {
  t.deepEqual(chooseManager('auto', facts(networkd, nm), 'eth0'), {
    kind: 'networkd',
    networkFile: '/etc/systemd/network/20-wired.network',
  });
});

test('auto: NetworkManager when networkd does not run or leaves the interface alone', (t) => {
  t.deepEqual(chooseManager('auto', facts(off, nm), 'eth0'), {
    kind: 'networkmanager',
    connectionUuid: UUID,
  });
  t.deepEqual(chooseManager('auto', facts({ isRunning: true, adminState: 'unmanaged' }, nm), 'eth0'), {
    kind: 'networkmanager',
    connectionUuid: UUID,
  });
  t.deepEqual(chooseManager('auto', facts({ isRunning: true }, nm), 'eth0').kind, 'networkmanager');
});

test('auto: none, with both reasons, when no manager takes the interface', (t) => {
  t.deepEqual(chooseManager('auto', facts(off, { isRunning: true }), 'eth0'), {
    kind: 'none',
    reason: 'systemd-networkd is not running; NetworkManager has no active connection on eth0',
  });
});

test('forced: the named manager, or an error saying why it cannot serve (exit 14)', (t) => {
  t.is(chooseManager('networkmanager', facts(networkd, nm), 'eth0').kind, 'networkmanager');
  t.is(chooseManager('networkd', facts(networkd, off), 'eth0').kind, 'networkd');
  const e1 = t.throws(() => chooseManager('networkd', facts(off, nm), 'eth0'), {
    instanceOf: NetworkManagerError,
    message: 'networkd: network.manager is networkd but systemd-networkd is not running',
  });
  t.is(exitCodeFor(e1), EXIT.NETWORK_MANAGER);
  t.throws(() => chooseManager('networkd', facts({ ...networkd, adminState: 'unmanaged' }, nm), 'eth1'), {
    message: /systemd-networkd leaves eth1 unmanaged/,
  });
  t.throws(() => chooseManager('networkmanager', facts(networkd, { isRunning: true }), 'eth0'), {
    message: /network.manager is networkmanager but NetworkManager has no active connection on eth0/,
  });
});

test('none: nobody, whatever runs', (t) => {
  t.deepEqual(chooseManager('none', facts(networkd, nm), 'eth0'), {
    kind: 'none',
    reason: 'network.manager is none',
  });
});
