// factory/label.ts: the QR label decodes (jsQR on the PNG, decoded with pngjs) back to the exact GPK,
// basename and name; the SVG and terminal renderings carry the same QR code and the caption.
import test from 'ava';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelCaption, pngCaptionLines, renderLabel, writeLabel } from '../../../factory/label.ts';
import { drawText, GLYPH_ADVANCE, glyphFor } from '../../../factory/label-font.ts';
import { decodeQrPayload } from '../../../protocol/qr-payload.ts';

function input(seed: number): { gpk: Uint8Array; basename: Uint8Array; name: string; gid: string } {
  const gpk = new Uint8Array(258);
  for (let i = 0; i < gpk.length; i++) gpk[i] = (i * 131 + seed * 17) & 0xff;
  gpk[0] = 0x04;
  return {
    gpk,
    basename: new TextEncoder().encode('BASENAME'),
    name: `lot-${seed} Ünïcode`,
    gid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  };
}

// jsqr is CommonJS: module.exports is the function (its .d.ts declares it as `default`).
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

function scan(png: Buffer): string {
  const img = PNG.sync.read(png);
  const hit = jsQR(
    new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length),
    img.width,
    img.height,
  );
  if (!hit) throw new Error('jsQR found no QR code');
  return new TextDecoder().decode(Uint8Array.from(hit.binaryData));
}

test('PNG label scans back to the exact GPK, basename and name', async (t) => {
  for (const seed of [1, 2, 3]) {
    const inp = input(seed);
    const label = await renderLabel(inp);
    const text = scan(label.png);
    t.is(text, label.payload);
    const back = decodeQrPayload(text);
    t.deepEqual(back.gpk, inp.gpk);
    t.deepEqual(back.basename, inp.basename);
    t.is(back.name, inp.name);
  }
});

test('a label of a different GPK scans to different bytes (the scan is not vacuous)', async (t) => {
  const a = decodeQrPayload(scan((await renderLabel(input(1))).png));
  const b = decodeQrPayload(scan((await renderLabel(input(2))).png));
  t.notDeepEqual(a.gpk, b.gpk);
});

test('caption shows batch name and a short gid; SVG and terminal renderings carry it', async (t) => {
  const inp = input(4);
  const label = await renderLabel(inp);
  t.is(label.caption, labelCaption(inp.name, inp.gid));
  t.regex(label.caption, /^batch lot-4 Ünïcode {2}gid a1b2c3d4e5f60718$/);
  t.true(label.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(label.svg.includes('gid a1b2c3d4e5f60718'));
  t.true(label.terminal.endsWith(`${label.caption}\n`));
  t.regex(label.terminal, /[█▀▄]/);
  t.true(label.version >= 10, 'a ~400-character payload needs a large QR version');
});

test('SVG escapes a name with markup characters', async (t) => {
  const label = await renderLabel({ ...input(5), name: '<b>&"x"' });
  t.false(label.svg.includes('<b>'));
  t.true(label.svg.includes('&#60;b&#62;&#38;&#34;x&#34;'));
});

test('writeLabel writes PNG, SVG and text files that match the rendering', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'label-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const label = await renderLabel(input(6));
  const paths = writeLabel(dir, label);
  t.deepEqual(readFileSync(paths.png), label.png);
  t.is(readFileSync(paths.svg, 'utf8'), label.svg);
  t.is(readFileSync(paths.terminal, 'utf8'), label.terminal);
  // Re-rendering over an existing label is allowed (derived data).
  writeLabel(dir, label);
  t.is(scan(readFileSync(paths.png)), label.payload);
});

test('renderLabel rejects a GPK of the wrong length (protocol/qr-payload rule)', async (t) => {
  await t.throwsAsync(renderLabel({ ...input(7), gpk: new Uint8Array(257) }), { instanceOf: RangeError });
});

/** Dark pixels per row band below the code (the caption), as a fingerprint of what was drawn. */
function captionPixels(png: Buffer): { width: number; height: number; dark: number[] } {
  const img = PNG.sync.read(png);
  const dark: number[] = [];
  // The code is square: everything below `width` rows is the caption band.
  for (let y = img.width; y < img.height; y++) {
    for (let x = 0; x < img.width; x++)
      if (img.data[(y * img.width + x) * 4] === 0) dark.push(y * img.width + x);
  }
  return { width: img.width, height: img.height, dark };
}

