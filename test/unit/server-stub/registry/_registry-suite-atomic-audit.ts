// Registry suite, one transaction per operator change (Registry.withOperatorAudit): each kind of
// state change the API and the CLI make (organizations, networks, batches, devices, CAs, CRLs, users,
// tokens) either lands together with its one operator-audit row or not at all. The failure is real:
// a trigger the test adds to the database refuses every insert into operator_audit (SQLite RAISE,
// PostgreSQL RAISE EXCEPTION), and the stored state is compared before and after. A refused change
// (NOT_FOUND, CONFLICT) records nothing; a describe step that throws undoes the change.
import type { TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AssignRequest } from '../../../../server-stub/policy/identity-policy.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { RegistryError } from '../../../../server-stub/registry/errors.ts';
import type { OperatorAuditInput } from '../../../../server-stub/registry/operator-audit.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { makeCrl, makeRoot, type TestCa } from '../../../helpers/openssl-ca.ts';
import { FAIL_OPERATOR_AUDIT } from '../../../helpers/operator-audit-faults.ts';
import type { RegistryFactory } from './_registry-suite.ts';

const HASH = 'scrypt$ln=1,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
export interface AtomicAuditHelpers {
  testGpk: () => Uint8Array;
  pseudonym: () => Uint8Array;
  ltKey: () => Uint8Array;
  request: (gid: Uint8Array, p: Uint8Array, key: Uint8Array) => AssignRequest;
  snapshot: (r: Registry) => Promise<unknown>;
}

const base = mkdtempSync(join(tmpdir(), 'registry-atomic-'));
process.once('exit', () => rmSync(base, { recursive: true, force: true }));
let roots: [TestCa, TestCa] | undefined;
const testRoots = () => (roots ??= [makeRoot(base, 'atomic-root'), makeRoot(base, 'atomic-root-2')]);

