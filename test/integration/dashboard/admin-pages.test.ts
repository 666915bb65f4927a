// The dashboard's admin pages (static/admin.js) in a real headless Chromium against the real
// `enf-server start` process (SQLite on disk), two organizations side by side: acme's admin adds a
// user (a refusal shown beside the form first, nothing typed lost), changes its role, and the new
// user signs in with its initial password; the admin creates an API token, which is shown once with
// a copy button, works as a bearer against /api/v1 (in its organization only), is never shown again,
// and stops working once revoked from the page; a viewer sees no admin entry, is told so on the
// Users page, and its own API calls to the users routes are refused; neither organization's admin
// ever sees the other's users or tokens. Every state-changing request the page makes carries the
// session's CSRF token. Screenshots: test/artifacts/admin-pages/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { systemRng } from '../../../protocol/util/rng.ts';
import { addApiToken, addUser } from '../../../server-stub/http/accounts.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { startBrowser, type Browser } from '../../helpers/browser.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { managementArgs, startEnfServer } from '../server-stub/_enf-server.ts';
import { TOKEN } from '../server-stub/http/_fixtures.ts';

const test = suiteRequires('dashboard admin pages browser test', ['chromium']);

async function startStack(dir: string) {
  createKeyMaterial(dir, systemRng);
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const acme = (await registry.addOrganization({ name: 'acme' })).id;
  const globex = (await registry.addOrganization({ name: 'globex' })).id;
  await registry.addNetwork({ name: 'acme-plant', prefix: '2001:db8:ac::/64' }, acme);
  await registry.addNetwork({ name: 'globex-plant', prefix: '2001:db8:6b::/64' }, globex);
  await addUser(registry, { name: 'ada', password: 'ada-password-1', role: 'admin', organizationId: acme });
  await addUser(registry, { name: 'gil', password: 'gil-password-1', role: 'admin', organizationId: globex });
  await addUser(registry, {
    name: 'gus',
    password: 'gus-password-1',
    role: 'viewer',
    organizationId: globex,
  });
  await addApiToken(registry, {
    name: 'globex-ci',
    organizationId: globex,
    userId: null,
    role: 'operator',
    createdBy: 'test',
    expiresAt: null,
  });
  await registry.close();
  const tokens = join(dir, 'api-tokens');
  writeFileSync(tokens, `${TOKEN}\n`, { mode: 0o600 });
  const server = await startEnfServer(dir, managementArgs(tokens));
  const url = `http://127.0.0.1:${server.httpPort!}`;
  return {
    url,
    log: server.stderr,
    /** A request as an automation client would make it, with a bearer token. */
    bearer: async (path: string, secret: string) => {
      const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
    close: async () => {
      server.proc.kill('SIGTERM');
      return (await server.exited).code;
    },
  };
}

async function signIn(page: Page, name: string, password: string) {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** The text of the users or tokens table's rows (their names in the header cell). */
const rowNames = (page: Page, caption: string) =>
  page
    .getByRole('table', { name: caption })
    .locator('tbody th')
    .evaluateAll((ths) => ths.map((th) => (th.textContent ?? '').replace(' (you)', '')));

test('admin pages: users added and signed in, tokens shown once and revoked, viewers kept out, organizations apart', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-admin-pages-'));
  const stack = await startStack(dir);
  let browser: Browser | undefined;
  try {
    browser = await startBrowser('admin-pages');
    const { page } = browser;
    // Every state-changing API request the page makes, with the CSRF token it carried.
    const changes: { method: string; path: string; csrf: string | undefined }[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/v1/') && r.method() !== 'GET')
        changes.push({ method: r.method(), path: u.pathname, csrf: r.headers()['x-csrf-token'] });
    });
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
    await page.goto(stack.url);
    await signIn(page, 'ada', 'ada-password-1');

    // Users: only acme's.
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Add a user' }).waitFor();
    t.deepEqual(await rowNames(page, 'Users of acme'), ['ada']);

    // A refusal (too short a password) is shown beside the form; what was typed stays.
    await page.getByLabel('Name', { exact: true }).fill('olga');
    await page.getByLabel('Role', { exact: true }).selectOption('operator');
    await page.getByLabel('Initial password').fill('short');
    // The browser's own minlength check would stop the form first: the API's answer is the one tested.
    await page.locator('form[aria-labelledby="u-new"]').evaluate((f) => f.setAttribute('novalidate', ''));
    await page.getByRole('button', { name: 'Add user' }).click();
    const refusal = page.locator('#u-add-error');
    await refusal.getByText(/Refused: .*at least 10 characters/).waitFor();
    t.is(await page.getByLabel('Initial password').getAttribute('aria-invalid'), 'true');
    t.is(await page.getByLabel('Name', { exact: true }).inputValue(), 'olga');
    t.is(await page.getByLabel('Role', { exact: true }).inputValue(), 'operator');
    await browser.screenshot('1-add-user-refused');
    await page.getByLabel('Initial password').fill('olga-password-1');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('User olga added (operator in acme).').waitFor();
    t.deepEqual(await rowNames(page, 'Users of acme'), ['ada', 'olga']);
    // The set-password forms stay folded until asked for.
    const pwForm = page.getByRole('form', { name: 'New password for olga' });
    t.is(await pwForm.count(), 0);
    await page.getByRole('button', { name: 'Set a password for olga' }).click();
    await pwForm.getByLabel('New password for olga').fill('too-short');
    await pwForm.evaluate((f) => f.setAttribute('novalidate', ''));
    await pwForm.getByRole('button', { name: 'Set password' }).click();
    await page
      .getByRole('row', { name: /^olga/ })
      .getByRole('alert')
      .getByText(/Refused: .*at least 10 characters/)
      .waitFor();
    await pwForm.getByLabel('New password for olga').fill('olga-password-2');
    await pwForm.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('New password set for olga; its sessions have ended.').waitFor();
    t.is(await pwForm.count(), 0);
    // The admin's own row offers no role change nor disabling (the API refuses both).
    t.is(await page.getByLabel('Role of ada', { exact: true }).count(), 0);
    t.is(await page.getByRole('button', { name: 'Disable user ada' }).count(), 0);
    // olga becomes a viewer.
    await page.getByLabel('Role of olga', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Change role of olga' }).click();
    await page.getByText('olga is now viewer.').waitFor();
    t.is(await page.getByLabel('Role of olga', { exact: true }).inputValue(), 'viewer');
    await browser.screenshot('2-users');

    // A token: shown once, with a copy button and the warning.
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('heading', { name: 'Create an API token' }).waitFor();
    t.deepEqual(await rowNames(page, 'Named API tokens').catch(() => []), []);
    await page.getByLabel('Name', { exact: true }).fill('acme-ci');
    t.deepEqual(await page.getByLabel('For', { exact: true }).locator('option').allTextContents(), [
      'Myself (ada)',
      'The organization (no user)',
      'User olga (viewer)',
    ]);
    // For olga (a viewer), only a viewer's role is offered; back to the organization, up to admin.
    await page.getByLabel('For', { exact: true }).selectOption('User olga (viewer)');
    t.deepEqual(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents(), [
      'viewer',
    ]);
    await page.getByLabel('For', { exact: true }).selectOption('The organization (no user)');
    t.deepEqual(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents(), [
      'viewer',
      'operator',
      'admin',
    ]);
    await page.getByLabel('Role', { exact: true }).selectOption('operator');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Copy it now: you will not see it again.').waitFor();
    const secret = await page.getByLabel('Token', { exact: true }).inputValue();
    t.regex(secret, /^enf_[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByText('Token acme-ci copied to the clipboard.').waitFor();
    t.is(await page.evaluate('navigator.clipboard.readText()'), secret);
    // The organization's own token: no user, the role asked for.
    await page
      .getByRole('row', { name: /^acme-ci organization operator never never active user:ada/ })
      .waitFor();
    await browser.screenshot('3-token-shown-once');
    // It works as a bearer, in acme only.
    const nets = await stack.bearer('/api/v1/networks', secret);
    t.is(nets.status, 200);
    t.deepEqual(
      (nets.json.items as { name: string }[]).map((n) => n.name),
      ['acme-plant'],
    );
    t.is((await stack.bearer('/api/v1/session', secret)).json.role, 'operator');
    // Hidden, and never shown again: not after hiding, not after coming back to the page.
    await page.getByRole('button', { name: 'I have saved it: hide' }).click();
    t.is(await page.getByLabel('Token', { exact: true }).count(), 0);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Add a user' }).waitFor();
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('row', { name: /acme-ci/ }).waitFor();
    t.false((await page.content()).includes(secret), 'the secret is not on the page any more');
    t.deepEqual(await rowNames(page, 'Named API tokens'), ['acme-ci'], "globex's token is not listed");
    // Revoked from the page (with its confirmation): the bearer is refused.
    await page.getByRole('button', { name: 'Revoke token acme-ci' }).click();
    await page.locator('#confirm-ok').click();
    await page.getByText('Token acme-ci revoked.').waitFor();
    await page.getByRole('row', { name: /acme-ci.*revoked/ }).waitFor();
    t.is(await page.getByRole('button', { name: 'Revoke token acme-ci' }).count(), 0);
    t.is((await stack.bearer('/api/v1/networks', secret)).status, 401);
    await browser.screenshot('4-token-revoked');
    await signOut(page);

    // The new user signs in with the password its admin set (the initial one no longer works): a
    // viewer now, no admin entry.
    await page.getByLabel('Name').fill('olga');
    await page.getByLabel('Password').fill('olga-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong name or password.').waitFor();
    await signIn(page, 'olga', 'olga-password-2');
    await page.getByRole('link', { name: 'API tokens' }).waitFor();
    t.is(await page.getByRole('link', { name: 'Users' }).count(), 0);
    await page.evaluate("location.hash = '#users'");
    await page.getByText("Only an organization's admin manages users.").waitFor();
    t.is(await page.getByRole('button', { name: 'Add user' }).count(), 0);
    await browser.screenshot('5-viewer-users-refused');
    // Its own calls to the admin routes, with its CSRF token, are refused by the API.
    const refused = await page.evaluate(async () => {
      const me = (await (await fetch('/api/v1/session')).json()) as { role: string; csrfToken: string };
      const h = { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken };
      const add = await fetch('/api/v1/users', {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ name: 'mallory', password: 'mallory-password', role: 'viewer' }),
      });
      const role = await fetch('/api/v1/users/olga/role', {
        method: 'PUT',
        headers: h,
        body: JSON.stringify({ role: 'admin' }),
      });
      const list = await fetch('/api/v1/users');
      return [me.role, add.status, role.status, list.status];
    });
    t.deepEqual(refused, ['viewer', 403, 403, 403]);
    // Its tokens page: its own tokens only, a viewer's at most.
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('heading', { name: 'Your API tokens' }).waitFor();
    await page.getByText('No API tokens yet.').waitFor();
    t.deepEqual(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents(), [
      'viewer',
    ]);
    await page.getByLabel('Name', { exact: true }).fill('olga-script');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Copy it now: you will not see it again.').waitFor();
    t.deepEqual(await rowNames(page, 'Named API tokens'), ['olga-script']);
    await signOut(page);

    // The other organization's admin: none of acme's users or tokens.
    await signIn(page, 'gil', 'gil-password-1');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Add a user' }).waitFor();
    t.deepEqual(await rowNames(page, 'Users of globex'), ['gil', 'gus']);
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('row', { name: /globex-ci/ }).waitFor();
    t.deepEqual(await rowNames(page, 'Named API tokens'), ['globex-ci']);
    // Nothing of acme's anywhere in the document (the confirmation dialog's last text included).
    const text = await page.content();
    for (const other of ['acme', 'olga'])
      t.false(text.includes(other), `globex's page names nothing of acme's (${other})`);
    t.false((await page.locator('main').innerText()).includes('ada'));
    await browser.screenshot('6-other-organization');
    await signOut(page);

    // Every state change went with a CSRF token (sign-in itself has none yet: it is what makes one).
    const unsigned = changes.filter((c) => c.path !== '/api/v1/session' || c.method !== 'POST');
    t.true(unsigned.length >= 6, JSON.stringify(changes));
    t.deepEqual(
      unsigned.filter((c) => !c.csrf),
      [],
    );
    t.false(
      ['olga-password-1', 'olga-password-2'].some((p) => stack.log().includes(p)),
      'no password logged',
    );
    t.false(stack.log().includes(secret), 'no token logged');
  } catch (err) {
    if (browser) {
      t.log(browser.console.join('\n'));
      await browser.screenshot('failure').catch(() => undefined);
    }
    t.log(stack.log());
    throw err;
  } finally {
    await browser?.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
