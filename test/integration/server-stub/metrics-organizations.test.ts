// /metrics per organization with a real `enf-server start` and real XTT handshakes: the handshake
// counters and timings carry the organization of the batch the device named; one refused before any
// organization was known (an unregistered group, bytes that are no handshake) counts under
// organization="(none)". An organization's token scrapes its own series only, never another
// organization's name; the superadmin's scrape shows them all.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { managementArgs, startEnfServer } from './_enf-server.ts';
import { handshake, makeGroup, TestDevice } from './_xtt-devices.ts';

/** Sends bytes that are no XTT message and waits until the server closes. */
function garbage(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(new Uint8Array(200).fill(0x42)));
    s.on('data', () => undefined);
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

test('handshake counters carry the organization of the batch; each organization scrapes only its own', async (t) => {
  t.timeout(600_000); // real handshakes on a shared machine: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-metrics-orgs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  createKeyMaterial(dir, systemRng);
  const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));
  const acmeGroup = makeGroup();
  const globexGroup = makeGroup();
  const revokedGroup = makeGroup();
  const r = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const acme = (await r.addOrganization({ name: 'acme' })).id;
  const globex = (await r.addOrganization({ name: 'globex' })).id;
  await r.addNetwork({ name: 'net', prefix: '2001:db8:a:1::/64' }, acme);
  await r.addNetwork({ name: 'net', prefix: '2001:db8:b:1::/64' }, globex);
  await r.addBatch({ ...acmeGroup, name: 'lot', network: 'net', size: 10 }, acme);
  await r.addBatch({ ...globexGroup, name: 'lot', network: 'net', size: 10 }, globex);
  const revoked = await r.addBatch({ ...revokedGroup, name: 'old', network: 'net', size: 10 }, globex);
  await r.revokeBatch(revoked.gid, globex);
  await r.close();
  const token = () => toHex(systemRng.bytes(32));
  const tok = { super: token(), acme: token(), globex: token() };
  const tokens = join(dir, 'tokens');
  writeFileSync(
    tokens,
    `${tok.super}\n${tok.acme} org=acme role=viewer\n${tok.globex} org=globex role=viewer\n`,
    { mode: 0o600 },
  );
  const server = await startEnfServer(dir, managementArgs(tokens));
  try {
    for (let i = 0; i < 2; i++)
      t.true((await handshake(server.port, new TestDevice(acmeGroup.member()), root)).ok);
    t.true((await handshake(server.port, new TestDevice(globexGroup.member()), root)).ok);
    t.false((await handshake(server.port, new TestDevice(revokedGroup.member()), root)).ok);
    t.false((await handshake(server.port, new TestDevice(makeGroup().member()), root)).ok);
    await garbage(server.port);
    const scrape = async (bearer: string) => {
      const res = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      t.is(res.status, 200);
      return res.text();
    };
    const labels = (text: string) => [
      ...new Set([...text.matchAll(/organization="([^"]*)"/g)].map((m) => m[1])),
    ];

    const all = await scrape(tok.super);
    t.regex(all, /^enf_handshakes_total\{organization="acme",outcome="provisioned"\} 2$/m);
    t.regex(all, /^enf_handshakes_total\{organization="globex",outcome="provisioned"\} 1$/m);
    t.regex(all, /^enf_handshakes_total\{organization="globex",outcome="refused"\} 1$/m);
    t.regex(all, /^enf_handshakes_total\{organization="\(none\)",outcome="refused"\} 1$/m);
    t.regex(all, /^enf_handshakes_total\{organization="\(none\)",outcome="failed"\} 1$/m);
    t.regex(all, /^enf_handshakes_total\{organization="default",outcome="provisioned"\} 0$/m);
    t.regex(all, /^enf_handshake_duration_seconds_count\{organization="acme"\} 2$/m);
    t.deepEqual(labels(all).sort(), ['(none)', 'acme', 'default', 'globex']);

    const a = await scrape(tok.acme);
    t.regex(a, /^enf_handshakes_total\{organization="acme",outcome="provisioned"\} 2$/m);
    t.regex(a, /^enf_handshakes_total\{organization="acme",outcome="refused"\} 0$/m);
    t.regex(a, /^enf_handshake_duration_seconds_count\{organization="acme"\} 2$/m);
    t.regex(a, /^enf_devices\{organization="acme",status="active"\} 2$/m);
    t.deepEqual(labels(a), ['acme']);
    for (const foreign of ['globex', '(none)', 'default', 'enf_verify_'])
      t.false(a.includes(foreign), foreign);

    const g = await scrape(tok.globex);
    t.regex(g, /^enf_handshakes_total\{organization="globex",outcome="provisioned"\} 1$/m);
    t.regex(g, /^enf_handshakes_total\{organization="globex",outcome="refused"\} 1$/m);
    t.deepEqual(labels(g), ['globex']);
    t.false(g.includes('acme'));
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
});
