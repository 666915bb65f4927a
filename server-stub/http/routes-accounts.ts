// Management API: signing in and out (the dashboard's session), the organization's users (admin),
// and named API tokens (each user its own; an admin its organization's). Roles only go down: nobody
// creates a user or a token with a role above its own, and a token acting for a user never holds
// more than that user. Scoping as everywhere: another organization's users and tokens are not found.
import type { IncomingMessage } from 'node:http';
import type { User } from '../registry/account-registry.ts';
import { normaliseAddress, sourceKey } from '../endpoint/xtt-endpoint.ts';
import {
  addApiToken,
  newPasswordHash,
  newUser,
  organizationNames,
  tokenObject,
  tokenView,
  userObject,
  userView,
} from './accounts.ts';
import { changeRecorded } from './routes-operator-audit.ts';
import { onlyKeys, readJsonObject, str } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { verifyDummy, verifyPassword } from './password.ts';
import { allows, isRole, ROLES, type Principal, type Role } from './roles.ts';
import { orgOf, type RequestContext, type Router } from './router.ts';
import { isSameOrigin } from './sessions.ts';

const API = '/api/v1';

function accountsOf(ctx: ApiContext): NonNullable<ApiContext['accounts']> {
  if (!ctx.accounts) throw new ApiError('NOT_FOUND', 'accounts are not enabled');
  return ctx.accounts;
}

function roleIn(v: unknown, field: string): Role {
  if (typeof v !== 'string' || !isRole(v))
    throw new ApiError('VALIDATION', `${field}: one of ${ROLES.join(', ')}`, field);
  return v;
}

/** Nobody hands out more than it has. */
function checkGrant(p: Principal, role: Role, field = 'role'): void {
  if (!allows(p.role, role)) {
    throw new ApiError('FORBIDDEN', `${field}: ${role} is above this caller's role (${p.role})`, field);
  }
}

/** The organization a superadmin names for a new user or token (org-bound callers use their own). */
async function targetOrg(
  ctx: ApiContext,
  p: Principal,
  role: Role,
  named: string | undefined,
): Promise<number | null> {
  if (role === 'superadmin') {
    if (named !== undefined)
      throw new ApiError('VALIDATION', 'organization: a superadmin has none', 'organization');
    return null;
  }
  if (p.org !== undefined) {
    if (named !== undefined) {
      const o = await ctx.registry.getOrganization(named);
      if (!o || o.id !== p.org)
        throw new ApiError('NOT_FOUND', `organization '${named}' not found`, 'organization');
    }
    return p.org;
  }
  if (named === undefined)
    throw new ApiError('VALIDATION', `organization: required for a ${role}`, 'organization');
  const o = await ctx.registry.getOrganization(named);
  if (!o) throw new ApiError('NOT_FOUND', `organization '${named}' not found`, 'organization');
  return o.id;
}

async function findUser(ctx: ApiContext, ref: string, org: number | undefined): Promise<User> {
  const u = await ctx.registry.accounts.getUser(/^[0-9]+$/.test(ref) ? Number(ref) : ref, org);
  if (!u) throw new ApiError('NOT_FOUND', `user '${ref}' not found`, 'user');
  const { passwordHash: _, ...pub } = u;
  return pub;
}

async function views(ctx: ApiContext) {
  const orgs = await organizationNames(ctx.registry);
  const users = new Map((await ctx.registry.accounts.listUsers()).map((u) => [u.id, u.name]));
  return { orgs, users };
}

function expiryOf(v: unknown, now: number): number | null {
  if (v === undefined || v === null) return null;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t) || !/^\d{4}-\d{2}-\d{2}(T.*(Z|[+-]\d{2}:\d{2}))?$/.test(v as string))
    throw new ApiError('VALIDATION', 'expiresAt: an ISO 8601 date or date-time with a zone', 'expiresAt');
  if (t <= now) throw new ApiError('VALIDATION', 'expiresAt: in the past', 'expiresAt');
  return t;
}

function sourceOf(req: IncomingMessage): string {
  return sourceKey(normaliseAddress(req.socket.remoteAddress ?? ''));
}

/** Sets a user's password (hashed before the transaction) with its operator-audit entry; the answer. */
async function setPassword(ctx: ApiContext, r: RequestContext, userId: number, password: unknown) {
  const hash = await newPasswordHash(password);
  const changed = await changeRecorded(
    ctx,
    r,
    () => ctx.registry.accounts.setPasswordHash(userId, hash),
    (c) => ({ ...userObject(c), action: 'user.password' }),
  );
  return { status: 200, body: userView(changed, await organizationNames(ctx.registry)) };
}

