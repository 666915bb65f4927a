// `enf-server user add|list|role|disable|passwd` and `enf-server token add|list|revoke`: local users and
// named API tokens from the server's own command line (its operator acts as a superadmin). A
// password never appears on the command line (ps, shell history): it is read from --password-file,
// or from standard input with --password-stdin. A new token is printed once, never stored.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { isMissingPath, MissingFileError, UsageError } from '../../common/cli.ts';
import { InputFileError } from '../labels/gpk-input.ts';
import {
  addApiToken,
  newPasswordHash,
  newUser,
  organizationNames,
  tokenObject,
  tokenView,
  userObject,
  userView,
} from '../http/accounts.ts';
import { isRole, ROLES, type Role } from '../http/roles.ts';
import { RegistryError, ValidationError } from '../registry/errors.ts';
import type { Registry } from '../registry/registry.ts';
import { table } from './format.ts';
import { withRegistry, type Done, type GlobalArgs } from './cli.ts';
import { changeCli, cliActor } from './operator-audit-commands.ts';
import { organizationId } from './org-commands.ts';

/** The password from --password-file or --password-stdin (exactly one), without its final newline. */
export function readPassword(a: {
  'password-file'?: string | undefined;
  'password-stdin'?: boolean | undefined;
}): string {
  const file = a['password-file'];
  if ((file === undefined) === !a['password-stdin'])
    throw new UsageError('give the password with one of --password-file FILE or --password-stdin');
  let text: string;
  try {
    text = readFileSync(file ?? 0, 'utf8');
  } catch (cause) {
    if (file !== undefined && isMissingPath(cause)) throw new MissingFileError(file, 'file', { cause });
    if (file !== undefined) throw new InputFileError(file, 'cannot read the password from it', { cause });
    throw new UsageError('cannot read the password from standard input', { cause });
  }
  return text.replace(/\r?\n$/, '');
}

function role(v: string): Role {
  if (!isRole(v)) throw new ValidationError('role', `must be one of ${ROLES.join(', ')}`);
  return v;
}

/** The organization of a new user or token: none for a superadmin, required otherwise. */
async function orgFor(r: Registry, ro: Role, org: string | undefined): Promise<number | null> {
  if (ro === 'superadmin') {
    // Options that do not go together, or one missing: the command line is malformed (usage).
    if (org !== undefined)
      throw new UsageError('--org: a superadmin belongs to no organization', { field: 'org' });
    return null;
  }
  if (org === undefined) throw new UsageError(`--org: a ${ro} needs --org NAME`, { field: 'org' });
  return organizationId(r, org);
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());
const passwordOptions = {
  'password-file': { type: 'string', describe: 'file holding the password (at least 10 characters)' },
  'password-stdin': { type: 'boolean', describe: 'read the password from standard input' },
} as const;

