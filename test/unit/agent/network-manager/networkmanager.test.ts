// Tests for agent/network-manager/networkmanager.ts: nmcli terse output parsing and the argument
// lists for adding and removing the address.
import test from 'ava';
import {
  addAddressArgs,
  parseActiveConnection,
  connectionIpv6Args,
  deviceStateArgs,
  parseConnectionIpv6,
  parseDeviceState,
  reapplyArgs,
  removeAddressArgs,
} from '../../../../agent/network-manager/networkmanager.ts';

const UUID = '3c0e1b8a-5b8e-4d5e-9b3a-2f1f1e2d3c4b';
const CIDR = 'fd00:e2e:1:2::7/64';

test('parseActiveConnection finds the UUID active on the interface', (t) => {
  const terse = `0b6c2e3a-1111-4222-8333-944455556666:lo\n${UUID}:eth0\nfeedface-1111-4222-8333-944455556666:eth1\n`;
  t.is(parseActiveConnection(terse, 'eth0'), UUID);
  t.is(parseActiveConnection(terse, 'eth9'), undefined);
  t.is(parseActiveConnection('not-a-uuid:eth0\n', 'eth0'), undefined);
  t.is(parseActiveConnection('', 'eth0'), undefined);
});

test('parseConnectionIpv6: method line, then addresses in either separator style', (t) => {
  t.deepEqual(parseConnectionIpv6('auto\n\n'), { method: 'auto', addresses: [] });
  t.deepEqual(parseConnectionIpv6(`manual\nfd00::1/64, ${CIDR}\n`), {
    method: 'manual',
    addresses: ['fd00::1/64', CIDR],
  });
  t.deepEqual(parseConnectionIpv6(`auto\n${CIDR},fd00::9/64`).addresses, [CIDR, 'fd00::9/64']);
  // Asked for with --escape no; an nmcli that escapes ':' anyway reads the same.
  t.deepEqual(connectionIpv6Args('u'), [
    '-t',
    '-e',
    'no',
    '-g',
    'ipv6.method,ipv6.addresses',
    'connection',
    'show',
    'uuid',
    'u',
  ]);
  t.deepEqual(parseConnectionIpv6('auto\nfd00\\:e2e\\:1\\:2\\:\\:7/64\n').addresses, [CIDR]);
});

test('parseDeviceState: the NMDeviceState number, or undefined', (t) => {
  t.is(parseDeviceState('100 (connected)\n'), 100);
  t.is(parseDeviceState('70 (connecting (getting IP configuration))'), 70);
  t.is(parseDeviceState(''), undefined);
  t.is(parseDeviceState('connected'), undefined);
  t.deepEqual(deviceStateArgs('eth0'), ['-t', '-g', 'GENERAL.STATE', 'device', 'show', 'eth0']);
});

test('addAddressArgs: temporary at runtime, stored when persistent, nothing when already there', (t) => {
  const auto = { method: 'auto', addresses: [] };
  t.deepEqual(addAddressArgs(UUID, CIDR, auto, 'runtime'), [
    ...['connection', 'modify', '--temporary', 'uuid', UUID, '+ipv6.addresses', CIDR],
  ]);
  t.deepEqual(addAddressArgs(UUID, CIDR, auto, 'persistent'), [
    ...['connection', 'modify', 'uuid', UUID, '+ipv6.addresses', CIDR],
  ]);
  t.is(addAddressArgs(UUID, CIDR, { method: 'auto', addresses: [CIDR] }, 'runtime'), undefined);
});

test('addAddressArgs: IPv6 ignored or disabled becomes manual so the address can be carried', (t) => {
  for (const method of ['ignore', 'disabled']) {
    t.deepEqual(addAddressArgs(UUID, CIDR, { method, addresses: [CIDR] }, 'persistent'), [
      ...['connection', 'modify', 'uuid', UUID, 'ipv6.method', 'manual', '+ipv6.addresses', CIDR],
    ]);
  }
});

test('removeAddressArgs and reapplyArgs', (t) => {
  t.deepEqual(removeAddressArgs(UUID, CIDR, { method: 'auto', addresses: ['fd00::1/64', CIDR] }), [
    ...['connection', 'modify', 'uuid', UUID, '-ipv6.addresses', CIDR],
  ]);
  t.is(removeAddressArgs(UUID, CIDR, { method: 'auto', addresses: [] }), undefined);
  t.deepEqual(reapplyArgs('eth0'), ['device', 'reapply', 'eth0']);
});
