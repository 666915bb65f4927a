// The registry behaviour suite (the registry suite runs against
// both backends): a function taking a backend factory, so SQLite now and PostgreSQL later run the
// same cases. It exercises the Registry port directly and the IdentityPolicy on top of it.
import type { TestFn } from 'ava';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../../../protocol/util/bytes.ts';
import { deriveCandidate } from '../../../../server-stub/policy/identity-derivation.ts';
import {
  IdentityPolicy,
  REASONS,
  type AssignRequest,
} from '../../../../server-stub/policy/identity-policy.ts';
import { RegistryError, ValidationError } from '../../../../server-stub/registry/errors.ts';
import { parseIpv6 } from '../../../../server-stub/registry/ipv6.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { registryAccountSuite } from './_registry-suite-accounts.ts';
import { registryAtomicAuditSuite } from './_registry-suite-atomic-audit.ts';
import { registryManagementSuite } from './_registry-suite-management.ts';
import { registryOperatorAuditSuite, registryOrganizationSuite } from './_registry-suite-orgs.ts';
import { registryPkiSuite } from './_registry-suite-pki.ts';

/** A fresh, empty store; `open` may be called several times for several connections to it. */
export interface RegistryBackend {
  open(): Promise<Registry>;
  cleanup(): Promise<void>;
  /** Raw SQL on the same store, beside the registry (fault injection: triggers that refuse writes). */
  sql?: { dialect: 'sqlite' | 'postgres'; exec(statement: string): Promise<void> };
}
export type RegistryFactory = () => Promise<RegistryBackend>;

let seed = 1;
/** Deterministic distinct test bytes (not crypto: the registry stores public values only). */
export function testBytes(n: number, first?: number): Uint8Array {
  const out = sha256(new Uint8Array([seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff])).slice();
  seed++;
  const big = new Uint8Array(n);
  for (let i = 0; i < n; i++) big[i] = out[i % 32]! ^ (i >> 5);
  if (first !== undefined) big[0] = first;
  return big;
}

export function testGpk(): Uint8Array {
  const g = testBytes(258, 0x04);
  g[129] = 0x04;
  return g;
}

export const pseudonym = (): Uint8Array => testBytes(65, 0x04);
export const ltKey = (): Uint8Array => testBytes(65, 0x04);

export function request(
  gid: Uint8Array,
  p: Uint8Array,
  key: Uint8Array,
  requestedId: Uint8Array | null = null,
): AssignRequest {
  return {
    gid,
    pseudonym: p,
    longtermPublicKey: key,
    requestedId,
    suite: 1,
    source: { address: '::1', port: 40000 },
  };
}

/** Everything a registry holds, for "unchanged" comparisons. */
export async function snapshot(r: Registry): Promise<unknown> {
  return {
    networks: await r.listNetworks(),
    batches: await r.listBatches(),
    devices: await r.listDevices(),
    audit: await r.queryAudit({ limit: 10_000 }),
    operatorAudit: await r.operatorAudit.query({ limit: 10_000 }),
  };
}