test('PNG carries the caption (batch name, short gid) drawn below the code', async (t) => {
  const a = captionPixels((await renderLabel(input(8))).png);
  t.true(a.height > a.width, 'a caption band below the square code');
  t.true(a.dark.length > 100, 'the caption band holds text');
  const b = captionPixels((await renderLabel({ ...input(8), name: 'another name' })).png);
  t.notDeepEqual(a.dark, b.dark, 'a different name draws different text');
  t.deepEqual(pngCaptionLines('lot-1', 'ab'.repeat(32)), ['BATCH lot-1', 'GID abababababababab']);
});

test('label font: lower case prints as upper case, unknown characters as ?', (t) => {
  t.deepEqual(glyphFor('a'), glyphFor('A'));
  t.deepEqual(glyphFor('€'), glyphFor('?'));
  t.notDeepEqual(glyphFor('A'), glyphFor('B'));
  const dots: string[] = [];
  drawText('-', (x, y) => dots.push(`${x},${y}`));
  t.deepEqual(dots, ['0,3', '1,3', '2,3', '3,3', '4,3']);
  const second: number[] = [];
  drawText(' I', (x) => second.push(x));
  t.true(
    second.every((x) => x >= GLYPH_ADVANCE),
    'the second character starts one advance to the right',
  );
});

/** Rasterises a module matrix (true = dark) with a 4-module quiet zone, 4 px per module, and scans it. */
function scanMatrix(rows: boolean[][]): string {
  const n = rows.length;
  const scale = 4;
  const side = (n + 8) * scale;
  const data = new Uint8ClampedArray(side * side * 4).fill(255);
  rows.forEach((row, r) =>
    row.forEach((isDark, c) => {
      if (!isDark) return;
      for (let y = 0; y < scale; y++) {
        for (let x = 0; x < scale; x++) {
          const i = (((r + 4) * scale + y) * side + (c + 4) * scale + x) * 4;
          data[i] = data[i + 1] = data[i + 2] = 0;
        }
      }
    }),
  );
  const hit = jsQR(data, side, side);
  if (!hit) throw new Error('jsQR found no QR code');
  return new TextDecoder().decode(Uint8Array.from(hit.binaryData));
}

test('the SVG rendering scans to the same payload', async (t) => {
  const label = await renderLabel(input(9));
  const cells = [...label.svg.matchAll(/M(\d+) (\d+)h1v1h-1z/g)].map((m) => [
    Number(m[2]) - 4,
    Number(m[1]) - 4,
  ]);
  const n = Math.max(...cells.map(([r]) => r!)) + 1;
  const rows = Array.from({ length: n }, () => Array<boolean>(n).fill(false));
  for (const [r, c] of cells) rows[r!]![c!] = true;
  t.is(scanMatrix(rows), label.payload);
});

test('the terminal rendering scans to the same payload', async (t) => {
  const label = await renderLabel(input(10));
  // Each character is two modules stacked: █ both dark, ▀ top, ▄ bottom, space neither.
  const lines = label.terminal.split('\n').filter((l) => /[█▀▄]/.test(l));
  const rows: boolean[][] = [];
  for (const line of lines) {
    const chars = [...line];
    rows.push(chars.map((ch) => ch === '█' || ch === '▀'));
    rows.push(chars.map((ch) => ch === '█' || ch === '▄'));
  }
  // Trim the quiet zone the renderer drew (blank columns and rows).
  const used = (xs: boolean[]): boolean => xs.some(Boolean);
  const top = rows.findIndex(used);
  const bottom = rows.length - [...rows].reverse().findIndex(used);
  const cols = rows[0]!.map((_, c) => rows.some((r) => r[c]));
  const left = cols.indexOf(true);
  const right = cols.lastIndexOf(true) + 1;
  const grid = rows.slice(top, bottom).map((r) => r.slice(left, right));
  t.is(scanMatrix(grid), label.payload);
});
