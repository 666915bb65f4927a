// The accounts rules (account-registry.ts), written once over the SQL driver like sql-registry.ts:
// users (names server-wide, superadmins without an organization), their sessions (by digest, ended
// together when the user is disabled or changes password) and named API tokens (by digest, names
// unique per organization and among server-wide tokens, revocation kept as a time).
import type {
  AccountRegistry,
  ApiToken,
  LoginThrottleState,
  NewApiToken,
  NewUser,
  Session,
  User,
  UserRecord,
} from './account-registry.ts';
import type { SqlConn, SqlDriver } from './driver.ts';
import { RegistryError, ValidationError } from './errors.ts';
import type { Clock } from './registry.ts';
import { toBuffer, type Row } from './rows.ts';
import { checkBytes, checkInt, checkName, checkNetworkRef } from './validate.ts';
import { isRole, ROLES, type Role } from './roles.ts';

const isTrue = (v: unknown): boolean => v === true || Number(v) === 1;
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rowToUser(r: Row): UserRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    organizationId: numOrNull(r.organization_id),
    role: String(r.role) as Role,
    isDisabled: isTrue(r.disabled),
    createdAt: Number(r.created_at),
    passwordChangedAt: Number(r.password_changed_at),
    passwordHash: String(r.password_hash),
  };
}

/** The public view: everything but the hash. */
function publicUser(u: UserRecord): User {
  const { passwordHash: _, ...rest } = u;
  return rest;
}

