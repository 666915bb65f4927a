// The dashboard's overview page in a real headless Chromium against the management API over a SQLite
// registry seeded with two organizations: devices provisioned on three different days (a clock the
// test moves), refusals and failures from located sources, batches part-filled. The drawn SVG is
// read back: the columns per day, the bars per outcome and reason, the quota bars and the place bars
// carry the seeded counts; each chart has its text alternative; and each organization's page shows
// nothing of the other's. Screenshots: test/artifacts/overview/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startManagementServer } from '../../../server-stub/http/index.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import type { Registry } from '../../../server-stub/registry/registry.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { startBrowser, type Browser } from '../../helpers/browser.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { freshGpk } from '../server-stub/http/_fixtures.ts';

const test = suiteRequires('dashboard overview browser test', ['chromium']);

const DAY = 86_400_000;
const enc = (s: string) => new TextEncoder().encode(s);
const SUPER = 'overview-superadmin-token-0123';
const ACME = 'overview-acme-viewer-token-0123';
const GLOBEX = 'overview-globex-viewer-token-01';
const today = Math.floor(Date.now() / DAY) * DAY;
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The figures seeded, which the pages must draw. */
const ACME_DAYS = [
  { day: today - 4 * DAY, devices: 2 },
  { day: today - 2 * DAY, devices: 3 },
  { day: today, devices: 1 },
];

async function seed(registry: Registry, clock: { t: number }) {
  const acme = (await registry.addOrganization({ name: 'acme' })).id;
  const globex = (await registry.addOrganization({ name: 'globex' })).id;
  await registry.addNetwork({ name: 'acme-net', prefix: '2001:db8:a::/64' }, acme);
  await registry.addNetwork({ name: 'globex-net', prefix: '2001:db8:b::/64' }, globex);
  const batch = (org: number, name: string, network: string, size: number) =>
    registry.addBatch({ gpk: freshGpk(), basename: enc(name), name, network, size }, org);
  const acmeLot = await batch(acme, 'acme-lot', 'acme-net', 10);
  await batch(acme, 'acme-spare', 'acme-net', 4);
  const globexLot = await batch(globex, 'globex-lot', 'globex-net', 8);
  const geo = { locate: (a: string) => (a.startsWith('198.51.100.') ? 'DE Berlin' : 'FR Paris') };
  const policy = new IdentityPolicy(registry, { geo });
  let n = 0;
  const provision = async (gid: Uint8Array, address: string) => {
    const p = new Uint8Array(65).fill(4);
    new DataView(p.buffer).setUint32(1, ++n);
    const got = await policy.assignIdentity({
      gid,
      pseudonym: p,
      longtermPublicKey: p,
      requestedId: null,
      suite: 1,
      source: { address, port: 1000 + n },
    });
    if (!got.ok) throw new Error(got.reason);
  };
  for (const d of ACME_DAYS) {
    clock.t = d.day + 3_600_000;
    for (let i = 0; i < d.devices; i++) await provision(acmeLot.gid, '198.51.100.7');
  }
  clock.t = today + 7_200_000;
  await provision(globexLot.gid, '203.0.113.9');
  // Two refusals (quota) from Berlin and one failure from Paris, in acme's batch.
  const refusal = (outcome: 'refused' | 'failed', reason: string, address: string) =>
    registry.appendAudit({
      sourceAddress: address,
      sourcePort: 5000,
      gid: acmeLot.gid,
      pseudonym: null,
      suite: 1,
      outcome,
      reason,
      geolocation: geo.locate(address),
      identity: null,
    });
  await refusal('refused', 'quota-exceeded', '198.51.100.8');
  await refusal('refused', 'quota-exceeded', '198.51.100.9');
  await refusal('failed', 'bad-signature', '192.0.2.1');
}

/** What one chart drew: each data bar's label and value. */
async function bars(page: Page, section: string): Promise<Record<string, number>> {
  const rects = page.locator(`section[aria-labelledby="${section}"] svg.chart rect.bar:not(.empty)`);
  const out: Record<string, number> = {};
  for (const r of await rects.all()) {
    out[(await r.getAttribute('data-label'))!] = Number(await r.getAttribute('data-value'));
  }
  return out;
}

