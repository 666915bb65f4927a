// Label images decoded off the main thread (server-stub/labels/qr-scan.ts): the label text comes back from
// the worker, decode errors keep their field, a bomb is refused from its header without a worker,
// and the main thread's event loop keeps turning while a big legitimate image decodes (progress is
// counted in turns, never timed).
import test from 'ava';
import { DecodeError } from '../../../../protocol/errors.ts';
import { encodeQrPayload } from '../../../../protocol/qr-payload.ts';
import { scanQrImageOffThread } from '../../../../server-stub/labels/qr-scan.ts';
import { freshGpk, labelJpeg, labelPng } from '../../../integration/server-stub/http/_fixtures.ts';
import { pngBomb } from '../../../helpers/image-bomb.ts';

const label = { gpk: freshGpk(), basename: new TextEncoder().encode('BASENAME'), name: 'lot-9' };

test('a label PNG and JPEG are scanned in a worker; errors keep their field', async (t) => {
  t.timeout(10 * 60_000, 'a loaded machine: tsx compiles the worker');
  const text = encodeQrPayload(label);
  t.is((await scanQrImageOffThread(new Uint8Array(labelPng(label)), 'label', 'png')).trim(), text);
  t.is((await scanQrImageOffThread(new Uint8Array(labelJpeg(label)), 'label')).trim(), text);
  const truncated = new Uint8Array(labelPng(label)).subarray(0, 200);
  const e = await t.throwsAsync(scanQrImageOffThread(truncated, 'label', 'png'), { instanceOf: DecodeError });
  t.is(e?.field, 'label.png');
});

test('a PNG bomb is refused before any decoding, naming the limit', (t) => {
  const e = t.throws(() => scanQrImageOffThread(pngBomb(16000, 16000), 'label', 'png'), {
    instanceOf: DecodeError,
  });
  t.regex(e!.message, /16000x16000 pixels is larger than the limit of 16777216 pixels/);
});

test('the event loop keeps turning while a big label image decodes', async (t) => {
  t.timeout(10 * 60_000, 'a loaded machine: tsx compiles the worker');
  // about 3800 x 3800 pixels: the label at 45 px a module; decoding and scanning take many turns.
  const big = new Uint8Array(labelPng(label, 45));
  let turns = 0;
  let isDone = false;
  const spin = (): void => {
    if (isDone) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const text = await scanQrImageOffThread(big, 'label', 'png');
  isDone = true;
  t.is(text.trim(), encodeQrPayload(label));
  t.true(turns > 10, `${turns} event-loop turns during the decode`);
});