export function registryAtomicAuditSuite(
  test: TestFn,
  name: string,
  factory: RegistryFactory,
  h: AtomicAuditHelpers,
): void {
  /** Everything a registry holds, the PKI and account tables included. */
  const everything = async (r: Registry) => ({
    core: await h.snapshot(r),
    organizations: await r.listOrganizations(),
    cas: await r.pki.listCas(),
    certDevices: await r.pki.listCertDevices(),
    users: await r.accounts.listUsers(),
    tokens: await r.accounts.listApiTokens({}),
  });

  const who = (action: string, objectId: string): OperatorAuditInput => ({
    organizationId: null,
    actor: 'cli:test',
    action,
    objectType: action.split('.')[0] as OperatorAuditInput['objectType'],
    objectId,
    objectName: null,
    source: 'cli',
    detail: null,
  });

  test(`${name}: every kind of change and its operator-audit row commit together or not at all`, async (t) => {
    t.timeout(300_000); // openssl and a shared machine
    const backend = await factory();
    const sql = backend.sql;
    if (!sql) throw new Error(`${name}: the backend must run raw SQL for this test`);
    const r = await backend.open();
    try {
      // What the changes act on.
      const acme = await r.addOrganization({ name: 'acme' });
      const net = await r.addNetwork({ name: 'plant', prefix: '2001:db8:a1::/64' }, acme.id);
      await r.addNetwork({ name: 'spare', prefix: '2001:db8:a2::/64' }, acme.id);
      await r.addNetwork({ name: 'line-2', prefix: '2001:db8:a5::/64' }, acme.id);
      const lot = await r.addBatch(
        { gpk: h.testGpk(), basename: new Uint8Array([1]), name: 'lot', size: 9 },
        acme.id,
      );
      const got = await new IdentityPolicy(r).assignIdentity(h.request(lot.gid, h.pseudonym(), h.ltKey()));
      t.false(got.ok, 'no network yet: refused');
      await r.setBatchNetwork(lot.gid, 'plant', acme.id);
      const p = h.pseudonym();
      const dev = await new IdentityPolicy(r).assignIdentity(h.request(lot.gid, p, h.ltKey()));
      if (!dev.ok) throw new Error(dev.reason);
      const ca = await r.pki.addCa({
        der: testRoots()[0].der,
        name: 'factory-ca',
        network: net.id,
        maxDevices: null,
      });
      const user = await r.accounts.addUser({
        name: 'una',
        organizationId: acme.id,
        role: 'operator',
        passwordHash: HASH,
      });
      const tok = await r.accounts.addApiToken({
        name: 'ci',
        organizationId: acme.id,
        userId: null,
        role: 'operator',
        digest: new Uint8Array(randomBytes(32)),
        createdBy: 'cli:test',
        expiresAt: null,
      });
      const crl = makeCrl(testRoots()[0], join(base, `crl-${name}.pem`));

      // Each change as the API and the CLI make it; each must show in `everything` once made.
      const changes: [string, () => Promise<unknown>][] = [
        ['organization.add', () => r.addOrganization({ name: 'initech' })],
        ['network.add', () => r.addNetwork({ name: 'third', prefix: '2001:db8:a3::/64' }, acme.id)],
        ['network.delete', () => r.deleteNetwork('spare', acme.id)],
        [
          'batch.add',
          () =>
            r.addBatch({ gpk: h.testGpk(), basename: new Uint8Array([2]), name: 'lot-2', size: 3 }, acme.id),
        ],
        ['batch.assign', () => r.setBatchNetwork(lot.gid, 'line-2', acme.id)],
        ['batch.revoke', () => r.revokeBatch(lot.gid, acme.id)],
        ['device.allow-rekey', () => r.setAllowRekey(lot.gid, p, true, acme.id)],
        ['device.revoke', () => r.revokeDevice(lot.gid, p, acme.id)],
        ['ca.verify', () => r.pki.markCaVerified(ca.id)],
        [
          'ca.crl',
          () =>
            r.pki.putCrl(ca.id, { der: crl.der, thisUpdate: Date.now(), nextUpdate: null, serials: ['0A'] }),
        ],
        ['ca.revoke', () => r.pki.revokeCa(ca.id)],
        [
          'user.add',
          () =>
            r.accounts.addUser({ name: 'vic', organizationId: acme.id, role: 'viewer', passwordHash: HASH }),
        ],
        ['user.disable', () => r.accounts.setUserDisabled(user.id, true)],
        ['user.password', () => r.accounts.setPasswordHash(user.id, HASH.replace('ln=1', 'ln=2'))],
        ['user.role', () => r.accounts.setUserRole(user.id, user.role === 'viewer' ? 'operator' : 'viewer')],
        [
          'token.add',
          () =>
            r.accounts.addApiToken({
              name: 'ci-2',
              organizationId: acme.id,
              userId: user.id,
              role: 'viewer',
              digest: new Uint8Array(randomBytes(32)),
              createdBy: 'cli:test',
              expiresAt: null,
            }),
        ],
        ['token.revoke', () => r.accounts.revokeApiToken(tok.id)],
        // Two writes in one change (the API's verified CA: add, then mark verified).
        [
          'ca.add',
          async () => {
            const added = await r.pki.addCa({
              der: testRoots()[1].der,
              name: 'second-ca',
              network: net.id,
              maxDevices: 5,
            });
            return r.pki.markCaVerified(added.id);
          },
        ],
      ];

      await sql.exec(FAIL_OPERATOR_AUDIT[sql.dialect].on);
      for (const [action, change] of changes) {
        const before = await everything(r);
        const err = await t.throwsAsync(
          r.withOperatorAudit(change, () => who(action, '1')),
          {
            instanceOf: RegistryError,
          },
        );
        t.is(err?.code, 'STORAGE', action);
        t.is(err?.field, 'operatorAudit', action);
        t.regex(err?.message ?? '', /the change was not made.*operator audit.*injected/s, action);
        t.deepEqual(await everything(r), before, `${action}: nothing changed`);
      }
      await sql.exec(FAIL_OPERATOR_AUDIT[sql.dialect].off);

      for (const [action, change] of changes) {
        const before = await everything(r);
        const rows = (await r.operatorAudit.query({ limit: 1000 })).length;
        const { entry } = await r.withOperatorAudit(change, () => who(action, '1'));
        t.is(entry.action, action);
        t.notDeepEqual(await everything(r), before, `${action}: the change is stored`);
        const after = await r.operatorAudit.query({ limit: 1000 });
        t.is(after.length, rows + 1, `${action}: exactly one row`);
        t.is(after[0]!.id, entry.id);
      }
    } finally {
      await r.close();
      await backend.cleanup();
    }
  });

  test(`${name}: a refused change records nothing; a failing describe undoes the change; describe reads inside`, async (t) => {
    const backend = await factory();
    const r = await backend.open();
    try {
      const before = await everything(r);
      // NOT_FOUND and CONFLICT from the change: no row, nothing changed.
      await t.throwsAsync(
        r.withOperatorAudit(
          () => r.deleteNetwork('nowhere'),
          () => who('network.delete', 'x'),
        ),
        { instanceOf: RegistryError, message: /nowhere/ },
      );
      await r.addNetwork({ name: 'plant', prefix: '2001:db8:b1::/64' });
      const mid = await everything(r);
      await t.throwsAsync(
        r.withOperatorAudit(
          async () => {
            await r.addNetwork({ name: 'other', prefix: '2001:db8:b2::/64' });
            return r.addNetwork({ name: 'plant', prefix: '2001:db8:b3::/64' });
          },
          () => who('network.add', 'x'),
        ),
        { instanceOf: RegistryError, message: /'plant' exists/ },
      );
      t.deepEqual(await everything(r), mid, 'the first write of the refused change is undone too');
      t.notDeepEqual(mid, before);
      // describe throws: the change is undone.
      await t.throwsAsync(
        r.withOperatorAudit(
          () => r.addNetwork({ name: 'gone', prefix: '2001:db8:b4::/64' }),
          () => {
            throw new Error('describe failed');
          },
        ),
        { message: /describe failed/ },
      );
      t.is(await r.getNetwork('gone'), undefined);
      // describe sees the uncommitted change (it runs in the same transaction).
      const { result, entry } = await r.withOperatorAudit(
        () => r.addNetwork({ name: 'seen', prefix: '2001:db8:b5::/64' }),
        async (n) => ({ ...who('network.add', String(n.id)), objectName: (await r.getNetwork(n.id))!.name }),
      );
      t.is(entry.objectName, 'seen');
      t.is(entry.objectId, String(result.id));
      t.deepEqual(
        (await r.operatorAudit.query()).map((e) => e.objectName),
        ['seen'],
        'one row in all: the refused and undone changes left none',
      );
    } finally {
      await r.close();
      await backend.cleanup();
    }
  });
}