async function signIn(page: Page, url: string, token: string) {
  await page.goto(url);
  await page.getByText('Sign in with an API token instead').click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Use token' }).click();
  // Viewers' tokens: the batches list, without the register form (not shown to viewers).
  await page.getByRole('heading', { name: 'Batches', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { name: 'Where handshakes came from' }).waitFor();
}

test('overview: charts drawn from the API match the seeded figures; two organizations never see each other', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-overview-'));
  const clock = { t: Date.now() };
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'), { clock: { now: () => clock.t } });
  await seed(registry, clock);
  const server = await startManagementServer({
    registry,
    port: 0,
    tokens: [
      enc(SUPER),
      { token: enc(ACME), org: 'acme', role: 'viewer' },
      { token: enc(GLOBEX), org: 'globex', role: 'viewer' },
    ],
  });
  let browser: Browser | undefined;
  try {
    browser = await startBrowser('overview');
    const { page } = browser;

    // acme's viewer.
    await signIn(page, server.url, ACME);
    t.deepEqual(
      await bars(page, 'ov-provisioned'),
      Object.fromEntries(ACME_DAYS.map((d) => [dayText(d.day), d.devices])),
    );
    // 30 columns, one per day of the window, the empty ones included.
    t.is(await page.locator('section[aria-labelledby="ov-provisioned"] svg.chart rect.bar').count(), 30);
    const handshakes = await bars(page, 'ov-handshakes');
    t.is(handshakes['refused: quota-exceeded'], 2);
    t.is(handshakes['failed: bad-signature'], 1);
    const provisioned = Object.entries(handshakes).filter(([k]) => k.startsWith('provisioned: '));
    t.is(
      provisioned.reduce((s, [, v]) => s + v, 0),
      6,
      'one provisioned handshake per device',
    );
    t.deepEqual(await bars(page, 'ov-batches'), { 'acme-lot': 6, 'acme-spare': 0 });
    // The quota outlines: one per batch, the empty one included.
    t.is(await page.locator('section[aria-labelledby="ov-batches"] svg rect.quota').count(), 2);
    await page.getByText('6 / 10 (60%)', { exact: true }).waitFor();
    await page.getByText('0 / 4 (0%)', { exact: true }).waitFor();
    t.deepEqual(await bars(page, 'ov-places'), { 'DE Berlin': 8, 'FR Paris': 1 });
    // Text alternatives: every chart is an image with a summary naming its figures, and the table.
    for (const svg of await page.locator('svg.chart').all()) {
      t.is(await svg.getAttribute('role'), 'img');
      t.truthy(await svg.getAttribute('aria-label'));
    }
    t.regex(
      (await page.locator('section[aria-labelledby="ov-provisioned"] svg.chart').getAttribute('aria-label'))!,
      /^6 devices provisioned in acme over the last 30 days; most on \S+ \(3\)$/,
    );
    await page.getByRole('cell', { name: 'DE Berlin' }).waitFor();
    // Patterns, not only colour: refusals and successes are filled differently.
    const fillOf = async (label: string) =>
      (await page.locator(`rect.bar[data-label="${label}"]`).getAttribute('fill'))!.replace(/chart\d+-/, '');
    t.not(await fillOf('refused: quota-exceeded'), await fillOf(provisioned[0]![0]));
    const acmeText = await page.locator('main').innerText();
    t.false(/globex/i.test(acmeText), 'acme sees nothing of globex');
    await browser.screenshot('acme-overview');

    // globex's viewer: only its own batch, device and place.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, server.url, GLOBEX);
    t.deepEqual(await bars(page, 'ov-provisioned'), { [dayText(today)]: 1 });
    t.deepEqual(await bars(page, 'ov-batches'), { 'globex-lot': 1 });
    t.deepEqual(await bars(page, 'ov-places'), { 'FR Paris': 1 });
    const globexText = await page.locator('main').innerText();
    t.false(/acme|Berlin|quota-exceeded/i.test(globexText), 'globex sees nothing of acme');
    await browser.screenshot('globex-overview');

    // The superadmin picks an organization; all of them by default.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, server.url, SUPER);
    t.deepEqual(await bars(page, 'ov-batches'), { 'acme-lot': 6, 'acme-spare': 0, 'globex-lot': 1 });
    await page.getByRole('combobox', { name: 'Organization' }).selectOption('globex');
    await page.locator('rect.bar[data-label="acme-lot"]').waitFor({ state: 'detached' });
    t.deepEqual(await bars(page, 'ov-batches'), { 'globex-lot': 1 });
    await browser.screenshot('superadmin-globex');
  } catch (err) {
    if (browser) t.log(browser.console.join('\n'));
    throw err;
  } finally {
    await browser?.close();
    await server.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