export function registrySuite(test: TestFn, name: string, factory: RegistryFactory): void {
  async function setup(size = 10) {
    const backend = await factory();
    const registry = await backend.open();
    const network = await registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
    const batch = await registry.addBatch({
      gpk: testGpk(),
      basename: new TextEncoder().encode('BASENAME'),
      name: 'lot-1',
      network: 'plant-a',
      size,
    });
    const policy = new IdentityPolicy(registry);
    const done = async () => {
      await registry.close();
      await backend.cleanup();
    };
    return { backend, registry, network, batch, policy, done };
  }

  test(`${name}: networks are stored with canonical prefixes and validated`, async (t) => {
    const { registry, network, done } = await setup();
    t.deepEqual(network.prefix, parseIpv6('2001:db8:aa:1::', 'p').slice(0, 8));
    t.deepEqual((await registry.getNetwork('plant-a'))?.id, network.id);
    t.deepEqual((await registry.getNetwork(network.id))?.name, 'plant-a');
    t.is(await registry.getNetwork('nowhere'), undefined);
    const before = await snapshot(registry);
    for (const [input, field] of [
      [{ name: 'x', prefix: '2001:db8::/48' }, 'network.prefix'],
      [{ name: 'x', prefix: '2001:db8::1/64' }, 'network.prefix'],
      [{ name: 'x', prefix: 'ff02::/64' }, 'network.prefix'],
      [{ name: 'x', prefix: 'not-an-address/64' }, 'network.prefix'],
      [{ name: 'x', prefix: '2001:db8:1:2:3::/64' }, 'network.prefix'],
      [{ name: 'bad name', prefix: '2001:db8:2::/64' }, 'network.name'],
      [{ name: '123', prefix: '2001:db8:2::/64' }, 'network.name'],
    ] as const) {
      const err = await t.throwsAsync(registry.addNetwork(input), { instanceOf: ValidationError });
      t.is(err?.field, field);
    }
    await t.throwsAsync(registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:2::/64' }), {
      message: /network.name/,
    });
    await t.throwsAsync(registry.addNetwork({ name: 'plant-b', prefix: '2001:db8:aa:1::/64' }), {
      message: /network.prefix/,
    });
    t.deepEqual(await snapshot(registry), before);
    await done();
  });

  test(`${name}: batches get gid = SHA-256(gpk || basename); bad input changes nothing`, async (t) => {
    const { registry, batch, network, done } = await setup();
    t.deepEqual(batch.gid, sha256(concatBytes(batch.gpk, batch.basename)));
    t.is(batch.networkId, network.id);
    t.is(batch.status, 'active');
    t.deepEqual((await registry.findBatch('lot-1'))?.gid, batch.gid);
    t.deepEqual((await registry.findBatch(Buffer.from(batch.gid).toString('hex')))?.name, 'lot-1');
    const before = await snapshot(registry);
    const good = {
      gpk: testGpk(),
      basename: new Uint8Array([1]),
      name: 'lot-2',
      network: 'plant-a',
      size: 5,
    };
    const cases: [object, string][] = [
      [{ ...good, gpk: new Uint8Array(257) }, 'batch.gpk'],
      [{ ...good, gpk: new Uint8Array(258) }, 'batch.gpk'],
      [{ ...good, basename: new Uint8Array(0) }, 'batch.basename'],
      [{ ...good, basename: new Uint8Array(257) }, 'batch.basename'],
      [{ ...good, size: 0 }, 'batch.size'],
      [{ ...good, size: 1.5 }, 'batch.size'],
      [{ ...good, name: '' }, 'batch.name'],
    ];
    for (const [input, field] of cases) {
      const err = await t.throwsAsync(registry.addBatch(input as never), { instanceOf: ValidationError });
      t.is(err?.field, field);
    }
    // A network that does not exist is not found, not a bad value.
    const missing = await t.throwsAsync(registry.addBatch({ ...good, network: 'nowhere' }), {
      instanceOf: RegistryError,
      code: 'NOT_FOUND',
    });
    t.false(missing instanceof ValidationError);
    t.is(missing?.field, 'batch.network');
    await t.throwsAsync(registry.addBatch({ ...good, gpk: batch.gpk, basename: batch.basename }), {
      instanceOf: RegistryError,
      message: /already registered/,
    });
    await t.throwsAsync(registry.addBatch({ ...good, name: 'lot-1' }), { message: /batch.name/ });
    await t.throwsAsync(registry.revokeBatch(new Uint8Array(32)), { message: /no batch/ });
    await t.throwsAsync(registry.revokeDevice(batch.gid, pseudonym()), { message: /no such device/ });
    await t.throwsAsync(registry.listDevices({ status: 'gone' as never }), { instanceOf: ValidationError });
    await t.throwsAsync(registry.queryAudit({ limit: 0 }), { instanceOf: ValidationError });
    t.deepEqual(await snapshot(registry), before);
    await done();
  });

  test(`${name}: a device keeps its identity across handshakes and after lost client state`, async (t) => {
    const { registry, batch, network, policy, done } = await setup();
    const p = pseudonym();
    const key = ltKey();
    const first = await policy.assignIdentity(request(batch.gid, p, key));
    t.true(first.ok);
    if (!first.ok) return;
    t.is(first.reason, REASONS.newDevice);
    t.deepEqual(first.id.subarray(0, 8), network.prefix);
    t.deepEqual(first.id, deriveCandidate(network.prefix, batch.gid, p, 0));
    // Second handshake; then a client that lost its state (no requested id, same keys).
    const second = await policy.assignIdentity(request(batch.gid, p, key));
    const third = await policy.assignIdentity(request(batch.gid, p, key, new Uint8Array(16)));
    t.deepEqual(second, { ok: true, id: first.id, reason: REASONS.returning });
    t.deepEqual(third, { ok: true, id: first.id, reason: REASONS.returning });
    const devices = await registry.listDevices({ gid: batch.gid });
    t.is(devices.length, 1);
    t.is(devices[0]!.handshakeCount, 3);
    t.is(devices[0]!.lastSource, '::1 40000');
    t.deepEqual((await registry.getDeviceByIdentity(first.id))?.pseudonym, p);
    t.is(await registry.getDeviceByIdentity(new Uint8Array(16)), undefined);
    await t.throwsAsync(registry.getDeviceByIdentity(new Uint8Array(15)), { instanceOf: ValidationError });
    const audit = await registry.queryAudit({ gid: batch.gid });
    t.deepEqual(
      audit.map((a) => a.outcome),
      ['provisioned', 'provisioned', 'provisioned'],
    );
    t.deepEqual(audit[2]!.identity, first.id);
    await done();
  });

  test(`${name}: unknown, revoked and network-less batches and revoked devices are refused and audited`, async (t) => {
    const { registry, batch, policy, done } = await setup();
    const unknown = await policy.assignIdentity(request(testBytes(32), pseudonym(), ltKey()));
    t.deepEqual(unknown, { ok: false, reason: REASONS.unknownBatch });
    t.deepEqual(await policy.lookupBatch(testBytes(32)), { ok: false, reason: REASONS.unknownBatch });

    const orphan = await registry.addBatch({
      gpk: testGpk(),
      basename: new Uint8Array([7]),
      name: 'orphan',
      size: 3,
    });
    t.deepEqual(await policy.assignIdentity(request(orphan.gid, pseudonym(), ltKey())), {
      ok: false,
      reason: REASONS.batchWithoutNetwork,
    });
    await registry.setBatchNetwork(orphan.gid, 'plant-a');
    t.true((await policy.assignIdentity(request(orphan.gid, pseudonym(), ltKey()))).ok);

    const p = pseudonym();
    const key = ltKey();
    t.true((await policy.assignIdentity(request(batch.gid, p, key))).ok);
    const revoked = await registry.revokeDevice(batch.gid, p);
    t.is(revoked.status, 'revoked');
    t.deepEqual(await policy.assignIdentity(request(batch.gid, p, key)), {
      ok: false,
      reason: REASONS.deviceRevoked,
    });

    const other = pseudonym();
    await registry.revokeBatch(batch.gid);
    t.deepEqual(await policy.assignIdentity(request(batch.gid, other, key)), {
      ok: false,
      reason: REASONS.batchRevoked,
    });
    t.deepEqual(await policy.lookupBatch(batch.gid), {
      ok: false,
      reason: REASONS.batchRevoked,
      organizationId: batch.organizationId, // the batch is known: its handshakes count for its organization
    });
    t.is((await registry.listDevices({ gid: batch.gid })).length, 1, 'refusals create no device');
    const refused = await registry.queryAudit({ outcome: 'refused' });
    t.deepEqual(
      refused.map((a) => a.reason).sort(),
      [REASONS.batchRevoked, REASONS.batchWithoutNetwork, REASONS.deviceRevoked, REASONS.unknownBatch].sort(),
    );
    await done();
  });

  test(`${name}: the batch quota limits distinct devices, not handshakes`, async (t) => {
    const { registry, batch, policy, done } = await setup(2);
    const devs = [pseudonym(), pseudonym(), pseudonym()].map((p) => ({ p, key: ltKey() }));
    t.true((await policy.assignIdentity(request(batch.gid, devs[0]!.p, devs[0]!.key))).ok);
    t.true((await policy.assignIdentity(request(batch.gid, devs[1]!.p, devs[1]!.key))).ok);
    t.deepEqual(await policy.assignIdentity(request(batch.gid, devs[2]!.p, devs[2]!.key)), {
      ok: false,
      reason: REASONS.quotaExceeded,
    });
    // Known devices keep working at the quota, and a revoked device still counts.
    t.true((await policy.assignIdentity(request(batch.gid, devs[0]!.p, devs[0]!.key))).ok);
    await registry.revokeDevice(batch.gid, devs[1]!.p);
    t.deepEqual(await policy.assignIdentity(request(batch.gid, devs[2]!.p, devs[2]!.key)), {
      ok: false,
      reason: REASONS.quotaExceeded,
    });
    const [summary] = await registry.listBatches();
    t.is(summary?.devices, 2);
    t.is(summary?.revokedDevices, 1);
    await done();
  });

  test(`${name}: a changed long-term key is refused until the operator allows one re-key`, async (t) => {
    const { registry, batch, policy, done } = await setup();
    const p = pseudonym();
    const oldKey = ltKey();
    const newKey = ltKey();
    const first = await policy.assignIdentity(request(batch.gid, p, oldKey));
    t.deepEqual(await policy.assignIdentity(request(batch.gid, p, newKey)), {
      ok: false,
      reason: REASONS.longtermKeyChanged,
    });
    t.deepEqual((await registry.getDevice(batch.gid, p))?.longtermPublicKey, oldKey);
    t.true((await registry.setAllowRekey(batch.gid, p, true)).allowRekey);
    const rekeyed = await policy.assignIdentity(request(batch.gid, p, newKey));
    t.true(rekeyed.ok && first.ok && Buffer.from(rekeyed.id).equals(first.id));
    t.is(rekeyed.reason, REASONS.rekeyed);
    const dev = await registry.getDevice(batch.gid, p);
    t.deepEqual(dev?.longtermPublicKey, newKey);
    t.false(dev?.allowRekey, 'the allowance is used up');
    t.deepEqual(await policy.assignIdentity(request(batch.gid, p, oldKey)), {
      ok: false,
      reason: REASONS.longtermKeyChanged,
    });
    await done();
  });

  test(`${name}: a requested id is honoured only inside the network, unreserved and free`, async (t) => {
    const { registry, batch, policy, done } = await setup();
    const wanted = parseIpv6('2001:db8:aa:1::1234', 'id');
    const a = { p: pseudonym(), key: ltKey() };
    t.deepEqual(await policy.assignIdentity(request(batch.gid, a.p, a.key, wanted)), {
      ok: true,
      id: wanted,
      reason: REASONS.newDeviceRequestedId,
    });
    // Its own id again is fine; another id is not.
    t.true((await policy.assignIdentity(request(batch.gid, a.p, a.key, wanted))).ok);
    t.deepEqual(
      await policy.assignIdentity(request(batch.gid, a.p, a.key, parseIpv6('2001:db8:aa:1::99', 'id'))),
      { ok: false, reason: REASONS.requestedIdDiffers },
    );
    const b = { p: pseudonym(), key: ltKey() };
    t.deepEqual(await policy.assignIdentity(request(batch.gid, b.p, b.key, wanted)), {
      ok: false,
      reason: REASONS.requestedIdTaken,
    });
    t.deepEqual(
      await policy.assignIdentity(request(batch.gid, b.p, b.key, parseIpv6('2001:db8:bb:1::1', 'id'))),
      { ok: false, reason: REASONS.requestedIdOutsideNetwork },
    );
    t.deepEqual(
      await policy.assignIdentity(
        request(batch.gid, b.p, b.key, parseIpv6('2001:db8:aa:1:fdff:ffff:ffff:ff90', 'id')),
      ),
      { ok: false, reason: REASONS.requestedIdReserved },
    );
    t.is(await registry.getDevice(batch.gid, b.p), undefined);
    // Collision handling: C asks for the address D would derive first; D then gets counter 1.
    const d = { p: pseudonym(), key: ltKey() };
    const network = (await registry.getNetwork('plant-a'))!;
    const dFirst = deriveCandidate(network.prefix, batch.gid, d.p, 0);
    t.true((await policy.assignIdentity(request(batch.gid, pseudonym(), ltKey(), dFirst))).ok);
    t.deepEqual(await policy.assignIdentity(request(batch.gid, d.p, d.key)), {
      ok: true,
      id: deriveCandidate(network.prefix, batch.gid, d.p, 1),
      reason: REASONS.newDevice,
    });
    await done();
  });

  test(`${name}: concurrent handshakes of one device on two connections give one identity`, async (t) => {
    const { backend, registry, batch, policy, done } = await setup();
    const second = await backend.open();
    const policy2 = new IdentityPolicy(second);
    const p = pseudonym();
    const key = ltKey();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? policy : policy2).assignIdentity(request(batch.gid, p, key)),
      ),
    );
    const ids = new Set(results.map((r) => (r.ok ? Buffer.from(r.id).toString('hex') : r.reason)));
    t.is(ids.size, 1);
    t.true(results.every((r) => r.ok));
    t.is(results.filter((r) => r.reason === REASONS.newDevice).length, 1);
    const devices = await registry.listDevices();
    t.is(devices.length, 1);
    t.is(devices[0]?.handshakeCount, 12);
    await second.close();
    await done();
  });

  test(`${name}: malformed handshake input is refused, audited as bad-request, and creates no device`, async (t) => {
    const { registry, batch, policy, done } = await setup();
    const before = await registry.listDevices();
    const bad: AssignRequest[] = [
      request(batch.gid, new Uint8Array(64), ltKey()),
      request(batch.gid, testBytes(65, 0x02), ltKey()),
      request(batch.gid, pseudonym(), new Uint8Array(64)),
      request(batch.gid, pseudonym(), testBytes(65, 0x03)),
      request(new Uint8Array(31), pseudonym(), ltKey()),
      request(batch.gid, pseudonym(), ltKey(), new Uint8Array(15)),
    ];
    for (const r of bad)
      t.deepEqual(await policy.assignIdentity(r), { ok: false, reason: REASONS.badRequest });
    t.deepEqual(await registry.listDevices(), before);
    const audit = await registry.queryAudit({ outcome: 'failed' });
    t.is(audit.length, bad.length);
    t.true(audit.every((a) => a.reason === REASONS.badRequest));
    await done();
  });

  test(`${name}: audit filters by time, batch, outcome and limit, newest first`, async (t) => {
    const { registry, batch, policy, done } = await setup();
    for (let i = 0; i < 5; i++) await policy.assignIdentity(request(batch.gid, pseudonym(), ltKey()));
    await policy.assignIdentity(request(testBytes(32), pseudonym(), ltKey()));
    const all = await registry.queryAudit();
    t.is(all.length, 6);
    t.true(all.every((a, i) => i === 0 || a.id < all[i - 1]!.id));
    t.is((await registry.queryAudit({ gid: batch.gid })).length, 5);
    t.is((await registry.queryAudit({ outcome: 'refused' })).length, 1);
    t.is((await registry.queryAudit({ limit: 2 })).length, 2);
    t.is((await registry.queryAudit({ since: all[0]!.at + 1 })).length, 0);
    t.is((await registry.queryAudit({ since: 0 })).length, 6);
    await done();
  });

  registryManagementSuite(test, name, factory, { testGpk, pseudonym, snapshot });
  registryPkiSuite(test, name, factory, snapshot);
  registryOrganizationSuite(test, name, factory, { testGpk, pseudonym, ltKey, request, snapshot });
  registryOperatorAuditSuite(test, name, factory);
  registryAccountSuite(test, name, factory);
  registryAtomicAuditSuite(test, name, factory, { testGpk, pseudonym, ltKey, request, snapshot });
}
