// Image dimensions from PNG and JPEG headers (server-stub/labels/image-header.ts) and the pixel cap applied
// before any decoder runs: real images made by pngjs and jpeg-js, a PNG bomb, and malformed headers.
import test from 'ava';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DecodeError } from '../../../../protocol/errors.ts';
import { scanQrImage } from '../../../../server-stub/labels/gpk-input.ts';
import {
  checkImageHeader,
  MAX_IMAGE_PIXELS,
  readImageHeader,
} from '../../../../server-stub/labels/image-header.ts';
import { pngBomb } from '../../../helpers/image-bomb.ts';

const png = (w: number, h: number) => new Uint8Array(PNG.sync.write(new PNG({ width: w, height: h })));
const jpg = (w: number, h: number) =>
  new Uint8Array(jpeg.encode({ data: Buffer.alloc(w * h * 4, 0x80), width: w, height: h }, 75).data);

test('PNG and JPEG dimensions come from the header', (t) => {
  t.deepEqual(readImageHeader(png(37, 5), 'label'), { format: 'png', width: 37, height: 5 });
  t.deepEqual(readImageHeader(jpg(33, 17), 'label'), { format: 'jpeg', width: 33, height: 17 });
  t.deepEqual(readImageHeader(jpg(8, 8), 'label', 'jpeg').format, 'jpeg');
  t.deepEqual(readImageHeader(pngBomb(16000, 16000), 'label'), {
    format: 'png',
    width: 16000,
    height: 16000,
  });
});

test('a small file declaring a huge image is refused from its header, naming the limit', (t) => {
  const bomb = pngBomb(16000, 16000);
  t.true(bomb.length < 300_000, `${bomb.length} bytes`);
  for (const f of [() => checkImageHeader(bomb, 'label'), () => scanQrImage(bomb, 'label')]) {
    const e = t.throws(f, { instanceOf: DecodeError });
    t.is(e?.field, 'label.png');
    t.regex(e!.message, /16000x16000 pixels is larger than the limit of 16777216 pixels \(4096x4096\)/);
  }
  t.notThrows(() => checkImageHeader(png(4096, 4096), 'label'));
  t.throws(() => checkImageHeader(png(4097, 4096), 'label'), { instanceOf: DecodeError, message: /limit/ });
  t.is(MAX_IMAGE_PIXELS, 4096 * 4096);
  // JPEG: 65535 x 65535 declared in the frame header of an otherwise tiny file.
  const big = jpg(16, 16);
  const sof = big.findIndex((b, i) => b === 0xff && big[i + 1] === 0xc0);
  big.set([0xff, 0xff, 0xff, 0xff], sof + 5);
  t.throws(() => checkImageHeader(big, 'label'), { instanceOf: DecodeError, message: /65535x65535 pixels/ });
});

test('malformed headers are refused with the field and offset', (t) => {
  const p = png(4, 4);
  const cases: [Uint8Array, RegExp, 'png' | 'jpeg' | undefined][] = [
    [new Uint8Array(0), /no PNG signature/, undefined],
    [p.subarray(0, 20), /no PNG signature/, undefined],
    [Uint8Array.from([...p.subarray(0, 12), 0x49, 0x44, 0x41, 0x54, ...p.subarray(16)]), /IHDR/, undefined],
    [
      Uint8Array.from([...p.subarray(0, 16), 0, 0, 0, 0, ...p.subarray(20)]),
      /0x4 pixels is empty/,
      undefined,
    ],
    [p, /no SOI marker/, 'jpeg'],
    [jpg(4, 4), /no PNG signature/, 'png'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), /no frame header/, undefined],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]), /length 1 is too small/, undefined],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0, 0]), /truncated/, undefined],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0, 0, 0, 9, 3]), /size not declared/, undefined],
    [Uint8Array.from([0xff, 0xd8, 0x00]), /no SOI marker/, 'jpeg'],
    [Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0, 0, 0x12]), /a marker was expected/, undefined],
  ];
  for (const [bytes, re, format] of cases) {
    t.throws(
      () => readImageHeader(bytes, 'label', format),
      { instanceOf: DecodeError, message: re },
      String(re),
    );
  }
});
