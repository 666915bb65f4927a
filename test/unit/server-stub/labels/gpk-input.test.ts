// What `enf-server batch add` reads a label from (server-stub/labels/gpk-input.ts, label-raster.ts): the
// three files xtt-factory writes (label.png and label.svg with --qr-image, label.txt with
// --qr-text @FILE) give the batch's label; a bad file is refused with an InputFileError that names
// the file exactly as given (no suffix added) and says plainly what is wrong, never a decoder's
// internal message.
import test from 'ava';
import { MissingFileError } from '../../../../common/cli.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { createIssuer, encodeGroupPublicKey } from '../../../../protocol/ecdaa/index.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { renderLabel, writeLabel } from '../../../../factory/label.ts';
import {
  InputFileError,
  labelFromImage,
  labelFromTextArgument,
} from '../../../../server-stub/labels/gpk-input.ts';
import { pngBomb } from '../../../helpers/image-bomb.ts';

const gpk = encodeGroupPublicKey(createIssuer(systemRng).publicKey.gpk);
const basename = new TextEncoder().encode('BASENAME');
const gid = 'ab'.repeat(32); // only the caption shows it

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gpk-input-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("the factory's label.png, label.svg and label.txt all give the batch's label", async (t) => {
  const dir = scratch(t);
  writeLabel(dir, await renderLabel({ gpk, basename, name: 'lot-7', gid }));
  for (const label of [
    labelFromImage(join(dir, 'label.png')),
    labelFromImage(join(dir, 'label.svg')),
    labelFromTextArgument(`@${join(dir, 'label.txt')}`),
  ]) {
    t.deepEqual(label.gpk, gpk);
    t.deepEqual(label.basename, basename);
    t.is(label.name, 'lot-7');
  }
  // label.txt with its trailing spaces trimmed and Windows line ends still reads.
  const txt = (await renderLabel({ gpk, basename, name: 'lot-8', gid })).terminal;
  const trimmed = join(dir, 'trimmed.txt');
  writeFileSync(
    trimmed,
    txt
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\r\n'),
  );
  t.is(labelFromTextArgument(`@${trimmed}`).name, 'lot-8');
  // @FILE holding the label text itself.
  const text = join(dir, 'label-text');
  writeFileSync(text, `${(await renderLabel({ gpk, basename, name: 'lot-9', gid })).payload}\n`);
  t.is(labelFromTextArgument(`@${text}`).name, 'lot-9');
});

test('bad label files: the file as given and what is wrong with it, in plain words', async (t) => {
  const dir = scratch(t);
  writeLabel(dir, await renderLabel({ gpk, basename, name: 'lot-7', gid }));
  const full = new Uint8Array(
    await QRCode.toBuffer('https://example.com/not-a-label', { type: 'png', margin: 4, scale: 4 }),
  );
  const blank = new PNG({ width: 64, height: 64 });
  blank.data.fill(0xff);
  const files: Record<string, Uint8Array | string> = {
    'garbage.png': systemRng.bytes(100),
    'truncated.png': new Uint8Array(
      await QRCode.toBuffer('XTT1:x', { type: 'png', margin: 4, scale: 4 }),
    ).subarray(0, 120),
    'noqr.png': new Uint8Array(PNG.sync.write(blank)),
    'url.png': full,
    'bomb.png': pngBomb(16000, 16000),
    'drawing.svg': '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>',
    'curves.svg':
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path fill="#000" d="M1 1c2 2 3 3 4 4z"/></svg>',
    'notes.txt': 'just some notes\n',
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  const cases: [() => unknown, string, RegExp][] = [
    [() => labelFromImage(join(dir, 'garbage.png')), 'garbage.png', /not an image this program reads/],
    [
      () => labelFromImage(join(dir, 'truncated.png')),
      'truncated.png',
      /^not a readable PNG \(the image data is damaged or cut short\)$/,
    ],
    [() => labelFromImage(join(dir, 'noqr.png')), 'noqr.png', /^no QR code found in the image$/],
    [() => labelFromImage(join(dir, 'url.png')), 'url.png', /^the QR code is not an XTT batch label/],
    [() => labelFromImage(join(dir, 'bomb.png')), 'bomb.png', /16000x16000 pixels is larger than the limit/],
    [
      () => labelFromImage(join(dir, 'drawing.svg')),
      'drawing.svg',
      /^not a label SVG of xtt-factory: an SVG without any dark square/,
    ],
    [
      () => labelFromImage(join(dir, 'curves.svg')),
      'curves.svg',
      /^not a label SVG of xtt-factory: an SVG whose shapes are not the squares/,
    ],
    [() => labelFromImage(join(dir, 'label.txt')), 'label.txt', /give it as --qr-text @FILE/],
    [() => labelFromImage(dir), '', /^is a directory, not a file$/],
    [
      () => labelFromTextArgument(`@${join(dir, 'notes.txt')}`),
      'notes.txt',
      /^neither the label text \(XTT1:\.\.\.\) nor the label\.txt/,
    ],
    [() => labelFromTextArgument(`@${join(dir, 'garbage.png')}`), 'garbage.png', /not a text file/],
  ];
  for (const [run, name, reason] of cases) {
    const file = name === '' ? dir : join(dir, name);
    const e = t.throws(run, { instanceOf: InputFileError }, name);
    t.is(e?.file, file, name);
    t.true(e?.message.startsWith(`${file}: `), e?.message);
    t.regex(e!.message.slice(file.length + 2), reason, name);
    t.notRegex(e!.message, /waitng|read requests|\.png\.png|\.svg\.png|\.qr\b/, name);
  } // A file that is not there is not found (exit 3), not bad input.
  for (const [run, name] of [
    [() => labelFromImage(join(dir, 'missing.png')), 'missing.png'],
    [() => labelFromTextArgument(`@${join(dir, 'missing.txt')}`), 'missing.txt'],
  ] as const) {
    const e = t.throws(run, { instanceOf: MissingFileError }, name);
    t.is(e?.file, join(dir, name));
    t.is(e?.message, `${join(dir, name)}: no such file`);
  }
});
