// Registry suite, management part (networks: delete if empty; audit: query handshakes with
// filters and paging): deleteNetwork and audit paging (queryAudit with until, pseudonym and a cursor) on every
// backend. registrySuite (_registry-suite.ts) runs these cases too, so SQLite and PostgreSQL both do.
import type { TestFn } from 'ava';
import { RegistryError, ValidationError } from '../../../../server-stub/registry/errors.ts';
import type { AuditInput, Registry } from '../../../../server-stub/registry/registry.ts';
import { MAX_AUDIT_LIMIT } from '../../../../server-stub/registry/validate.ts';
import type { RegistryFactory } from './_registry-suite.ts';

/** The i-th test audit entry: its source port is i, so order and completeness are checkable. */
function auditInput(i: number, pseudonym: Uint8Array | null = null): AuditInput {
  return {
    sourceAddress: '192.0.2.1',
    sourcePort: i % 65536,
    gid: null,
    pseudonym,
    suite: null,
    outcome: 'failed',
    reason: 'bad-request',
    geolocation: null,
    identity: null,
  };
}

export function registryManagementSuite(
  test: TestFn,
  name: string,
  factory: RegistryFactory,
  helpers: {
    testGpk(): Uint8Array;
    pseudonym(): Uint8Array;
    snapshot(r: Registry): Promise<unknown>;
  },
): void {
  async function open() {
    const backend = await factory();
    const registry = await backend.open();
    const done = async () => {
      await registry.close();
      await backend.cleanup();
    };
    return { registry, done };
  }

  test(`${name}: deleteNetwork removes an empty network, refuses one in use, and a missing one`, async (t) => {
    const { registry, done } = await open();
    try {
      const used = await registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
      await registry.addBatch({
        gpk: helpers.testGpk(),
        basename: new Uint8Array([1]),
        name: 'lot-1',
        network: 'plant-a',
        size: 3,
      });
      const spare = await registry.addNetwork({ name: 'spare', prefix: '2001:db8:cc::/64' });
      const other = await registry.addNetwork({ name: 'other', prefix: '2001:db8:dd::/64' });

      const before = await helpers.snapshot(registry);
      const busy = await t.throwsAsync(registry.deleteNetwork('plant-a'), { instanceOf: RegistryError });
      t.is(busy?.code, 'CONFLICT');
      t.is(
        (await t.throwsAsync(registry.deleteNetwork(used.id), { instanceOf: RegistryError }))?.code,
        'CONFLICT',
      );
      const missing = await t.throwsAsync(registry.deleteNetwork('nowhere'), { instanceOf: RegistryError });
      t.is(missing?.code, 'NOT_FOUND');
      t.is(
        (await t.throwsAsync(registry.deleteNetwork(999_999), { instanceOf: RegistryError }))?.code,
        'NOT_FOUND',
      );
      const bad = await t.throwsAsync(registry.deleteNetwork('bad name'), { instanceOf: ValidationError });
      t.is(bad?.field, 'network');
      t.deepEqual(await helpers.snapshot(registry), before);

      t.deepEqual(await registry.deleteNetwork('spare'), spare);
      t.deepEqual(await registry.deleteNetwork(other.id), other);
      t.deepEqual(
        (await registry.listNetworks()).map((n) => n.name),
        ['plant-a'],
      );
      t.is(
        (await t.throwsAsync(registry.deleteNetwork('spare'), { instanceOf: RegistryError }))?.code,
        'NOT_FOUND',
      );
      // The freed prefix and name can be used again.
      t.is((await registry.addNetwork({ name: 'spare', prefix: '2001:db8:cc::/64' })).name, 'spare');
    } finally {
      await done();
    }
  });

  test(`${name}: queryAudit pages by cursor past the ${MAX_AUDIT_LIMIT}-entry limit, no overlap`, async (t) => {
    t.timeout(600_000); // the machine is shared: no timing assumptions
    const { registry, done } = await open();
    try {
      const total = MAX_AUDIT_LIMIT + 10;
      // One transaction: an append per entry would pay a commit each.
      await registry.withTransaction(async (tx) => {
        for (let i = 0; i < total; i++) await tx.appendAudit(auditInput(i));
      });
      const seen: number[] = [];
      let beforeId: number | undefined;
      let pages = 0;
      for (;;) {
        const page = await registry.queryAudit({
          limit: 4000,
          ...(beforeId !== undefined ? { beforeId } : {}),
        });
        if (page.length === 0) break;
        pages++;
        seen.push(...page.map((e) => e.sourcePort));
        t.true(page.every((e, i) => i === 0 || e.id < page[i - 1]!.id));
        beforeId = page[page.length - 1]!.id;
      }
      t.is(pages, 3);
      t.is(seen.length, total);
      // Newest first; the oldest entries (beyond the newest MAX_AUDIT_LIMIT) are reached too.
      t.deepEqual(
        seen,
        Array.from({ length: total }, (_, i) => (total - 1 - i) % 65536),
      );
      t.is((await registry.queryAudit({ limit: MAX_AUDIT_LIMIT + 1 })).length, MAX_AUDIT_LIMIT + 1);
    } finally {
      await done();
    }
  });

  test(`${name}: queryAudit filters by until, pseudonym, outcome and cursor; bad filters refused`, async (t) => {
    const { registry, done } = await open();
    try {
      const p1 = helpers.pseudonym();
      const p2 = helpers.pseudonym();
      const entries = [];
      for (let i = 0; i < 6; i++) entries.push(await registry.appendAudit(auditInput(i, i % 2 ? p1 : p2)));
      const ofP1 = await registry.queryAudit({ pseudonym: p1, limit: 10 });
      t.deepEqual(
        ofP1.map((e) => e.sourcePort),
        [5, 3, 1],
      );
      const next = await registry.queryAudit({ pseudonym: p1, limit: 10, beforeId: ofP1[1]!.id });
      t.deepEqual(
        next.map((e) => e.sourcePort),
        [1],
      );
      const first = entries[0]!;
      t.is((await registry.queryAudit({ until: first.at, limit: 10 })).length, 0);
      t.true((await registry.queryAudit({ until: first.at + 1, limit: 10, since: first.at })).length > 0);
      t.is((await registry.queryAudit({ outcome: 'provisioned', limit: 10 })).length, 0);
      t.is((await registry.queryAudit({ beforeId: first.id, limit: 10 })).length, 0);

      const before = await helpers.snapshot(registry);
      for (const [filter, field] of [
        [{ limit: 0 }, 'filter.limit'],
        [{ limit: MAX_AUDIT_LIMIT + 2 }, 'filter.limit'],
        [{ limit: 1.5 }, 'filter.limit'],
        [{ limit: 5, beforeId: 0 }, 'filter.beforeId'],
        [{ limit: 5, until: -1 }, 'filter.until'],
        [{ limit: 5, since: -1 }, 'filter.since'],
        [{ limit: 5, pseudonym: new Uint8Array(64) }, 'filter.pseudonym'],
        [{ limit: 5, gid: new Uint8Array(31) }, 'filter.gid'],
      ] as const) {
        const err = await t.throwsAsync(registry.queryAudit(filter), { instanceOf: ValidationError });
        t.is(err?.field, field);
      }
      t.deepEqual(await helpers.snapshot(registry), before);
    } finally {
      await done();
    }
  });
}
