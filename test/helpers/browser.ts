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

export interface BrowserOptions {
  /** A Y4M video Chromium's fake camera plays (permission granted without a prompt). */
  fakeCamera?: string;
}

export async function startBrowser(artifactDir: string, opts: BrowserOptions = {}): Promise<Browser> {
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
      ...(opts.fakeCamera
        ? [
            '--use-fake-ui-for-media-stream',
            '--use-fake-device-for-media-stream',
            `--use-file-for-fake-video-capture=${opts.fakeCamera}`,
          ]
        : []),
    ],
    viewport: { width: 1280, height: 860 },
  });
  // CI may run at load 10 on 2 cores: Playwright's 30 s default for a wait or a click is a timing
  // assumption, not a check. Every wait here is for an event the test expects; a generous bound
  // only decides how long a real failure takes to report.
  context.setDefaultTimeout(180_000);
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

/**
 * A still picture as a Y4M video (YUV4MPEG2, 4:2:0, grey: U = V = 128) for Chromium's fake camera:
 * `rgba` is width x height x 4 bytes, drawn centred on a white frame of `frameWidth` x `frameHeight`.
 */
export function stillY4m(
  rgba: Uint8Array,
  width: number,
  height: number,
  frameWidth = 640,
  frameHeight = 480,
): Buffer {
  if (frameWidth % 2 || frameHeight % 2 || width > frameWidth || height > frameHeight) {
    throw new RangeError('frame must be even-sized and hold the picture');
  }
  const y = Buffer.alloc(frameWidth * frameHeight, 235);
  const ox = (frameWidth - width) >> 1;
  const oy = (frameHeight - height) >> 1;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = (r * width + c) * 4;
      const luma = 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
      y[(r + oy) * frameWidth + c + ox] = Math.round(16 + (luma * 219) / 255);
    }
  }
  const chroma = Buffer.alloc((frameWidth / 2) * (frameHeight / 2) * 2, 128);
  const header = `YUV4MPEG2 W${frameWidth} H${frameHeight} F5:1 Ip A1:1 C420jpeg\nFRAME\n`;
  return Buffer.concat([Buffer.from(header), y, chroma]);
}
