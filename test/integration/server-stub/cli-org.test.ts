// The real `enf-server` program with --json: `org add|list` and `network add --org`; an unknown
// organization is NOT_FOUND (exit 3) naming --org, and a refused command changes nothing; a command
// whose operator-audit entry cannot be written (a trigger refusing the insert) changes nothing either;
// CA names are per organization (ca ... --org), and so are the certificate devices `ca devices --org` lists.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { REGISTRY_FILE } from '../../../server-stub/registry/open.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { FAIL_OPERATOR_AUDIT } from '../../helpers/operator-audit-faults.ts';
import { makeRoot } from '../../helpers/openssl-ca.ts';
import { runEnfCli, type CliRun } from './_enf-cli.ts';

function cli(dir: string, ...args: string[]): Promise<CliRun> {
  return runEnfCli(['--dir', dir, ...args]);
}

test('org add and list; network add --org puts the network in it; an unknown organization is NOT_FOUND', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-org-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(dir, 'init')).code, 0);
  const added = await cli(dir, 'org', 'add', '--name', 'acme');
  t.is(added.code, 0, added.stderr);
  t.like(added.json, { id: 2, name: 'acme' });
  const dup = await cli(dir, 'org', 'add', '--name', 'acme');
  t.is(dup.json?.error?.code, 'CONFLICT');
  const list = await cli(dir, 'org', 'list');
  t.deepEqual(
    list.json.map((o: { name: string }) => o.name),
    ['default', 'acme'],
  );
  // The same network name in two organizations.
  t.is((await cli(dir, 'network', 'add', '--name', 'plant', '--prefix', '2001:db8:1::/64')).code, 0);
  const inAcme = await cli(
    dir,
    'network',
    'add',
    '--name',
    'plant',
    '--prefix',
    '2001:db8:2::/64',
    '--org',
    'acme',
  );
  t.is(inAcme.code, 0, inAcme.stderr);
  const missing = await cli(
    dir,
    'network',
    'add',
    '--name',
    'x',
    '--prefix',
    '2001:db8:3::/64',
    '--org',
    'nobody',
  );
  t.is(missing.code, 3);
  t.is(missing.json?.error?.code, 'NOT_FOUND');
  t.regex(missing.json?.error?.message, /org/);
  const nets = await cli(dir, 'network', 'list');
  t.deepEqual(
    nets.json.map((n: { name: string; prefix: string }) => `${n.name} ${n.prefix}`),
    ['plant 2001:db8:1::/64', 'plant 2001:db8:2::/64'],
  );
});

test('CLI changes are in the operator audit as cli:<OS user> from cli; audit operator lists and filters them; audit still lists handshakes', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-opaudit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(dir, 'init')).code, 0);
  t.is((await cli(dir, 'org', 'add', '--name', 'acme')).code, 0);
  const me = `cli:${userInfo().username}`;
  t.is(
    (await cli(dir, 'network', 'add', '--name', 'plant', '--prefix', '2001:db8:1::/64', '--org', 'acme'))
      .code,
    0,
  );
  // Refused: changes nothing, records nothing.
  t.not(
    (await cli(dir, 'network', 'add', '--name', 'plant', '--prefix', '2001:db8:9::/64', '--org', 'acme'))
      .code,
    0,
  );
  const all = await cli(dir, 'audit', 'operator');
  t.is(all.code, 0, all.stderr);
  t.deepEqual(
    all.json.map(
      (e: { actor: string; action: string; objectName: string; source: string; organizationId: number }) => [
        e.actor,
        e.action,
        e.objectName,
        e.source,
        e.organizationId,
      ],
    ),
    [
      [me, 'network.add', 'plant', 'cli', 2],
      [me, 'organization.add', 'acme', 'cli', 2],
    ],
  );
  const filtered = await cli(dir, 'audit', 'operator', '--action', 'organization.add', '--org', 'acme');
  t.is(filtered.json.length, 1);
  t.is((await cli(dir, 'audit', 'operator', '--org', 'default')).json.length, 0);
  t.is((await cli(dir, 'audit', 'operator', '--object-type', 'network')).json.length, 1);
  // The handshake audit command is unchanged (no handshakes yet).
  const hs = await cli(dir, 'audit', '--limit', '5');
  t.is(hs.code, 0, hs.stderr);
  t.deepEqual(hs.json, []);
});

