// Registry suite, accounts part: users (names server-wide, superadmins without an organization),
// sessions by digest (ended when the user is disabled or gets a new password, idle ones deleted),
// named API tokens (names per organization and among server-wide ones, revocation kept, scoped
// lookups that never reach another organization). registrySuite runs these on SQLite and PostgreSQL.
import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import type { RegistryError } from '../../../../server-stub/registry/errors.ts';
import { ValidationError } from '../../../../server-stub/registry/errors.ts';
import type { RegistryFactory } from './_registry-suite.ts';

const digest = (): Uint8Array => new Uint8Array(randomBytes(32));
const HASH = 'scrypt$ln=1,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function registryAccountSuite(test: TestFn, name: string, factory: RegistryFactory): void {
  async function world() {
    const backend = await factory();
    const registry = await backend.open();
    const acme = await registry.addOrganization({ name: 'acme' });
    const globex = await registry.addOrganization({ name: 'globex' });
    return { backend, registry, a: registry.accounts, acme: acme.id, globex: globex.id };
  }

  test(`${name}: users: added, listed and found per organization; names server-wide; roles match organizations`, async (t) => {
    const { backend, registry, a, acme, globex } = await world();
    try {
      const alice = await a.addUser({
        name: 'alice',
        organizationId: acme,
        role: 'admin',
        passwordHash: HASH,
      });
      t.like(alice, { name: 'alice', organizationId: acme, role: 'admin', isDisabled: false });
      t.false('passwordHash' in alice);
      const root = await a.addUser({
        name: 'root',
        organizationId: null,
        role: 'superadmin',
        passwordHash: HASH,
      });
      t.is(root.organizationId, null);
      const dup = await t.throwsAsync(
        a.addUser({ name: 'alice', organizationId: globex, role: 'viewer', passwordHash: HASH }),
      );
      t.is((dup as RegistryError).code, 'CONFLICT');
      t.is((dup as RegistryError).field, 'user.name');
      for (const [org, role, field] of [
        [null, 'viewer', 'user.role'],
        [acme, 'superadmin', 'user.role'],
        [acme, 'root', 'user.role'],
      ] as const) {
        const e = await t.throwsAsync(
          a.addUser({ name: 'x1', organizationId: org, role: role as 'viewer', passwordHash: HASH }),
          { instanceOf: ValidationError },
        );
        t.is(e?.field, field);
      }
      const missing = await t.throwsAsync(
        a.addUser({ name: 'x2', organizationId: 999, role: 'viewer', passwordHash: HASH }),
      );
      t.is((missing as RegistryError).code, 'NOT_FOUND');
      t.is((await a.getUser('alice'))?.passwordHash, HASH);
      t.is((await a.getUser(alice.id, acme))?.name, 'alice');
      t.is(await a.getUser('alice', globex), undefined);
      t.deepEqual(
        (await a.listUsers(acme)).map((u) => u.name),
        ['alice'],
      );
      t.deepEqual((await a.listUsers(globex)).length, 0);
      t.is((await a.listUsers()).length, 2);
      const e = await t.throwsAsync(a.setUserDisabled('alice', true, globex));
      t.is((e as RegistryError).code, 'NOT_FOUND');
      t.false((await a.getUser('alice'))!.isDisabled);
    } finally {
      await registry.close();
      await backend.cleanup();
    }
  });

  test(`${name}: sessions by digest; disabling or a new password ends them; idle ones are deleted`, async (t) => {
    const { backend, registry, a, acme } = await world();
    try {
      const u = await a.addUser({ name: 'bob', organizationId: acme, role: 'viewer', passwordHash: HASH });
      const s1 = digest();
      const s2 = digest();
      await a.addSession(s1, u.id);
      await a.addSession(s2, u.id);
      const got = await a.getSession(s1);
      t.is(got?.userId, u.id);
      const later = got!.lastSeenAt + 3_600_000;
      await a.touchSession(s1, later);
      t.is((await a.getSession(s1))?.lastSeenAt, later);
      // An older time never moves it back.
      await a.touchSession(s1, got!.lastSeenAt);
      t.is((await a.getSession(s1))?.lastSeenAt, later);
      t.is(await a.deleteIdleSessions((await a.getSession(s2))!.lastSeenAt + 1), 1);
      t.is(await a.getSession(s2), undefined);
      t.truthy(await a.getSession(s1));
      const changed = await a.setPasswordHash('bob', HASH.replace('ln=1', 'ln=2'));
      t.true(changed.passwordChangedAt >= u.passwordChangedAt);
      t.is(await a.getSession(s1), undefined);
      const s3 = digest();
      await a.addSession(s3, u.id);
      t.true((await a.setUserDisabled('bob', true)).isDisabled);
      t.is(await a.getSession(s3), undefined);
      t.false((await a.setUserDisabled('bob', false, acme)).isDisabled);
      await a.deleteSession(s3); // absent: nothing to do
      // A new role: sessions stay (they read the role per request); never to or from superadmin.
      const s4 = digest();
      await a.addSession(s4, u.id);
      t.is((await a.setUserRole('bob', 'operator', acme)).role, 'operator');
      t.is((await a.getUser('bob'))?.role, 'operator');
      t.truthy(await a.getSession(s4));
      await t.throwsAsync(a.setUserRole('bob', 'superadmin'), { instanceOf: ValidationError });
      await t.throwsAsync(a.setUserRole('bob', 'owner' as 'admin'), { instanceOf: ValidationError });
      const sa = await a.addUser({
        name: 'root',
        organizationId: null,
        role: 'superadmin',
        passwordHash: HASH,
      });
      await t.throwsAsync(a.setUserRole(sa.id, 'admin'), { instanceOf: ValidationError });
      await t.throwsAsync(a.addSession(new Uint8Array(31), u.id), { instanceOf: ValidationError });
    } finally {
      await registry.close();
      await backend.cleanup();
    }
  });

  test(`${name}: API tokens: by digest, names per organization, scoped lookups, revocation kept`, async (t) => {
    const { backend, registry, a, acme, globex } = await world();
    try {
      const u = await a.addUser({
        name: 'carol',
        organizationId: acme,
        role: 'operator',
        passwordHash: HASH,
      });
      const d1 = digest();
      const base = { createdBy: 'user:carol', expiresAt: null };
      const t1 = await a.addApiToken({
        ...base,
        name: 'ci',
        organizationId: acme,
        userId: u.id,
        role: 'viewer',
        digest: d1,
      });
      t.like(t1, {
        name: 'ci',
        organizationId: acme,
        userId: u.id,
        role: 'viewer',
        lastUsedAt: null,
        revokedAt: null,
      });
      t.false('digest' in t1);
      // Same name in another organization: fine; twice in one, or twice server-wide: CONFLICT.
      await a.addApiToken({
        ...base,
        name: 'ci',
        organizationId: globex,
        userId: null,
        role: 'admin',
        digest: digest(),
      });
      await a.addApiToken({
        ...base,
        name: 'ci',
        organizationId: null,
        userId: null,
        role: 'superadmin',
        digest: digest(),
      });
      for (const org of [acme, null]) {
        const e = await t.throwsAsync(
          a.addApiToken({
            ...base,
            name: 'ci',
            organizationId: org,
            userId: null,
            role: org === null ? 'superadmin' : 'viewer',
            digest: digest(),
          }),
        );
        t.is((e as RegistryError).code, 'CONFLICT', String(org));
      }
      t.is((await a.findApiToken(d1))?.id, t1.id);
      t.is(await a.findApiToken(digest()), undefined);
      t.is((await a.getApiToken('ci', acme))?.id, t1.id);
      t.is((await a.getApiToken('ci'))?.organizationId, null);
      t.is(await a.getApiToken(t1.id, globex), undefined);
      t.deepEqual(
        (await a.listApiTokens({}, acme)).map((x) => x.id),
        [t1.id],
      );
      t.is((await a.listApiTokens({ userId: u.id })).length, 1);
      t.is((await a.listApiTokens({})).length, 3);
      await a.touchApiToken(t1.id, 1234);
      t.is((await a.findApiToken(d1))?.lastUsedAt, 1234);
      const r1 = await a.revokeApiToken(t1.id);
      t.not(r1.revokedAt, null);
      t.is((await a.revokeApiToken(t1.id)).revokedAt, r1.revokedAt);
      t.is(((await t.throwsAsync(a.revokeApiToken(9999))) as RegistryError).code, 'NOT_FOUND');
    } finally {
      await registry.close();
      await backend.cleanup();
    }
  });

  test(`${name}: sign-in throttle state: shared by two handles, concurrent failures all count, stale counts restart, pruned to a bound`, async (t) => {
    const { backend, registry, a } = await world();
    const other = await backend.open();
    try {
      t.deepEqual(await a.loginThrottleState('alice', 'src'), {
        account: undefined,
        source: undefined,
        trustedUntil: undefined,
      });
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : other.accounts).recordLoginFailure('alice', 'src', 1000 + i, 0),
        ),
      );
      const s = await other.accounts.loginThrottleState('alice', 'src');
      t.is(s.account?.count, 6);
      t.is(s.source?.count, 6);
      // A count whose last failure is at or before staleBefore starts again.
      await a.recordLoginFailure('alice', 'other-src', 50_000, 1005);
      t.deepEqual((await a.loginThrottleState('alice', 'other-src')).account, { count: 1, last: 50_000 });
      await other.accounts.recordLoginSuccess('alice', 'src', 90_000);
      const after = await a.loginThrottleState('alice', 'src');
      t.is(after.source, undefined, "the owner's source is forgiven");
      t.is(after.trustedUntil, 90_000);
      t.is(after.account?.count, 1, "the account's count stays");
      for (let i = 0; i < 10; i++) await a.recordLoginFailure(`n${i}`, `s${i}`, 60_000 + i, 0);
      for (let i = 0; i < 4; i++) await a.recordLoginSuccess(`n${i}`, `s${i}`, 100_000 + i);
      // Stale (<= 1005): alice/src's source is gone already; ended trusts (<= 95 000): alice/src's.
      const gone = await a.pruneLoginThrottle(1005, 95_000, 3);
      t.true(gone > 0);
      t.is((await a.loginThrottleState('n9', 's9')).account?.count, 1, 'the newest rows stay');
      t.is((await a.loginThrottleState('n0', 's0')).account, undefined, 'the oldest past the bound go');
      t.is((await a.loginThrottleState('n3', 's3')).trustedUntil, 100_003);
      t.is((await a.loginThrottleState('n0', 's0')).trustedUntil, undefined);
      t.is((await a.loginThrottleState('alice', 'src')).trustedUntil, undefined, 'an ended trust goes');
      await t.throwsAsync(a.recordLoginFailure('x'.repeat(257), 's', 1, 0), { instanceOf: ValidationError });
    } finally {
      await other.close();
      await registry.close();
      await backend.cleanup();
    }
  });
}
