// Signing in to the dashboard in a real headless Chromium, against the real `enf-server start`
// process (SQLite on disk): a wrong password refused with a message, a customer admin signed in by
// name and password (HttpOnly cookie: the page's script cannot read it), a page on another origin
// that tries to create a network with the browser's cookie refused (nothing created), a viewer who
// sees no control that changes things and whose own API call to change one is refused, sign-out,
// and a session that ends after --session-idle-timeout unused. Screenshots: test/artifacts/sign-in/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { addUser } from '../../../server-stub/http/accounts.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { startBrowser, type Browser } from '../../helpers/browser.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { managementArgs, startEnfServer } from '../server-stub/_enf-server.ts';
import { TOKEN } from '../server-stub/http/_fixtures.ts';

const test = suiteRequires('dashboard sign-in browser test', ['chromium']);
/** Long enough that no pause between two requests of a busy test reaches it, short enough to wait out. */
const IDLE_S = 45;

async function startStack(dir: string) {
  createKeyMaterial(dir, systemRng);
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const acme = (await registry.addOrganization({ name: 'acme' })).id;
  await registry.addNetwork({ name: 'acme-plant', prefix: '2001:db8:ac::/64' }, acme);
  await addUser(registry, { name: 'ada', password: 'ada-password-1', role: 'admin', organizationId: acme });
  await addUser(registry, { name: 'vic', password: 'vic-password-1', role: 'viewer', organizationId: acme });
  await registry.close();
  const tokens = join(dir, 'api-tokens');
  writeFileSync(tokens, `${TOKEN}\n`, { mode: 0o600 });
  const server = await startEnfServer(dir, [
    ...managementArgs(tokens),
    '--session-idle-timeout',
    String(IDLE_S),
  ]);
  const url = `http://127.0.0.1:${server.httpPort!}`;
  return {
    url,
    log: server.stderr,
    networks: async () =>
      (
        (await (
          await fetch(`${url}/api/v1/networks`, { headers: { authorization: `Bearer ${TOKEN}` } })
        ).json()) as {
          items: { name: string }[];
        }
      ).items.map((n) => n.name),
    close: async () => {
      server.proc.kill('SIGTERM');
      return (await server.exited).code;
    },
  };
}

/** Another origin on loopback whose page tries to create a network on `target` with the browser's cookie. */
async function attackerSite(target: string) {
  const page = `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/api/v1/networks" enctype="text/plain" target="sink">
<input name='{"name":"evil-form","prefix":"2001:db8:e1::/64","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
  const body = JSON.stringify({ name: 'evil-fetch', prefix: '2001:db8:e2::/64' });
  Promise.allSettled([
    fetch('${target}/api/v1/networks', { method: 'POST', mode: 'no-cors', credentials: 'include', body }),
    fetch('${target}/api/v1/networks', {
      method: 'POST', credentials: 'include', body, headers: { 'content-type': 'application/json' },
    }),
  ]).then(() => { document.getElementById('f').submit(); setTimeout(() => { document.title = 'done'; }, 500); });
</script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    // localhost, not 127.0.0.1: another origin (and another port), the same site.
    url: `http://localhost:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('sign in by password; cross-origin forgery refused; a viewer sees no changing control and is refused; idle sessions end', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-sign-in-'));
  const stack = await startStack(dir);
  const attacker = await attackerSite(stack.url);
  let browser: Browser | undefined;
  try {
    browser = await startBrowser('sign-in');
    const { page } = browser;
    await page.goto(stack.url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    // A wrong password: refused, said so, still on the form.
    await page.getByLabel('Name').fill('ada');
    await page.getByLabel('Password').fill('not her password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong name or password.').waitFor();
    await browser.screenshot('1-wrong-password');

    // The right one: the admin sees the controls of its organization.
    await page.getByLabel('Password').fill('ada-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Register a batch' }).waitFor();
    t.is(await page.evaluate('document.cookie'), '', 'the session cookie is HttpOnly');
    const cookies = await browser.context.cookies(stack.url);
    t.like(
      cookies.find((c) => c.name === 'enf_session'),
      { httpOnly: true, sameSite: 'Strict' },
    );
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByRole('row', { name: /acme-plant/ }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('acme-line-2');
    await page.getByLabel('IPv6 /64 prefix').fill('2001:db8:ad::/64');
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.getByRole('row', { name: /acme-line-2/ }).waitFor();
    await browser.screenshot('2-admin-networks');

    // Another origin's page, in the same browser with the cookie, tries to create networks.
    const evil = await browser.context.newPage();
    await evil.goto(attacker.url);
    await evil.waitForFunction('document.title === "done"');
    await evil.close();
    const names = await stack.networks();
    t.deepEqual(
      names.filter((n) => n.startsWith('evil')),
      [],
      'nothing was created by the forged requests',
    );
    t.true(names.includes('acme-line-2'));

    // Sign out; the viewer signs in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Name').fill('vic');
    await page.getByLabel('Password').fill('vic-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where the admin left off (#networks), then to the batches.
    await page.getByRole('row', { name: /acme-line-2/ }).waitFor();
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByRole('heading', { name: 'Batches' }).waitFor();
    t.is(await page.getByRole('heading', { name: 'Register a batch' }).count(), 0);
    t.is(await page.getByRole('button', { name: 'Register batch' }).count(), 0);
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByRole('row', { name: /acme-line-2/ }).waitFor();
    t.is(await page.getByRole('button', { name: 'Create network' }).count(), 0);
    t.is(await page.getByRole('button', { name: /^Delete network/ }).count(), 0);
    await browser.screenshot('3-viewer-networks');
    // Its own call, with the session's CSRF token, is refused by the API.
    const status = await page.evaluate(async () => {
      const me = (await (await fetch('/api/v1/session')).json()) as { role: string; csrfToken: string };
      const r = await fetch('/api/v1/networks', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ name: 'by-viewer', prefix: '2001:db8:ae::/64' }),
      });
      return [me.role, r.status];
    });
    t.deepEqual(status, ['viewer', 403]);

    // Unused for longer than the idle timeout: the next step asks to sign in again.
    await new Promise((r) => setTimeout(r, (IDLE_S + 2) * 1000));
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByText('Your session has ended; sign in again.').first().waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await browser.screenshot('4-session-ended');
    t.false(
      stack.log().includes('vic-password-1') || stack.log().includes('ada-password-1'),
      'no password logged',
    );
  } catch (err) {
    if (browser) {
      t.log(browser.console.join('\n'));
      await browser.screenshot('failure').catch(() => undefined);
    }
    t.log(stack.log());
    throw err;
  } finally {
    await browser?.close();
    await attacker.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
