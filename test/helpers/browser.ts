// Headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by playwright-core
// (no browser download), a fresh profile in a temp dir, no network features that would reach out
// (QUIC, background networking, component updates, sync). Closed and cleaned up by the caller.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots and logs of browser tests (gitignored). */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console messages and page errors, for failure reports. */
  console: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startBrowser(artifactDir: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'enf-chromium-'));
  const out = join(ARTIFACTS, artifactDir);
  mkdirSync(out, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    console,
    screenshot: async (name) => {
      const file = join(out, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
