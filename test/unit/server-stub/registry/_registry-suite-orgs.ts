// Registry suite, organizations part: networks, batches, devices and their audit belong to one
// organization; a scoped call (the optional `org` argument) sees only its own organization's objects,
// another's look absent and stay unchanged; names are unique per organization; a gid belongs to at
// most one organization and a second registration is refused without naming the owner.
// registrySuite (_registry-suite.ts) runs these cases, so SQLite and PostgreSQL both do.
import type { TestFn } from 'ava';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { RegistryError, ValidationError } from '../../../../server-stub/registry/errors.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { DEFAULT_ORGANIZATION_ID } from '../../../../server-stub/registry/schema.ts';
import type { AssignRequest } from '../../../../server-stub/policy/identity-policy.ts';
import type { RegistryFactory } from './_registry-suite.ts';

export function registryOrganizationSuite(
  test: TestFn,
  name: string,
  factory: RegistryFactory,
  helpers: {
    testGpk(): Uint8Array;
    pseudonym(): Uint8Array;
    ltKey(): Uint8Array;
    request(gid: Uint8Array, p: Uint8Array, key: Uint8Array): AssignRequest;
    snapshot(r: Registry): Promise<unknown>;
  },
): void {
  /** Organizations acme (default prefix 2001:db8:a::/64) and globex, each with a network, batch, device. */
  async function twoOrgs() {
    const backend = await factory();
    const registry = await backend.open();
    const acme = await registry.addOrganization({ name: 'acme' });
    const globex = await registry.addOrganization({ name: 'globex' });
    const policy = new IdentityPolicy(registry);
    const make = async (org: number, prefix: string) => {
      const network = await registry.addNetwork({ name: 'plant', prefix }, org);
      const batch = await registry.addBatch(
        { gpk: helpers.testGpk(), basename: new Uint8Array([7]), name: 'lot', network: 'plant', size: 5 },
        org,
      );
      const p = helpers.pseudonym();
      const got = await policy.assignIdentity(helpers.request(batch.gid, p, helpers.ltKey()));
      if (!got.ok) throw new Error(`provisioning failed: ${got.reason}`);
      return { org, network, batch, pseudonym: p, identity: got.id };
    };
    const a = await make(acme.id, '2001:db8:a::/64');
    const b = await make(globex.id, '2001:db8:b::/64');
    const done = async () => {
      await registry.close();
      await backend.cleanup();
    };
    return { registry, acme, globex, a, b, done };
  }

  test(`${name}: overview counts: per day, per outcome and reason, per place; scoped per organization`, async (t) => {
    const { registry, acme, a, done } = await twoOrgs();
    try {
      await registry.appendAudit({
        sourceAddress: '192.0.2.1',
        sourcePort: 1,
        gid: a.batch.gid,
        pseudonym: null,
        suite: 1,
        outcome: 'refused',
        reason: 'quota-exceeded',
        geolocation: 'DE Berlin',
        identity: null,
      });
      const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const mine = await registry.overview.counts(0, acme.id);
      t.deepEqual(mine.provisionedPerDay, [{ day, count: 1 }]);
      t.deepEqual(mine.handshakes.map((h) => [h.outcome, h.count]).sort(), [
        ['provisioned', 1],
        ['refused', 1],
      ]);
      t.deepEqual(mine.places.map((p) => [p.geolocation ?? '(none)', p.count]).sort(), [
        ['(none)', 1],
        ['DE Berlin', 1],
      ]);
      const all = await registry.overview.counts(0);
      t.deepEqual(all.provisionedPerDay, [{ day, count: 2 }]);
      t.is(
        all.handshakes.reduce((n, h) => n + h.count, 0),
        3,
      );
      t.deepEqual((await registry.overview.counts(day + 86_400_000, acme.id)).provisionedPerDay, []);
    } finally {
      await done();
    }
  });

  test(`${name}: orgs: a default organization exists; organizations are added, listed, found, validated`, async (t) => {
    const backend = await factory();
    const registry = await backend.open();
    try {
      const [first] = await registry.listOrganizations();
      t.is(first?.id, DEFAULT_ORGANIZATION_ID);
      t.is(first?.name, 'default');
      const acme = await registry.addOrganization({ name: 'acme' });
      t.deepEqual(await registry.getOrganization('acme'), acme);
      t.deepEqual(await registry.getOrganization(acme.id), acme);
      t.is(await registry.getOrganization('nobody'), undefined);
      const dup = await t.throwsAsync(registry.addOrganization({ name: 'acme' }), {
        instanceOf: RegistryError,
      });
      t.is(dup?.code, 'CONFLICT');
      const bad = await t.throwsAsync(registry.addOrganization({ name: 'no spaces' }), {
        instanceOf: ValidationError,
      });
      t.is(bad?.field, 'organization.name');
      t.deepEqual(
        (await registry.listOrganizations()).map((o) => o.name),
        ['default', 'acme'],
      );
      // Unscoped objects go to the default organization; a missing organization is NOT_FOUND.
      const net = await registry.addNetwork({ name: 'n', prefix: '2001:db8:9::/64' });
      t.is(net.organizationId, DEFAULT_ORGANIZATION_ID);
      const missing = await t.throwsAsync(
        registry.addNetwork({ name: 'm', prefix: '2001:db8:8::/64' }, 999),
        {
          instanceOf: RegistryError,
        },
      );
      t.is(missing?.code, 'NOT_FOUND');
      t.is(await registry.getNetwork('m', 999), undefined);
    } finally {
      await registry.close();
      await backend.cleanup();
    }
  });

  test(`${name}: orgs: names are per organization, prefixes and gids are global; a clash never names the owner`, async (t) => {
    const { registry, acme, globex, a, b, done } = await twoOrgs();
    // Both have a network 'plant' and a batch 'lot'; names resolve inside the caller's organization.
    t.is((await registry.getNetwork('plant', acme.id))?.id, a.network.id);
    t.is((await registry.getNetwork('plant', globex.id))?.id, b.network.id);
    t.deepEqual((await registry.findBatch('lot', globex.id))?.gid, b.batch.gid);
    t.is(a.batch.organizationId, acme.id);
    t.is(b.network.organizationId, globex.id);
    const before = await helpers.snapshot(registry);
    // The same GPK and basename in the other organization: the answer a re-registration in the
    // owner's own organization gets, with nothing about who holds it.
    const again = { gpk: a.batch.gpk, basename: a.batch.basename, name: 'mine', size: 5 };
    const own = await t.throwsAsync(registry.addBatch(again, acme.id), { instanceOf: RegistryError });
    const other = await t.throwsAsync(registry.addBatch(again, globex.id), { instanceOf: RegistryError });
    t.is(other?.code, 'CONFLICT');
    t.is(other?.message, own?.message);
    t.is(other?.field, 'batch.gpk');
    for (const secret of ['acme', 'lot', 'plant', toHex(a.batch.gid)])
      t.false(other!.message.includes(secret));
    // A prefix of another organization: CONFLICT without its network's name.
    const clash = await t.throwsAsync(
      registry.addNetwork({ name: 'x', prefix: '2001:db8:a::/64' }, globex.id),
      {
        instanceOf: RegistryError,
      },
    );
    t.is(clash?.code, 'CONFLICT');
    t.false(clash!.message.includes('plant'));
    t.deepEqual(await helpers.snapshot(registry), before);
    await done();
  });

  test(`${name}: orgs: a scoped call sees nothing of another organization and changes nothing of it`, async (t) => {
    const { registry, acme, globex, a, b, done } = await twoOrgs();
    const seen = async (org: number) => ({
      networks: (await registry.listNetworks(org)).map((n) => n.id),
      batches: (await registry.listBatches(org)).map((x) => toHex(x.gid)),
      devices: (await registry.listDevices({}, org)).map((d) => toHex(d.identity)),
      audit: (await registry.queryAudit({}, org)).map((e) => toHex(e.gid!)),
    });
    t.deepEqual(await seen(acme.id), {
      networks: [a.network.id],
      batches: [toHex(a.batch.gid)],
      devices: [toHex(a.identity)],
      audit: [toHex(a.batch.gid)],
    });
    t.deepEqual((await seen(globex.id)).devices, [toHex(b.identity)]);
    t.is((await registry.listDevices()).length, 2, 'unscoped spans every organization');
    t.is((await registry.queryAudit()).length, 2);
    // Reads of the other's objects: absent.
    t.is(await registry.getNetwork(a.network.id, globex.id), undefined);
    t.is(await registry.getBatch(a.batch.gid, globex.id), undefined);
    t.is(await registry.findBatch(toHex(a.batch.gid), globex.id), undefined);
    t.is(await registry.getDevice(a.batch.gid, a.pseudonym, globex.id), undefined);
    t.is(await registry.getDeviceByIdentity(a.identity, globex.id), undefined);
    t.deepEqual(await registry.listDevices({ gid: a.batch.gid }, globex.id), []);
    t.deepEqual(await registry.queryAudit({ gid: a.batch.gid }, globex.id), []);
    t.deepEqual((await registry.getDevice(a.batch.gid, a.pseudonym, acme.id))?.identity, a.identity);
    // Changes to the other's objects: NOT_FOUND, exactly as for an object that does not exist.
    const before = await helpers.snapshot(registry);
    for (const change of [
      () => registry.revokeBatch(a.batch.gid, globex.id),
      () => registry.revokeDevice(a.batch.gid, a.pseudonym, globex.id),
      () => registry.setAllowRekey(a.batch.gid, a.pseudonym, true, globex.id),
      () => registry.deleteNetwork(a.network.id, globex.id),
      () => registry.setBatchNetwork(a.batch.gid, b.network.id, globex.id),
    ]) {
      const err = await t.throwsAsync(change(), { instanceOf: RegistryError });
      t.is(err?.code, 'NOT_FOUND');
    }
    // A batch never moves to another organization's network, even unscoped.
    const cross = await t.throwsAsync(registry.setBatchNetwork(b.batch.gid, a.network.id), {
      instanceOf: RegistryError,
      code: 'NOT_FOUND',
    });
    t.is(cross?.field, 'batch.network');
    t.deepEqual(await helpers.snapshot(registry), before);
    // The owner can.
    t.is((await registry.revokeBatch(a.batch.gid, acme.id)).status, 'revoked');
    await done();
  });
}