test('a CLI change whose operator-audit entry cannot be written is not made (exit 5, field operatorAudit); made again, it adds one entry', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(dir, 'init')).code, 0);
  const file = join(dir, REGISTRY_FILE);
  const sql = (statement: string) => {
    const db = new Database(file);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  };
  /** Every table's rows (schema_migrations aside): a refused command must leave them as they were. */
  const stored = () => {
    const db = new Database(file, { readonly: true });
    try {
      const tables = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as { name: string }[];
      return Object.fromEntries(
        tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]),
      );
    } finally {
      db.close();
    }
  };
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'una-password-1\n', { mode: 0o600 });
  const commands = [
    ['org', 'add', '--name', 'acme'],
    ['network', 'add', '--name', 'plant', '--prefix', '2001:db8:1::/64', '--org', 'acme'],
    ['user', 'add', '--name', 'una', '--role', 'operator', '--org', 'acme', '--password-file', pw],
    ['user', 'disable', '--name', 'una'],
    ['token', 'add', '--name', 'ci', '--role', 'viewer', '--org', 'acme'],
    ['token', 'revoke', '--name', 'ci', '--org', 'acme'],
  ];
  for (const args of commands) {
    const before = stored();
    sql(FAIL_OPERATOR_AUDIT.sqlite.on);
    const refused = await cli(dir, ...args);
    sql(FAIL_OPERATOR_AUDIT.sqlite.off);
    t.is(refused.code, 5, `${args.join(' ')}: ${refused.stderr}`);
    t.like(refused.json?.error, { code: 'STORAGE', field: 'operatorAudit' });
    t.regex(refused.json?.error?.message, /the change was not made.*operator audit/);
    t.deepEqual(stored(), before, `${args.join(' ')}: nothing changed`);
    const made = await cli(dir, ...args);
    t.is(made.code, 0, `${args.join(' ')}: ${made.stderr}`);
    t.is(
      (stored().operator_audit as unknown[]).length,
      (before.operator_audit as unknown[]).length + 1,
      `${args.join(' ')}: one entry`,
    );
  }
});

test('ca add --org: two organizations each have a CA factory-ca; names and --org resolve to their own; another organization is not found', async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-ca-org-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(dir, 'init')).code, 0);
  const ids: Record<string, number> = {};
  for (const [org, prefix] of [
    ['acme', '2001:db8:1::/64'],
    ['globex', '2001:db8:2::/64'],
  ] as const) {
    t.is((await cli(dir, 'org', 'add', '--name', org)).code, 0);
    t.is((await cli(dir, 'network', 'add', '--name', 'plant', '--prefix', prefix, '--org', org)).code, 0);
    const root = makeRoot(dir, `${org}-root`);
    const args = ['--cert', root.certPath, '--network', 'plant', '--name', 'factory-ca', '--unverified'];
    const added = await cli(dir, 'ca', 'add', ...args, '--org', org);
    t.is(added.code, 0, added.stderr);
    ids[org] = added.json.id;
  }
  const acmeList = await cli(dir, 'ca', 'list', '--org', 'acme');
  t.deepEqual(
    acmeList.json.map((c: { id: number; name: string }) => [c.id, c.name]),
    [[ids.acme, 'factory-ca']],
  );
  // Without --org a name is the default organization's: there is no factory-ca there.
  const inDefault = await cli(dir, 'ca', 'revoke', 'factory-ca');
  t.is(inDefault.code, 3, inDefault.stderr);
  // acme's CA by id, asked for globex: not found.
  const cross = await cli(dir, 'ca', 'revoke', String(ids.acme), '--org', 'globex');
  t.is(cross.code, 3, cross.stderr);
  // One certificate device per organization (as an enrollment would store it): `ca devices --org`
  // lists only that organization's, `--ca` resolves in it, and another's CA is not found.
  const registry = SqliteRegistry.open(join(dir, REGISTRY_FILE));
  try {
    for (const [i, org] of (['acme', 'globex'] as const).entries()) {
      const net = (await registry.getNetwork('plant', (await registry.getOrganization(org))!.id))!;
      await registry.pki.withPkiTransaction((tx) =>
        tx.insertCertDevice({
          caId: ids[org]!,
          networkId: net.id,
          keyFingerprint: String(i + 1).repeat(64),
          identity: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, i + 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
          subject: `CN=${org}-dev`,
          issuer: `CN=${org}-root`,
          serial: String(100 + i),
          fingerprint: String(i + 1)
            .repeat(64)
            .replace(/^./, 'f'),
          notBefore: 0,
          notAfter: 4_000_000_000_000,
          method: 'tls-client-certificate',
          source: '192.0.2.9 4000',
        }),
      );
    }
  } finally {
    await registry.close();
  }
  const subjects = (r: CliRun) => r.json.map((d: { subject: string }) => d.subject);
  const acmeDevices = await cli(dir, 'ca', 'devices', '--org', 'acme');
  t.is(acmeDevices.code, 0, acmeDevices.stderr);
  t.deepEqual(subjects(acmeDevices), ['CN=acme-dev']);
  const byName = await cli(dir, 'ca', 'devices', '--org', 'globex', '--ca', 'factory-ca');
  t.deepEqual(subjects(byName), ['CN=globex-dev']);
  const crossDevices = await cli(dir, 'ca', 'devices', '--org', 'globex', '--ca', String(ids.acme));
  t.is(crossDevices.code, 3, crossDevices.stderr);
  t.deepEqual(subjects(await cli(dir, 'ca', 'devices')).sort(), ['CN=acme-dev', 'CN=globex-dev']);
  const revoked = await cli(dir, 'ca', 'revoke', 'factory-ca', '--org', 'globex');
  t.is(revoked.code, 0, revoked.stderr);
  t.is(revoked.json.id, ids.globex);
  const all = await cli(dir, 'ca', 'list');
  t.deepEqual(
    all.json.map((c: { id: number; status: string }) => [c.id, c.status]),
    [
      [ids.acme, 'active'],
      [ids.globex, 'revoked'],
    ],
  );
});