function rowToToken(r: Row): ApiToken {
  return {
    id: Number(r.id),
    name: String(r.name),
    organizationId: numOrNull(r.organization_id),
    userId: numOrNull(r.user_id),
    role: String(r.role) as Role,
    createdBy: String(r.created_by),
    createdAt: Number(r.created_at),
    expiresAt: numOrNull(r.expires_at),
    lastUsedAt: numOrNull(r.last_used_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

/** A throttle key: a name or source of at most 256 characters. */
function checkKey(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > 256)
    throw new ValidationError(field, 'must be text of at most 256 characters');
  return v;
}

function checkTime(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new ValidationError(field, 'must be a time in ms');
  return v;
}

function checkRole(role: unknown, org: number | null, field: string): Role {
  if (typeof role !== 'string' || !isRole(role)) {
    throw new ValidationError(field, `must be one of ${ROLES.join(', ')}`);
  }
  if ((role === 'superadmin') !== (org === null)) {
    throw new ValidationError(
      field,
      role === 'superadmin' ? 'a superadmin belongs to no organization' : `a ${role} needs an organization`,
    );
  }
  return role;
}

const checkOrgId = (org: number | null, field: string): number | null =>
  org === null ? null : checkInt(org, field, 1, Number.MAX_SAFE_INTEGER);

/** ` AND <column> = ?` with its argument when scoped to an organization. */
function scoped(column: string, org: number | undefined): { sql: string; args: unknown[] } {
  return org === undefined
    ? { sql: '', args: [] }
    : { sql: ` AND ${column} = ?`, args: [checkInt(org, 'organization', 1, Number.MAX_SAFE_INTEGER)] };
}

export class SqlAccountRegistry implements AccountRegistry {
  constructor(
    private readonly driver: SqlDriver,
    private readonly clock: Clock,
  ) {}

  async addUser(input: NewUser): Promise<User> {
    const name = checkName(input?.name, 'user.name');
    const org = checkOrgId(input.organizationId, 'user.organization');
    const role = checkRole(input.role, org, 'user.role');
    if (typeof input.passwordHash !== 'string' || input.passwordHash.length === 0)
      throw new ValidationError('user.password', 'no password hash');
    return this.driver.run('write', 'user add', async (c) => {
      if (await c.get('SELECT 1 FROM users WHERE name = ?', [name])) {
        throw new RegistryError('CONFLICT', `'${name}' exists`, { field: 'user.name' });
      }
      if (org !== null && !(await c.get('SELECT 1 FROM organizations WHERE id = ?', [org]))) {
        throw new RegistryError('NOT_FOUND', `no organization ${org}`, { field: 'user.organization' });
      }
      const now = this.clock.now();
      const r = await c.get(
        `INSERT INTO users (name, organization_id, role, password_hash, disabled, created_at, password_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [name, org, role, input.passwordHash, false, now, now],
      );
      return publicUser(rowToUser(r!));
    });
  }

  private async userRow(c: SqlConn, ref: string | number, org: number | undefined): Promise<Row | undefined> {
    const r = checkNetworkRef(ref, 'user');
    const s = scoped('organization_id', org);
    return c.get(`SELECT * FROM users WHERE ${typeof r === 'number' ? 'id' : 'name'} = ?${s.sql}`, [
      r,
      ...s.args,
    ]);
  }

  async getUser(ref: string | number, org?: number): Promise<UserRecord | undefined> {
    return this.driver.run('read', 'user get', async (c) => {
      const row = await this.userRow(c, ref, org);
      return row ? rowToUser(row) : undefined;
    });
  }

  async listUsers(org?: number): Promise<User[]> {
    const s = scoped('organization_id', org);
    return this.driver.run('read', 'user list', async (c) =>
      (await c.all(`SELECT * FROM users WHERE 1 = 1${s.sql} ORDER BY id`, s.args)).map((r) =>
        publicUser(rowToUser(r)),
      ),
    );
  }

  private async updateUser(
    what: string,
    ref: string | number,
    org: number | undefined,
    set: string,
    args: unknown[],
    endSessions: boolean,
  ): Promise<User> {
    return this.driver.run('write', what, async (c) => {
      const row = await this.userRow(c, ref, org);
      if (!row) throw new RegistryError('NOT_FOUND', `no user '${String(ref)}'`, { field: 'user' });
      const id = Number(row.id);
      const r = await c.get(`UPDATE users SET ${set} WHERE id = ? RETURNING *`, [...args, id]);
      if (endSessions) await c.run('DELETE FROM sessions WHERE user_id = ?', [id]);
      return publicUser(rowToUser(r!));
    });
  }

  async setUserDisabled(ref: string | number, isDisabled: boolean, org?: number): Promise<User> {
    if (typeof isDisabled !== 'boolean') throw new ValidationError('disabled', 'not a boolean');
    return this.updateUser('user disable', ref, org, 'disabled = ?', [isDisabled], isDisabled);
  }

  async setUserRole(ref: string | number, role: Role, org?: number): Promise<User> {
    if (typeof role !== 'string' || !isRole(role))
      throw new ValidationError('role', `not one of ${ROLES.join(', ')}`);
    if (role === 'superadmin') throw new ValidationError('role', 'a superadmin has no organization');
    return this.driver.run('write', 'user role', async (c) => {
      const row = await this.userRow(c, ref, org);
      if (!row) throw new RegistryError('NOT_FOUND', `no user '${String(ref)}'`, { field: 'user' });
      if (row.role === 'superadmin') throw new ValidationError('role', 'a superadmin stays one');
      const r = await c.get('UPDATE users SET role = ? WHERE id = ? RETURNING *', [role, Number(row.id)]);
      return publicUser(rowToUser(r!));
    });
  }

  async setPasswordHash(ref: string | number, passwordHash: string, org?: number): Promise<User> {
    if (typeof passwordHash !== 'string' || passwordHash.length === 0)
      throw new ValidationError('user.password', 'no password hash');
    return this.updateUser(
      'user passwd',
      ref,
      org,
      'password_hash = ?, password_changed_at = ?',
      [passwordHash, this.clock.now()],
      true,
    );
  }

  async addSession(digest: Uint8Array, userId: number): Promise<void> {
    const d = checkBytes(digest, 'session', 32);
    const now = this.clock.now();
    await this.driver.run('write', 'session add', (c) =>
      c.run('INSERT INTO sessions (digest, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)', [
        toBuffer(d),
        userId,
        now,
        now,
      ]),
    );
  }

  async getSession(digest: Uint8Array): Promise<Session | undefined> {
    const d = checkBytes(digest, 'session', 32);
    return this.driver.run('read', 'session get', async (c) => {
      const r = await c.get('SELECT * FROM sessions WHERE digest = ?', [toBuffer(d)]);
      return r
        ? { userId: Number(r.user_id), createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at) }
        : undefined;
    });
  }

  async touchSession(digest: Uint8Array, at: number): Promise<void> {
    const d = checkBytes(digest, 'session', 32);
    await this.driver.run('write', 'session touch', (c) =>
      c.run('UPDATE sessions SET last_seen_at = ? WHERE digest = ? AND last_seen_at < ?', [
        at,
        toBuffer(d),
        at,
      ]),
    );
  }

  async deleteSession(digest: Uint8Array): Promise<void> {
    const d = checkBytes(digest, 'session', 32);
    await this.driver.run('write', 'session delete', (c) =>
      c.run('DELETE FROM sessions WHERE digest = ?', [toBuffer(d)]),
    );
  }

  async deleteIdleSessions(before: number): Promise<number> {
    return this.driver.run('write', 'session expire', (c) =>
      c.run('DELETE FROM sessions WHERE last_seen_at < ?', [before]),
    );
  }

  async addApiToken(input: NewApiToken): Promise<ApiToken> {
    const name = checkName(input?.name, 'token.name');
    const org = checkOrgId(input.organizationId, 'token.organization');
    const role = checkRole(input.role, org, 'token.role');
    const d = checkBytes(input.digest, 'token.digest', 32);
    if (input.expiresAt !== null) checkInt(input.expiresAt, 'token.expiresAt', 0, Number.MAX_SAFE_INTEGER);
    return this.driver.run('write', 'token add', async (c) => {
      // UNIQUE (organization_id, name) leaves server-wide (NULL) names to this check.
      const clash = await c.get(
        `SELECT 1 FROM api_tokens WHERE name = ? AND ${org === null ? 'organization_id IS NULL' : 'organization_id = ?'}`,
        org === null ? [name] : [name, org],
      );
      if (clash) throw new RegistryError('CONFLICT', `'${name}' exists`, { field: 'token.name' });
      const r = await c.get(
        `INSERT INTO api_tokens (name, organization_id, user_id, role, digest, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [name, org, input.userId, role, toBuffer(d), input.createdBy, this.clock.now(), input.expiresAt],
      );
      return rowToToken(r!);
    });
  }

  async findApiToken(digest: Uint8Array): Promise<ApiToken | undefined> {
    const d = checkBytes(digest, 'token', 32);
    return this.driver.run('read', 'token find', async (c) => {
      const r = await c.get('SELECT * FROM api_tokens WHERE digest = ?', [toBuffer(d)]);
      return r ? rowToToken(r) : undefined;
    });
  }

  async listApiTokens(filter: { userId?: number }, org?: number): Promise<ApiToken[]> {
    const s = scoped('organization_id', org);
    const byUser =
      filter.userId === undefined
        ? { sql: '', args: [] }
        : { sql: ' AND user_id = ?', args: [filter.userId] };
    return this.driver.run('read', 'token list', async (c) =>
      (
        await c.all(`SELECT * FROM api_tokens WHERE 1 = 1${s.sql}${byUser.sql} ORDER BY id`, [
          ...s.args,
          ...byUser.args,
        ])
      ).map(rowToToken),
    );
  }

  async getApiToken(ref: string | number, org?: number): Promise<ApiToken | undefined> {
    const r = checkNetworkRef(ref, 'token');
    return this.driver.run('read', 'token get', async (c) => {
      const row =
        typeof r === 'number'
          ? await c.get(`SELECT * FROM api_tokens WHERE id = ?${scoped('organization_id', org).sql}`, [
              r,
              ...scoped('organization_id', org).args,
            ])
          : await c.get(
              `SELECT * FROM api_tokens WHERE name = ? AND ${org === undefined ? 'organization_id IS NULL' : 'organization_id = ?'}`,
              org === undefined ? [r] : [r, org],
            );
      return row ? rowToToken(row) : undefined;
    });
  }

  async touchApiToken(id: number, at: number): Promise<void> {
    await this.driver.run('write', 'token touch', (c) =>
      c.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]),
    );
  }

  async revokeApiToken(id: number): Promise<ApiToken> {
    return this.driver.run('write', 'token revoke', async (c) => {
      await c.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
        this.clock.now(),
        id,
      ]);
      const r = await c.get('SELECT * FROM api_tokens WHERE id = ?', [id]);
      if (!r) throw new RegistryError('NOT_FOUND', `no token ${id}`, { field: 'token' });
      return rowToToken(r);
    });
  }

  async loginThrottleState(account: string, source: string): Promise<LoginThrottleState> {
    const a = checkKey(account, 'account');
    const src = checkKey(source, 'source');
    return this.driver.run('read', 'sign-in throttle read', async (c) => {
      const rows = await c.all(
        `SELECT kind, failures, last_at FROM login_failures WHERE (kind = 'account' AND name = ?)
           OR (kind = 'source' AND name = ?)`,
        [a, src],
      );
      const of = (kind: string) => {
        const r = rows.find((x) => x.kind === kind);
        return r ? { count: Number(r.failures), last: Number(r.last_at) } : undefined;
      };
      const trust = await c.get('SELECT trusted_until FROM login_trust WHERE account = ? AND source = ?', [
        a,
        src,
      ]);
      return {
        account: of('account'),
        source: of('source'),
        trustedUntil: trust ? Number(trust.trusted_until) : undefined,
      };
    });
  }

  async recordLoginFailure(account: string, source: string, at: number, staleBefore: number): Promise<void> {
    const keys = [
      ['account', checkKey(account, 'account')],
      ['source', checkKey(source, 'source')],
    ] as const;
    const now = checkTime(at, 'at');
    const stale = checkTime(staleBefore, 'staleBefore');
    await this.driver.run('write', 'sign-in failure', async (c) => {
      for (const [kind, name] of keys) {
        await c.run(
          `INSERT INTO login_failures (kind, name, failures, last_at) VALUES (?, ?, 1, ?)
           ON CONFLICT (kind, name) DO UPDATE SET
             failures = CASE WHEN login_failures.last_at <= ? THEN 1 ELSE login_failures.failures + 1 END,
             last_at = excluded.last_at`,
          [kind, name, now, stale],
        );
      }
    });
  }

  async recordLoginSuccess(account: string, source: string, trustedUntil: number): Promise<void> {
    const a = checkKey(account, 'account');
    const src = checkKey(source, 'source');
    const until = checkTime(trustedUntil, 'trustedUntil');
    await this.driver.run('write', 'sign-in success', async (c) => {
      await c.run(`DELETE FROM login_failures WHERE kind = 'source' AND name = ?`, [src]);
      await c.run(
        `INSERT INTO login_trust (account, source, trusted_until) VALUES (?, ?, ?)
         ON CONFLICT (account, source) DO UPDATE SET trusted_until = excluded.trusted_until`,
        [a, src, until],
      );
    });
  }

  async pruneLoginThrottle(staleBefore: number, now: number, maxRows: number): Promise<number> {
    const stale = checkTime(staleBefore, 'staleBefore');
    const at = checkTime(now, 'now');
    const max = checkInt(maxRows, 'maxRows', 1, Number.MAX_SAFE_INTEGER);
    return this.driver.run('write', 'sign-in throttle prune', async (c) => {
      let n = await c.run('DELETE FROM login_failures WHERE last_at <= ?', [stale]);
      n += await c.run('DELETE FROM login_trust WHERE trusted_until <= ?', [at]);
      for (const kind of ['account', 'source']) {
        const over =
          Number((await c.get('SELECT count(*) AS n FROM login_failures WHERE kind = ?', [kind]))!.n) - max;
        if (over > 0) {
          n += await c.run(
            `DELETE FROM login_failures WHERE kind = ? AND name IN
               (SELECT name FROM login_failures WHERE kind = ? ORDER BY last_at, name LIMIT ?)`,
            [kind, kind, over],
          );
        }
      }
      const over = Number((await c.get('SELECT count(*) AS n FROM login_trust'))!.n) - max;
      if (over > 0) {
        n += await c.run(
          `DELETE FROM login_trust WHERE (account, source) IN
             (SELECT account, source FROM login_trust ORDER BY trusted_until, account, source LIMIT ?)`,
          [over],
        );
      }
      return n;
    });
  }
}