/** The operator audit (operator-audit.ts): appended, filtered, paged, scoped, validated. */
export function registryOperatorAuditSuite(test: TestFn, name: string, factory: RegistryFactory): void {
  test(`${name}: operator audit: entries appended, filtered, paged newest first, scoped per organization`, async (t) => {
    const backend = await factory();
    const registry = await backend.open();
    try {
      const acme = await registry.addOrganization({ name: 'acme' });
      const log = registry.operatorAudit;
      const base = {
        objectType: 'network' as const,
        objectName: 'plant',
        source: '192.0.2.1',
        detail: null,
      };
      const a1 = await log.append({
        ...base,
        organizationId: acme.id,
        actor: 'user:alice',
        action: 'network.add',
        objectId: '7',
      });
      const a2 = await log.append({
        ...base,
        organizationId: DEFAULT_ORGANIZATION_ID,
        actor: 'cli:root',
        action: 'network.delete',
        objectId: '8',
        source: 'cli',
        detail: { why: 'test', n: 1 },
      });
      const a3 = await log.append({
        ...base,
        organizationId: acme.id,
        actor: 'token:ci',
        action: 'network.delete',
        objectId: '7',
      });
      t.true(a1.id < a2.id && a2.id < a3.id);
      t.deepEqual(a2.detail, { why: 'test', n: 1 });
      t.deepEqual(
        (await log.query()).map((e) => e.id),
        [a3.id, a2.id, a1.id],
      );
      t.deepEqual(
        (await log.query({}, acme.id)).map((e) => e.id),
        [a3.id, a1.id],
      );
      t.deepEqual(
        (await log.query({ action: 'network.delete' })).map((e) => e.id),
        [a3.id, a2.id],
      );
      t.deepEqual(
        (await log.query({ actor: 'cli:root' })).map((e) => e.source),
        ['cli'],
      );
      t.deepEqual(
        (await log.query({ objectId: '7', beforeId: a3.id })).map((e) => e.id),
        [a1.id],
      );
      t.deepEqual(
        (await log.query({ limit: 1 })).map((e) => e.id),
        [a3.id],
      );
      t.deepEqual(await log.query({ since: a3.at + 1 }), []);
      for (const [bad, field] of [
        [{ actor: 'alice' }, 'operatorAudit.actor'],
        [{ action: 'DROP TABLE' }, 'operatorAudit.action'],
        [{ objectType: 'robot' }, 'operatorAudit.objectType'],
        [{ objectId: '' }, 'operatorAudit.objectId'],
        [{ organizationId: 0 }, 'operatorAudit.organizationId'],
      ] as const) {
        const e = await t.throwsAsync(
          log.append({
            ...base,
            organizationId: acme.id,
            actor: 'user:a',
            action: 'network.add',
            objectId: '1',
            ...(bad as object),
          }),
          { instanceOf: ValidationError },
        );
        t.is(e?.field, field);
      }
      await t.throwsAsync(log.query({ limit: 0 }), { instanceOf: ValidationError });
      t.is((await log.query()).length, 3, 'refused entries stored nothing');
    } finally {
      await registry.close();
      await backend.cleanup();
    }
  });
}