export function addAccountRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'POST',
    path: `${API}/session`,
    isAuthenticated: false,
    role: 'viewer',
    handler: async ({ req, res }) => {
      const a = accountsOf(ctx);
      // Login CSRF: a foreign page must not sign the browser in as someone else.
      if (!isSameOrigin(req, a.sessions.options.isSecure))
        throw new ApiError('FORBIDDEN', 'cross-site request refused');
      const body = await readJsonObject(req);
      onlyKeys(body, ['name', 'password']);
      const name = str(body, 'name', true);
      const password = str(body, 'password', true);
      const source = sourceOf(req);
      const wait = await a.throttle.waitMs(name, source);
      if (wait > 0) {
        res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
        throw new ApiError('TOO_MANY_REQUESTS', 'too many failed sign-ins; try again later');
      }
      const user =
        name.length <= 64 ? await ctx.registry.accounts.getUser(name).catch(() => undefined) : undefined;
      const isOk =
        user && !user.isDisabled
          ? await verifyPassword(password, user.passwordHash)
          : (await verifyDummy(), false);
      if (!isOk || !user) {
        await a.throttle.failed(name, source);
        ctx.logger?.info('http.sign-in.refused', { source });
        throw new ApiError('UNAUTHORIZED', 'wrong name or password');
      }
      await a.throttle.succeeded(name, source);
      const { passwordHash: _, ...pub } = user;
      const s = await a.sessions.create(pub);
      res.setHeader('set-cookie', s.setCookie);
      const orgs = await organizationNames(ctx.registry);
      return {
        status: 200,
        body: {
          ...sessionBody(`user:${user.name}`, pub, orgs),
          csrfToken: s.csrfToken,
          idleTimeoutSeconds: Math.floor(a.sessions.options.idleTimeoutMs / 1000),
        },
      };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/session`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const p = r.principal!;
      const orgs = await organizationNames(ctx.registry);
      const user = p.userId !== undefined ? await findUser(ctx, String(p.userId), undefined) : undefined;
      return {
        status: 200,
        body: {
          ...sessionBody(p.actor, user, orgs, p),
          csrfToken: r.session?.csrfToken ?? null,
          idleTimeoutSeconds: r.session
            ? Math.floor(accountsOf(ctx).sessions.options.idleTimeoutMs / 1000)
            : null,
        },
      };
    },
  });
  router.add({
    method: 'DELETE',
    path: `${API}/session`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async ({ res, session }) => {
      const a = accountsOf(ctx);
      if (session) await a.sessions.end(session);
      res.setHeader('set-cookie', a.sessions.clearCookie);
      return { status: 200, body: { signedOut: session !== undefined } };
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/session/password`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const { req, principal } = r;
      const body = await readJsonObject(req);
      onlyKeys(body, ['current', 'password']);
      const current = str(body, 'current', true);
      if (principal!.userId === undefined)
        throw new ApiError('BAD_REQUEST', 'only a user has a password (this is a token of the token file)');
      const u = await ctx.registry.accounts.getUser(principal!.userId);
      if (!u || !(await verifyPassword(current, u.passwordHash)))
        throw new ApiError('FORBIDDEN', 'current: wrong password', 'current');
      return setPassword(ctx, r, u.id, body.password);
    },
  });

  // Users (admin).
  router.add({
    method: 'GET',
    path: `${API}/users`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => {
      const orgs = await organizationNames(ctx.registry);
      return {
        status: 200,
        body: { items: (await ctx.registry.accounts.listUsers(orgOf(r))).map((u) => userView(u, orgs)) },
      };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/users`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['name', 'password', 'role', 'organization']);
      const name = str(body, 'name', true);
      const role = roleIn(body.role, 'role');
      checkGrant(r.principal!, role);
      const organizationId = await targetOrg(ctx, r.principal!, role, str(body, 'organization', false));
      const input = await newUser({ name, password: body.password, role, organizationId });
      const u = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.accounts.addUser(input),
        (added) => ({ ...userObject(added), action: 'user.add', detail: { role } }),
      );
      return { status: 201, body: userView(u, await organizationNames(ctx.registry)) };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/users/{user}`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => ({
      status: 200,
      body: userView(await findUser(ctx, r.params.user!, orgOf(r)), await organizationNames(ctx.registry)),
    }),
  });
  router.add({
    method: 'PUT',
    path: `${API}/users/{user}/password`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['password']);
      const u = await findUser(ctx, r.params.user!, orgOf(r));
      checkGrant(r.principal!, u.role, 'user');
      return setPassword(ctx, r, u.id, body.password);
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/users/{user}/role`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['role']);
      const role = roleIn(body.role, 'role');
      const u = await findUser(ctx, r.params.user!, orgOf(r));
      checkGrant(r.principal!, u.role, 'user');
      checkGrant(r.principal!, role);
      // An admin demoting itself could leave the organization without one.
      if (u.id === r.principal!.userId)
        throw new ApiError('CONFLICT', 'user: you cannot change your own role', 'user');
      // The role it had is read in the change's own transaction, so the entry's `from` is exact even
      // when two changes race.
      const { user: changed } = await changeRecorded(
        ctx,
        r,
        async () => {
          const from = (await ctx.registry.accounts.getUser(u.id))?.role ?? u.role;
          return { user: await ctx.registry.accounts.setUserRole(u.id, role), from };
        },
        (c) => ({ ...userObject(c.user), action: 'user.role', detail: { from: c.from, role } }),
      );
      return { status: 200, body: userView(changed, await organizationNames(ctx.registry)) };
    },
  });
  router.add({
    method: 'PUT',
    path: `${API}/users/{user}/disabled`,
    isAuthenticated: true,
    role: 'admin',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['disabled']);
      if (typeof body.disabled !== 'boolean')
        throw new ApiError('VALIDATION', 'disabled: a boolean', 'disabled');
      const u = await findUser(ctx, r.params.user!, orgOf(r));
      checkGrant(r.principal!, u.role, 'user');
      if (u.id === r.principal!.userId && body.disabled)
        throw new ApiError('CONFLICT', 'user: you cannot disable yourself', 'user');
      const disabled = body.disabled;
      const changed = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.accounts.setUserDisabled(u.id, disabled),
        (c) => ({ ...userObject(c), action: disabled ? 'user.disable' : 'user.enable' }),
      );
      return { status: 200, body: userView(changed, await organizationNames(ctx.registry)) };
    },
  });

  // Named API tokens: every user its own; an admin its organization's.
  router.add({
    method: 'GET',
    path: `${API}/tokens`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const p = r.principal!;
      const isAdmin = allows(p.role, 'admin');
      if (!isAdmin && p.userId === undefined) return { status: 200, body: { items: [] } };
      const list = await ctx.registry.accounts.listApiTokens(isAdmin ? {} : { userId: p.userId! }, orgOf(r));
      const v = await views(ctx);
      return { status: 200, body: { items: list.map((t) => tokenView(t, v.orgs, v.users)) } };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/tokens`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const p = r.principal!;
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['name', 'role', 'expiresAt', 'user', 'organization']);
      const name = str(body, 'name', true);
      const asked = body.role === undefined ? undefined : roleIn(body.role, 'role');
      let role = asked ?? p.role;
      checkGrant(p, role);
      const expiresAt = expiryOf(body.expiresAt, accountsOf(ctx).clock.now());
      const forUser = str(body, 'user', false);
      // `user: null` asks for the organization's own token (no user: it outlives staff changes).
      const isForOrganization = body.user === null;
      let userId: number | null;
      let organizationId: number | null;
      if (forUser !== undefined || isForOrganization || p.userId === undefined) {
        // For another user, or the organization's own token: an admin's act.
        if (!allows(p.role, 'admin'))
          throw new ApiError('FORBIDDEN', 'only an admin creates tokens for others or for the organization');
        if (forUser !== undefined) {
          const u = await findUser(ctx, forUser, orgOf(r));
          checkGrant(p, u.role, 'user');
          // Unasked, the user's own role; asked, never above it.
          if (asked === undefined) role = u.role;
          if (!allows(u.role, role))
            throw new ApiError('VALIDATION', `role: above the user's (${u.role})`, 'role');
          userId = u.id;
          organizationId = u.organizationId;
        } else {
          userId = null;
          organizationId = await targetOrg(ctx, p, role, str(body, 'organization', false));
        }
      } else {
        if (body.organization !== undefined)
          throw new ApiError('VALIDATION', "organization: a user token is in its user's", 'organization');
        userId = p.userId;
        organizationId = p.org ?? null;
      }
      const { secret, token } = await changeRecorded(
        ctx,
        r,
        () =>
          addApiToken(ctx.registry, { name, role, organizationId, userId, expiresAt, createdBy: p.actor }),
        (added) => ({
          ...tokenObject(added.token),
          action: 'token.add',
          detail: { role, user: forUser ?? null, expiresAt: body.expiresAt ?? null },
        }),
      );
      const v = await views(ctx);
      return { status: 201, body: { ...tokenView(token, v.orgs, v.users), token: secret } };
    },
  });
  router.add({
    method: 'DELETE',
    path: `${API}/tokens/{token}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const p = r.principal!;
      const ref = r.params.token!;
      const t = await ctx.registry.accounts.getApiToken(/^[0-9]+$/.test(ref) ? Number(ref) : ref, orgOf(r));
      // Not an admin: only its own tokens exist for it.
      if (!t || (!allows(p.role, 'admin') && (p.userId === undefined || t.userId !== p.userId)))
        throw new ApiError('NOT_FOUND', `token '${ref}' not found`, 'token');
      const revoked = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.accounts.revokeApiToken(t.id),
        (x) => ({ ...tokenObject(x), action: 'token.revoke' }),
      );
      const v = await views(ctx);
      return { status: 200, body: tokenView(revoked, v.orgs, v.users) };
    },
  });
}

function sessionBody(
  actor: string,
  user: User | undefined,
  orgs: ReadonlyMap<number, string>,
  p?: Principal,
) {
  const org = user ? user.organizationId : (p?.org ?? null);
  return {
    actor,
    user: user?.name ?? null,
    role: p?.role ?? user!.role,
    organization: org === null ? null : (orgs.get(org) ?? String(org)),
  };
}
