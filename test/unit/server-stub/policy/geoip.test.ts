// The CIDR-table GeoLocator: longest-prefix match for IPv4 and IPv6, strict loading with line
// numbers, and the location landing in the audit through IdentityPolicy.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CidrGeoLocator, GeoIpError } from '../../../../server-stub/policy/geoip.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';

const TABLE = `# test table
192.0.2.0/24,NL Amsterdam
192.0.2.128/25,NL Rotterdam
0.0.0.0/0,Earth
2001:db8::/32,DE
2001:db8:1::/48,DE Berlin
`;

test('longest prefix wins, per family', (t) => {
  const geo = new CidrGeoLocator(TABLE);
  t.is(geo.locate('192.0.2.1'), 'NL Amsterdam');
  t.is(geo.locate('192.0.2.200'), 'NL Rotterdam');
  t.is(geo.locate('198.51.100.7'), 'Earth');
  t.is(geo.locate('2001:db8:1:2::1'), 'DE Berlin');
  t.is(geo.locate('2001:db8:2::1'), 'DE');
  t.is(geo.locate('2001:db9::1'), null);
  t.is(geo.locate('not an address'), null);
});

test('bad lines are refused with their line number', (t) => {
  for (const [bad, why] of [
    ['10.0.0.1/8,X', /line 1: host bits set/],
    ['10.0.0.0/33,X', /line 1: prefix length 33/],
    ['10.0.0.0,X', /line 1: not a CIDR/],
    ['10.0.0.0/8', /line 1: label/],
    ['10.0.0.0/8,<script>', /line 1: label/],
    ['# ok\n2001:db8::/129,X', /line 2: prefix length 129/],
  ] as const) {
    t.throws(() => new CidrGeoLocator(bad), { instanceOf: GeoIpError, message: why }, bad);
  }
});

test('the location is written to the audit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-geo-'));
  const registry = SqliteRegistry.open(join(dir, 'r.sqlite'));
  const policy = new IdentityPolicy(registry, { geo: new CidrGeoLocator(TABLE) });
  await policy.assignIdentity({
    gid: new Uint8Array(32),
    pseudonym: new Uint8Array(65).fill(4),
    longtermPublicKey: new Uint8Array(65).fill(4),
    requestedId: null,
    suite: 1,
    source: { address: '192.0.2.9', port: 1234 },
  });
  const [entry] = await registry.queryAudit();
  t.is(entry?.reason, 'unknown-batch');
  t.is(entry?.geolocation, 'NL Amsterdam');
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});
