// "Scan QR with camera" in a real headless Chromium whose fake camera plays a picture of the label
// (a Y4M made from the label PNG): getUserMedia works, and without BarcodeDetector (absent on
// desktop Linux) the page sends camera frames as PNG to /api/v1/labels/scan until one decodes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startBrowser, stillY4m, type Browser } from '../../helpers/browser.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { freshGpk, labelPng, startApi, TOKEN } from '../server-stub/http/_fixtures.ts';

const test = suiteRequires('dashboard camera scan', ['chromium']);

test('the camera scan fills the form from the label seen by the camera', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-camera-'));
  const api = await startApi();
  let browser: Browser | undefined;
  try {
    const label = { gpk: freshGpk(), basename: new TextEncoder().encode('line-9'), name: 'lot-cam' };
    const png = PNG.sync.read(labelPng(label, 4));
    const video = join(dir, 'label.y4m');
    writeFileSync(video, stillY4m(new Uint8Array(png.data), png.width, png.height));
    browser = await startBrowser('camera-scan', { fakeCamera: video });
    const { page } = browser;
    await page.goto(api.server.url);
    await page.getByText('Sign in with an API token instead').click();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'Register a batch' }).waitFor();
    const hasDetector = await page.evaluate(() => 'BarcodeDetector' in globalThis);
    t.log(`BarcodeDetector available: ${hasDetector}`);
    await page.getByRole('button', { name: 'Scan QR with camera' }).click();
    await page.getByText('Label read: batch lot-cam').first().waitFor({ timeout: 120_000 });
    t.regex(await page.getByLabel('QR label text').inputValue(), /^XTT1:/);
    if (!hasDetector) t.is(await page.getByLabel('Batch name').inputValue(), 'lot-cam');
    t.true(await page.getByLabel('Camera preview').isHidden(), 'the camera stops after a read');
    await browser.screenshot('1-scanned-by-camera');
    t.is((await api.registry.listBatches()).length, 0, 'scanning registers nothing');
    t.deepEqual(
      browser.console.filter((l) => l.startsWith('error') || l.startsWith('pageerror')),
      [],
    );
  } finally {
    await browser?.close();
    await api.done();
    rmSync(dir, { recursive: true, force: true });
  }
});