export function registerAccountCommands(y: Argv<GlobalArgs>, done: Done): void {
  y.command('user', 'local users who sign in to the dashboard (each in one organization with a role)', (u) =>
    u
      .command(
        'add',
        'add a user',
        (c) =>
          c
            .option('name', { type: 'string', demandOption: true, describe: 'sign-in name (server-wide)' })
            .option('role', { type: 'string', demandOption: true, choices: ROLES, describe: 'role' })
            .option('org', { type: 'string', describe: 'organization (every role but superadmin)' })
            .options(passwordOptions),
        (a) =>
          withRegistry(a, async (r) => {
            const ro = role(a.role);
            const organizationId = await orgFor(r, ro, a.org);
            const password = readPassword(a);
            const input = await newUser({ name: a.name, password, role: ro, organizationId });
            const user = await changeCli(
              r,
              () => r.accounts.addUser(input),
              (u) => ({ ...userObject(u), action: 'user.add', detail: { role: ro } }),
            );
            done({
              human: `user ${user.name} (${user.role}${a.org ? ` in ${a.org}` : ''})`,
              json: userView(user, await organizationNames(r)),
            });
          }),
      )
      .command(
        'list',
        'list users',
        (c) => c.option('org', { type: 'string', describe: 'only this organization' }),
        (a) =>
          withRegistry(a, async (r) => {
            const users = await r.accounts.listUsers(a.org ? await organizationId(r, a.org) : undefined);
            const orgs = await organizationNames(r);
            const views = users.map((x) => userView(x, orgs));
            done({
              human: table(
                ['ID', 'NAME', 'ORGANIZATION', 'ROLE', 'DISABLED', 'CREATED'],
                views.map((v) => [
                  v.id,
                  v.name,
                  v.organization ?? '-',
                  v.role,
                  v.disabled ? 'yes' : 'no',
                  v.createdAt,
                ]),
              ),
              json: views,
            });
          }),
      )
      .command(
        'role',
        "change a user's role within its organization (its sessions and tokens see it at once)",
        (c) =>
          c.option('name', { type: 'string', demandOption: true, describe: 'user name' }).option('role', {
            type: 'string',
            demandOption: true,
            choices: ROLES.filter((x) => x !== 'superadmin'),
            describe: 'new role (a superadmin has no organization: not given nor taken here)',
          }),
        (a) =>
          withRegistry(a, async (r) => {
            const ro = role(a.role);
            // The role it had is read in the change's own transaction (exact even if two changes race).
            const { user } = await changeCli(
              r,
              async () => {
                const before = await r.accounts.getUser(a.name);
                return { user: await r.accounts.setUserRole(a.name, ro), from: before?.role ?? null };
              },
              (c) => ({
                ...userObject(c.user),
                action: 'user.role',
                detail: { from: c.from, role: ro },
              }),
            );
            done({
              human: `user ${user.name} is now ${user.role}`,
              json: userView(user, await organizationNames(r)),
            });
          }),
      )
      .command(
        'disable',
        'disable a user (its sessions end, its tokens stop working); --enable undoes it',
        (c) =>
          c
            .option('name', { type: 'string', demandOption: true, describe: 'user name' })
            .option('enable', { type: 'boolean', default: false, describe: 'enable the user again' }),
        (a) =>
          withRegistry(a, async (r) => {
            const user = await changeCli(
              r,
              () => r.accounts.setUserDisabled(a.name, !a.enable),
              (u) => ({ ...userObject(u), action: a.enable ? 'user.enable' : 'user.disable' }),
            );
            done({
              human: `user ${user.name} ${user.isDisabled ? 'disabled' : 'enabled'}`,
              json: userView(user, await organizationNames(r)),
            });
          }),
      )
      .command(
        'passwd',
        "set a user's password (its sessions end)",
        (c) =>
          c
            .option('name', { type: 'string', demandOption: true, describe: 'user name' })
            .options(passwordOptions),
        (a) =>
          withRegistry(a, async (r) => {
            if (!(await r.accounts.getUser(a.name)))
              throw new RegistryError('NOT_FOUND', `no user '${a.name}'`, { field: 'name' });
            const hash = await newPasswordHash(readPassword(a));
            const user = await changeCli(
              r,
              () => r.accounts.setPasswordHash(a.name, hash),
              (u) => ({ ...userObject(u), action: 'user.password' }),
            );
            done({ human: `password of ${user.name} set`, json: userView(user, await organizationNames(r)) });
          }),
      )
      .demandCommand(1, 'name a user command (see --help)'),
  );

  y.command('token', 'named API tokens for automation (shown once, stored as a digest)', (t) =>
    t
      .command(
        'add',
        'create a token and print it (once)',
        (c) =>
          c
            .option('name', {
              type: 'string',
              demandOption: true,
              describe: 'token name (unique per organization)',
            })
            .option('role', { type: 'string', demandOption: true, choices: ROLES, describe: 'role' })
            .option('org', { type: 'string', describe: 'organization (every role but superadmin)' })
            .option('user', { type: 'string', describe: 'the user it acts for (its role caps the token)' })
            .option('expires', {
              type: 'string',
              describe: 'expiry: ISO 8601 date or date-time (default never)',
            }),
        (a) =>
          withRegistry(a, async (r) => {
            const ro = role(a.role);
            let organizationId = await orgFor(r, ro, a.org);
            let userId: number | null = null;
            if (a.user !== undefined) {
              const u = await r.accounts.getUser(a.user);
              if (!u || u.organizationId !== organizationId)
                throw new RegistryError('NOT_FOUND', `no user '${a.user}' in this organization`, {
                  field: 'user',
                });
              userId = u.id;
              organizationId = u.organizationId;
            }
            let expiresAt: number | null = null;
            if (a.expires !== undefined) {
              expiresAt = Date.parse(a.expires);
              if (
                !/^\d{4}-\d{2}-\d{2}/.test(a.expires) ||
                !Number.isFinite(expiresAt) ||
                expiresAt <= Date.now()
              )
                throw new ValidationError('expires', 'an ISO 8601 date or date-time in the future');
            }
            const { secret, token } = await changeCli(
              r,
              () =>
                addApiToken(r, {
                  name: a.name,
                  role: ro,
                  organizationId,
                  userId,
                  expiresAt,
                  createdBy: cliActor(),
                }),
              (added) => ({
                ...tokenObject(added.token),
                action: 'token.add',
                detail: { role: ro, user: a.user ?? null, expiresAt: a.expires ?? null },
              }),
            );
            const users = new Map((await r.accounts.listUsers()).map((x) => [x.id, x.name]));
            done({
              human: `${secret}\n(token ${token.name}, ${token.role}; shown this once: store it now)`,
              json: { ...tokenView(token, await organizationNames(r), users), token: secret },
            });
          }),
      )
      .command(
        'list',
        'list tokens (never their secrets)',
        (c) => c.option('org', { type: 'string', describe: 'only this organization' }),
        (a) =>
          withRegistry(a, async (r) => {
            const list = await r.accounts.listApiTokens(
              {},
              a.org ? await organizationId(r, a.org) : undefined,
            );
            const orgs = await organizationNames(r);
            const users = new Map((await r.accounts.listUsers()).map((x) => [x.id, x.name]));
            const views = list.map((x) => tokenView(x, orgs, users));
            done({
              human: table(
                ['ID', 'NAME', 'ORGANIZATION', 'USER', 'ROLE', 'EXPIRES', 'LAST USED', 'REVOKED'],
                list.map((x, i) => [
                  x.id,
                  x.name,
                  views[i]!.organization ?? '-',
                  views[i]!.user ?? '-',
                  x.role,
                  iso(x.expiresAt),
                  iso(x.lastUsedAt),
                  iso(x.revokedAt),
                ]),
              ),
              json: views,
            });
          }),
      )
      .command(
        'revoke',
        'revoke a token (kept in the list as revoked)',
        (c) =>
          c
            .option('name', { type: 'string', demandOption: true, describe: 'token name or id' })
            .option('org', {
              type: 'string',
              describe: "the token's organization (omit for a server-wide token)",
            }),
        (a) =>
          withRegistry(a, async (r) => {
            const org = a.org ? await organizationId(r, a.org) : undefined;
            const ref = /^[0-9]+$/.test(a.name) ? Number(a.name) : a.name;
            const found = await r.accounts.getApiToken(ref, org);
            if (!found) throw new RegistryError('NOT_FOUND', `no token '${a.name}'`, { field: 'name' });
            const revoked = await changeCli(
              r,
              () => r.accounts.revokeApiToken(found.id),
              (x) => ({ ...tokenObject(x), action: 'token.revoke' }),
            );
            const users = new Map((await r.accounts.listUsers()).map((x) => [x.id, x.name]));
            done({
              human: `token ${revoked.name} revoked`,
              json: tokenView(revoked, await organizationNames(r), users),
            });
          }),
      )
      .demandCommand(1, 'name a token command (see --help)'),
  );
}
