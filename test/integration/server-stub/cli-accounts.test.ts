// The real `enf-server` program with --json: `user add|list|role|disable|passwd` (passwords from a file
// or standard input, never the command line) and `token add|list|revoke` (printed once, listed
// without the secret, the creator named cli:OSUSER); mistakes name their option and change nothing.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { verifyPassword } from '../../../server-stub/http/password.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';

interface Run {
  code: number;
  stderr: string;
  stdout: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function cli(dir: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server-stub/main.ts', '--dir', dir, '--json', ...args],
      { env: { ...process.env, ENF_SERVER_DIR: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        let json: unknown;
        try {
          json = JSON.parse(code === 0 ? stdout : stderr);
        } catch {
          json = undefined;
        }
        resolve({ code, stderr, stdout, json });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

test('user add|list|disable|passwd and token add|list|revoke', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-accounts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(dir, ['init'])).code, 0);
  t.is((await cli(dir, ['org', 'add', '--name', 'acme'])).code, 0);
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'first-password-1\n', { mode: 0o600 });

  const added = await cli(dir, [
    'user',
    'add',
    '--name',
    'alice',
    '--org',
    'acme',
    '--role',
    'admin',
    '--password-file',
    pw,
  ]);
  t.is(added.code, 0, added.stderr);
  t.like(added.json, { name: 'alice', organization: 'acme', role: 'admin', disabled: false });
  const root = await cli(
    dir,
    ['user', 'add', '--name', 'root', '--role', 'superadmin', '--password-stdin'],
    'root-password-1\n',
  );
  t.is(root.code, 0, root.stderr);
  t.like(root.json, { organization: null, role: 'superadmin' });
  // Mistakes: named, nothing stored; usage (2), not found (3), conflict (4).
  for (const [args, field, code] of [
    [['--name', 'bob', '--role', 'viewer', '--password-file', pw], 'org', 2],
    [['--name', 'bob', '--org', 'acme', '--role', 'superadmin', '--password-file', pw], 'org', 2],
    [['--name', 'bob', '--org', 'nowhere', '--role', 'viewer', '--password-file', pw], 'org', 3],
    [['--name', 'alice', '--org', 'acme', '--role', 'viewer', '--password-file', pw], 'user.name', 4],
    [
      ['--name', 'bob', '--org', 'acme', '--role', 'viewer', '--password-file', `${pw}.missing`],
      undefined,
      3,
    ],
  ] as const) {
    const r = await cli(dir, ['user', 'add', ...args]);
    t.is(r.code, code, args.join(' '));
    t.is(r.json?.error?.field, field, `${args.join(' ')}: ${r.stderr}`);
  }
  const short = await cli(
    dir,
    ['user', 'add', '--name', 'bob', '--org', 'acme', '--role', 'viewer', '--password-stdin'],
    'short\n',
  );
  t.regex(short.stderr, /password/);
  const list = await cli(dir, ['user', 'list']);
  t.deepEqual(
    list.json.map((u: { name: string }) => u.name),
    ['alice', 'root'],
  );
  t.deepEqual((await cli(dir, ['user', 'list', '--org', 'acme'])).json.length, 1);

  writeFileSync(pw, 'second-password-2');
  t.is((await cli(dir, ['user', 'passwd', '--name', 'alice', '--password-file', pw])).code, 0);
  t.is(
    (await cli(dir, ['user', 'passwd', '--name', 'nobody', '--password-file', pw])).json?.error?.code,
    'NOT_FOUND',
  );
  const demoted = await cli(dir, ['user', 'role', '--name', 'alice', '--role', 'operator']);
  t.is(demoted.code, 0, demoted.stderr);
  t.like(demoted.json, { name: 'alice', organization: 'acme', role: 'operator' });
  t.is((await cli(dir, ['user', 'role', '--name', 'alice', '--role', 'admin'])).json.role, 'admin');
  const sup = await cli(dir, ['user', 'role', '--name', 'root', '--role', 'admin']);
  t.like(sup.json?.error, { code: 'VALIDATION', field: 'role' });
  t.not((await cli(dir, ['user', 'role', '--name', 'alice', '--role', 'superadmin'])).code, 0);
  t.is(
    (await cli(dir, ['user', 'role', '--name', 'nobody', '--role', 'viewer'])).json?.error?.code,
    'NOT_FOUND',
  );
  t.true((await cli(dir, ['user', 'disable', '--name', 'alice'])).json.disabled);
  t.false((await cli(dir, ['user', 'disable', '--name', 'alice', '--enable'])).json.disabled);

  const tok = await cli(dir, [
    'token',
    'add',
    '--name',
    'ci',
    '--org',
    'acme',
    '--role',
    'operator',
    '--user',
    'alice',
    '--expires',
    '2099-01-01',
  ]);
  t.is(tok.code, 0, tok.stderr);
  t.like(tok.json, {
    name: 'ci',
    organization: 'acme',
    user: 'alice',
    role: 'operator',
    createdBy: `cli:${userInfo().username}`,
  });
  t.regex(tok.json.token, /^enf_[A-Za-z0-9_-]{43}$/);
  t.is(
    (await cli(dir, ['token', 'add', '--name', 'ci', '--org', 'acme', '--role', 'viewer'])).json?.error?.code,
    'CONFLICT',
  );
  t.is(
    (
      await cli(dir, [
        'token',
        'add',
        '--name',
        'old',
        '--org',
        'acme',
        '--role',
        'viewer',
        '--expires',
        '2001-01-01',
      ])
    ).json?.error?.field,
    'expires',
  );
  const tokens = await cli(dir, ['token', 'list']);
  t.is(tokens.json.length, 1);
  t.false(tokens.stdout.includes(tok.json.token.slice(4)), 'never listed with its secret');
  const revoked = await cli(dir, ['token', 'revoke', '--name', 'ci', '--org', 'acme']);
  t.not(revoked.json.revokedAt, null);
  t.is((await cli(dir, ['token', 'revoke', '--name', 'ci'])).json?.error?.code, 'NOT_FOUND');

  // The operator audit names the OS user for each change, never a secret.
  const ops = await cli(dir, ['audit', 'operator']);
  t.deepEqual(
    ops.json.map((e: { action: string; objectName: string }) => `${e.action} ${e.objectName}`),
    [
      'token.revoke ci',
      'token.add ci',
      'user.enable alice',
      'user.disable alice',
      'user.role alice',
      'user.role alice',
      'user.password alice',
      'user.add root',
      'user.add alice',
      'organization.add acme',
    ],
  );
  t.false(ops.stdout.includes(tok.json.token as string));
  t.false(ops.stdout.includes('password-'));

  // What the registry holds: a scrypt hash of the new password, no token secret.
  const r = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const alice = await r.accounts.getUser('alice');
  t.true(await verifyPassword('second-password-2', alice!.passwordHash));
  t.false(await verifyPassword('first-password-1', alice!.passwordHash));
  await r.close();
  const raw = readFileSync(join(dir, 'registry.sqlite'));
  t.false(raw.includes(Buffer.from(tok.json.token as string)));
  t.false(raw.includes(Buffer.from('second-password-2')));
});
