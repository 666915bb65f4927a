// IPv6 text parsing and RFC 5952 canonical output for prefixes and identities.
import test from 'ava';
import fc from 'fast-check';
import { ValidationError } from '../../../../server-stub/registry/errors.ts';
import {
  formatIpv6,
  formatPrefix64,
  parseIpv6,
  parsePrefix64,
} from '../../../../server-stub/registry/ipv6.ts';

test('parses the RFC 4291 text forms', (t) => {
  t.deepEqual(parseIpv6('::', 'a'), new Uint8Array(16));
  t.deepEqual(formatIpv6(parseIpv6('::1', 'a')), '::1');
  t.deepEqual(formatIpv6(parseIpv6('2001:DB8:0:0:1:0:0:1', 'a')), '2001:db8::1:0:0:1');
  t.deepEqual(formatIpv6(parseIpv6('2001:db8::ffff:192.0.2.1', 'a')), '2001:db8::ffff:c000:201');
  t.deepEqual(formatIpv6(parseIpv6('1:0:2:3:4:5:6:7', 'a')), '1:0:2:3:4:5:6:7');
});

test('refuses malformed addresses naming the field', (t) => {
  for (const bad of [
    '',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7::8',
    '::1.2.3',
    'fe80::1%eth0',
  ]) {
    const err = t.throws(() => parseIpv6(bad, 'identity'), { instanceOf: ValidationError }, bad);
    t.is(err?.field, 'identity');
  }
});

test('round-trips any 16 bytes through canonical text (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const text = formatIpv6(b);
      return Buffer.from(parseIpv6(text, 'x')).equals(b) && formatIpv6(parseIpv6(text, 'x')) === text;
    }),
  );
  t.pass();
});

test('prefixes must be /64 with zero host bits, not multicast or unspecified', (t) => {
  t.is(formatPrefix64(parsePrefix64('2001:db8:1:2::/64', 'p')), '2001:db8:1:2::/64');
  for (const bad of [
    '2001:db8::/48',
    '2001:db8::',
    '2001:db8::1/64',
    'ff00::/64',
    '::/64',
    '2001:db8::/064',
  ]) {
    t.throws(
      () => parsePrefix64(bad, 'network.prefix'),
      { instanceOf: ValidationError, message: /network.prefix/ },
      bad,
    );
  }
});

test('a refused prefix is explained in full: every fault and what to give instead', (t) => {
  const why = (text: string) =>
    t.throws(() => parsePrefix64(text, 'network.prefix'), { instanceOf: ValidationError })?.message;
  t.is(
    why('10.0.0.0/24'),
    'network.prefix: "10.0.0.0/24": an IPv4 address, not IPv6; prefix length "24", not 64; give an IPv6 /64 such as 2001:db8:1:2::/64',
  );
  t.is(
    why('2001:db8::1/48'),
    'network.prefix: "2001:db8::1/48": prefix length "48", not 64; host bits (the last 64) are not zero; give an IPv6 /64 such as 2001:db8:1:2::/64',
  );
  t.regex(why('2001:db8::')!, /no prefix length \(want '\/64'\)/);
  t.regex(why('2001:zz8::/64')!, /address "2001:zz8::": not an IPv6 address; give an IPv6 \/64/);
  t.regex(why('ff02::/64')!, /: a multicast prefix; /);
});
