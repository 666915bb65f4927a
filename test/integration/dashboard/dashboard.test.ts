// The dashboard in a real headless Chromium: the
// real `enf-server start` process on loopback (temp state directory, SQLite registry, DAA
// verification workers, the XTT endpoint and the management listener), a network created and a batch registered from a QR label image through
// the UI, a device appearing live after a real XTT handshake (software keys), revoked through the UI
// with its confirmation dialog, and the next handshake refused. The CAs page of the PKI option: a CA
// made by openssl registered with proof of its key (refused first without it), its CRL uploaded,
// revoked through its confirmation dialog. Screenshots: test/artifacts/dashboard/.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { formatIpv6 } from '../../../server-stub/registry/ipv6.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import type { Locator } from 'playwright-core';
import { startBrowser, type Browser } from '../../helpers/browser.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { issue, makeCrl, makeRoot, revoke } from '../../helpers/openssl-ca.ts';
import { labelPng, TOKEN } from '../server-stub/http/_fixtures.ts';
import { managementArgs, startEnfServer } from '../server-stub/_enf-server.ts';
import { handshake, makeGroup, TestDevice } from '../server-stub/_xtt-devices.ts';

const test = suiteRequires('dashboard browser test', ['chromium']);

/** `enf-server start` as a real process with the management listener (the shared launcher). */
async function startStack(dir: string) {
  // What `enf-server init` leaves: key material and an empty registry (start creates none).
  createKeyMaterial(dir, systemRng);
  await SqliteRegistry.open(join(dir, 'registry.sqlite')).close();
  const tokens = join(dir, 'api-tokens');
  writeFileSync(tokens, `# dashboard test\n${TOKEN}\n`, { mode: 0o600 });
  const server = await startEnfServer(dir, managementArgs(tokens));
  const ports = { xtt: server.port, http: server.httpPort! };
  const url = `http://127.0.0.1:${ports.http}`;
  const api = async (path: string) =>
    (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<
      Record<string, unknown>
    >;
  return {
    url,
    xttPort: ports.xtt,
    root: new Uint8Array(readFileSync(join(dir, 'root_cert.bin'))),
    log: server.stderr,
    deviceStatus: async (identity: Uint8Array) =>
      (await api(`/api/v1/devices/${Buffer.from(identity).toString('hex')}`)).status,
    close: async () => {
      server.proc.kill('SIGTERM');
      return (await server.exited).code;
    },
  };
}

test('register a batch from a QR image, watch a device arrive, revoke it, see it refused', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-dashboard-'));
  const stack = await startStack(dir);
  let browser: Browser | undefined;
  try {
    browser = await startBrowser('dashboard');
    const { page } = browser;
    await page.goto(stack.url);

    // Sign in.
    await page.getByText('Sign in with an API token instead').click();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'Register a batch' }).waitFor();

    // A network.
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByRole('heading', { name: 'New network' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('plant-a');
    await page.getByLabel('IPv6 /64 prefix').fill('2001:db8:aa:1::/64');
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.getByRole('row', { name: /plant-a/ }).waitFor();
    await browser.screenshot('1-networks');

    // The batch, from a photo of its label.
    const group = makeGroup('line-7');
    const labelFile = join(dir, 'label.png');
    writeFileSync(labelFile, labelPng({ gpk: group.gpk, basename: group.basename, name: 'lot-42' }));
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByRole('heading', { name: 'Register a batch' }).waitFor();
    await page.getByLabel('Or upload a photo or scan of the label').setInputFiles(labelFile);
    await page.getByText('Label read: batch lot-42').first().waitFor();
    t.regex(await page.getByLabel('QR label text').inputValue(), /^XTT1:/);
    t.is(await page.getByLabel('Batch name').inputValue(), 'lot-42');
    await page.getByLabel('Issued size').fill('50');
    await browser.screenshot('2-batch-scanned');
    await page.getByRole('button', { name: 'Register batch' }).click();
    const row = page.getByRole('row', { name: /lot-42/ });
    await row.waitFor();
    // Registered without a network: associate it from the list.
    await page.getByLabel('Network for batch lot-42').selectOption('plant-a');
    await page.getByRole('button', { name: 'Associate batch lot-42' }).click();
    await page.getByText('Batch lot-42 now belongs to plant-a.').waitFor();
    t.is(await page.getByLabel('Network for batch lot-42').inputValue(), '');
    t.regex((await row.textContent()) ?? '', /plant-a.*active.*50.*0.*0/);
    await browser.screenshot('3-batch-registered');

    // A device handshakes; the devices page shows it without a reload.
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByText('No devices yet').waitFor();
    const device = new TestDevice(group.member());
    const first = await handshake(stack.xttPort, device, stack.root);
    if (!first.ok) return t.fail(`handshake failed: ${JSON.stringify(first)}`);
    const identity = formatIpv6(first.identity);
    const deviceRow = page.getByRole('row', { name: new RegExp(identity.replace(/[.:]/g, '\\$&')) });
    await deviceRow.waitFor({ timeout: 120_000 });
    t.regex((await deviceRow.textContent()) ?? '', /lot-42.*active/);
    await page.getByRole('status').filter({ hasText: 'provisioned' }).waitFor();
    await browser.screenshot('4-device-arrived');

    // The device's page.
    await page.getByRole('link', { name: identity }).click();
    await page.getByRole('heading', { name: `Device ${identity}` }).waitFor();
    t.true(await page.getByRole('cell', { name: '127.0.0.1', exact: true }).isVisible());
    const facts = (await page.locator('dl.facts').textContent()) ?? '';
    t.regex(facts, /Pseudonym04[0-9a-f]{128}/);
    t.regex(facts, /Batchlot-42/);
    t.notRegex((await page.locator('main').textContent()) ?? '', /\[object /);
    await browser.screenshot('5-device-page');

    // Revoke: cancel first (nothing changes), then confirm.
    await page.getByRole('button', { name: 'Revoke device' }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke device ${identity}?` });
    await dialog.waitFor();
    await browser.screenshot('6-revoke-confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    t.is(await stack.deviceStatus(first.identity), 'active');
    await page.getByRole('button', { name: 'Revoke device' }).click();
    await dialog.getByRole('button', { name: 'Revoke device' }).click();
    await page.getByText(`Device ${identity} revoked.`).waitFor();
    t.is(await stack.deviceStatus(first.identity), 'revoked');

    // The next handshake is refused, and the audit page says why.
    const again = await handshake(stack.xttPort, device, stack.root);
    t.false(again.ok);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByRole('cell', { name: 'device-revoked' }).waitFor();
    await browser.screenshot('7-audit');
    // Filters: outcome, and a time after everything hides every entry.
    await page.getByLabel('Outcome').selectOption('provisioned');
    await page.getByRole('cell', { name: 'device-revoked' }).waitFor({ state: 'detached' });
    t.true(await page.getByRole('cell', { name: 'new-device' }).isVisible());
    await page.getByLabel('Since').fill('2999-01-01T00:00');
    await page.getByRole('cell', { name: 'new-device' }).waitFor({ state: 'detached' });
    t.deepEqual(
      browser.console.filter((l) => l.startsWith('error') || l.startsWith('pageerror')),
      [],
    );
  } catch (err) {
    if (browser) {
      await browser.screenshot('failure').catch(() => undefined);
      t.log(browser.console.join('\n'));
    }
    throw err;
  } finally {
    await browser?.close();
    t.is(await stack.close(), 0, 'enf-server stops cleanly on SIGTERM');
    t.notRegex(stack.log(), new RegExp(TOKEN), 'the API token is never logged');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Waits until an element's text matches (bounded). */
async function untilText(node: Locator, re: RegExp, boundMs = 180_000): Promise<void> {
  const text = async () => ((await node.textContent()) ?? '').trim();
  for (let waited = 0; !re.test(await text()); waited += 100) {
    if (waited >= boundMs) throw new Error(`text never matched ${re}: ${await text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until a form field's value matches (the page fills some fields asynchronously). */
async function untilValue(field: Locator, re: RegExp, boundMs = 180_000): Promise<void> {
  for (let waited = 0; !re.test(await field.inputValue()); waited += 100) {
    if (waited >= boundMs) throw new Error(`field value never matched ${re}: ${await field.inputValue()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('CAs page: register a CA with proof of its key, upload its CRL, revoke it', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-dashboard-ca-'));
  const stack = await startStack(dir);
  const cas = async () =>
    (
      (await (
        await fetch(`${stack.url}/api/v1/cas`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { items: { name: string; status: string; verified: boolean; crlEntries: number }[] }
    ).items;
  let browser: Browser | undefined;
  try {
    browser = await startBrowser('dashboard-ca');
    const { page } = browser;
    await page.goto(stack.url);
    await page.getByText('Sign in with an API token instead').click();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'Register a batch' }).waitFor();
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByLabel('Name', { exact: true }).fill('plant-b');
    await page.getByLabel('IPv6 /64 prefix').fill('2001:db8:bb:1::/64');
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.getByRole('row', { name: /plant-b/ }).waitFor();

    const root = makeRoot(dir, 'acme-root');
    await page.getByRole('link', { name: 'CAs' }).click();
    await page.getByRole('heading', { name: 'Register a CA' }).waitFor();
    await page.getByText('No CAs yet.').waitFor();
    await page.getByLabel('Or choose the CA certificate file').setInputFiles(root.certPath);
    // The page reads the chosen file asynchronously (FileReader) into the text field.
    await untilValue(page.getByLabel('CA certificate (PEM)'), /BEGIN CERTIFICATE/);
    t.regex(await page.getByLabel('CA certificate (PEM)').inputValue(), /BEGIN CERTIFICATE/);

    // Without proof and without saying so: refused, naming the field; nothing stored.
    await page.getByRole('button', { name: 'Register CA' }).click();
    await page.getByRole('status').filter({ hasText: '(verificationCertificate)' }).waitFor();
    t.deepEqual(await cas(), []);

    // The registration code, a verification certificate the CA signs for it, registration.
    await page.getByRole('button', { name: 'Get registration code' }).click();
    await page.getByRole('status').filter({ hasText: 'Registration code' }).waitFor();
    // The code field shows it too (waited for, not read once: a CI run under load read it empty once,
    // while the failure screenshot shows it there).
    await untilText(page.locator('#ca-code'), /^[0-9a-f]{32}$/);
    const code = ((await page.locator('#ca-code').textContent()) ?? '').trim();
    t.regex(code, /^[0-9a-f]{32}$/);
    const proof = issue(root, join(dir, 'proof'), code, { ext: 'basicConstraints=CA:false' });
    await page.getByLabel('Or choose the verification certificate file').setInputFiles(proof.certPath);
    await untilValue(page.getByLabel('Verification certificate (PEM)'), /BEGIN CERTIFICATE/);
    await page.getByLabel('Device quota').fill('25');
    await browser.screenshot('ca-1-form');
    await page.getByRole('button', { name: 'Register CA' }).click();
    const row = page.getByRole('row', { name: /acme-root/ });
    await row.waitFor();
    t.regex((await row.textContent()) ?? '', /CN=acme-root.*plant-b.*active.*yes.*0 \(0 revoked\)/);
    t.like((await cas())[0], { name: 'acme-root', status: 'active', verified: true });
    await browser.screenshot('ca-2-registered');

    // Its CRL.
    const leaf = issue(root, dir, 'gw-9');
    revoke(root, leaf);
    const crl = makeCrl(root);
    await page.getByLabel('CRL for CA acme-root').setInputFiles(crl.pemPath);
    await page.getByText('CRL for acme-root: 1 revoked serial(s).').waitFor();
    t.is((await cas())[0]!.crlEntries, 1);

    // Revoke: cancel first (nothing changes), then confirm.
    await page.getByRole('button', { name: 'Revoke CA acme-root' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke CA acme-root?' });
    await dialog.waitFor();
    await browser.screenshot('ca-3-revoke-confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    t.is((await cas())[0]!.status, 'active');
    await page.getByRole('button', { name: 'Revoke CA acme-root' }).click();
    await dialog.getByRole('button', { name: 'Revoke CA' }).click();
    await page.getByText('CA acme-root revoked.').waitFor();
    t.is((await cas())[0]!.status, 'revoked');
    t.regex((await page.getByRole('row', { name: /acme-root/ }).textContent()) ?? '', /revoked/);
    // The one refused registration is the only failed request.
    t.deepEqual(
      browser.console.filter((l) => l.startsWith('error') || l.startsWith('pageerror')),
      ['error: Failed to load resource: the server responded with a status of 400 (Bad Request)'],
    );
  } catch (err) {
    if (browser) {
      await browser.screenshot('ca-failure').catch(() => undefined);
      t.log(browser.console.join('\n'));
    }
    throw err;
  } finally {
    await browser?.close();
    t.is(await stack.close(), 0, 'enf-server stops cleanly on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
