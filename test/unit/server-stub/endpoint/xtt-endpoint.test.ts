// Pure helpers of the TCP endpoint: dual-stack address normalisation and the per-source key
// (IPv6 peers counted per /64, IPv4 peers per address).
import test from 'ava';
import { normaliseAddress, sourceKey } from '../../../../server-stub/endpoint/xtt-endpoint.ts';

test('IPv4-mapped addresses are reported as IPv4', (t) => {
  t.is(normaliseAddress('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(normaliseAddress('::ffff:1'), '::ffff:1');
  t.is(normaliseAddress('2001:db8::1'), '2001:db8::1');
});

test('per-source keys: one per IPv4 address, one per IPv6 /64', (t) => {
  t.is(sourceKey('192.0.2.1'), '192.0.2.1');
  t.is(sourceKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.is(sourceKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.is(sourceKey('2001:0db8:0001:0002:0:0:0:5'), '2001:db8:1:2::/64');
  t.is(sourceKey('::1'), '::/64');
  t.is(sourceKey('fe80::1'), 'fe80::/64');
  t.is(sourceKey('fe80::1%eth0'), 'fe80::/64');
  t.not(sourceKey('2001:db8:1:3::1'), sourceKey('2001:db8:1:2::1'));
});
