import test from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../protocol/errors.ts';
import { decodeQrPayload, encodeQrPayload, QR_GPK_LENGTH } from '../../../protocol/qr-payload.ts';
import { equalBytes } from '../../../protocol/util/bytes.ts';

const gpk = new Uint8Array(QR_GPK_LENGTH).map((_, i) => i & 0xff);
const basename = new TextEncoder().encode('BASENAME');

test('round trip keeps the exact bytes and name', (t) => {
  const text = encodeQrPayload({ gpk, basename, name: 'batch 2026-11 Ü' });
  t.regex(text, /^XTT1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]*$/);
  const back = decodeQrPayload(text);
  t.true(equalBytes(back.gpk, gpk));
  t.true(equalBytes(back.basename, basename));
  t.is(back.name, 'batch 2026-11 Ü');
});

test('round trip (property)', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: QR_GPK_LENGTH, maxLength: QR_GPK_LENGTH }),
      fc.uint8Array({ minLength: 1, maxLength: 128 }),
      fc.string({ maxLength: 20 }),
      (g, b, n) => {
        const back = decodeQrPayload(encodeQrPayload({ gpk: g, basename: b, name: n }));
        return equalBytes(back.gpk, g) && equalBytes(back.basename, b) && back.name === n;
      },
    ),
  );
  t.pass();
});

test('rejects wrong prefix, field count, GPK length, bad base64 and bad UTF-8, naming the field', (t) => {
  const good = encodeQrPayload({ gpk, basename, name: 'x' });
  const [, g, b, n] = good.split(':');
  const cases: [string, string][] = [
    ['https://example.invalid', 'QrPayload.prefix'],
    [`XTT1:${g}:${b}`, 'QrPayload'],
    [`XTT1:${g}:${b}:${n}:extra`, 'QrPayload'],
    [`XTT1:${g!.slice(0, -4)}:${b}:${n}`, 'QrPayload.gpk'],
    [`XTT1:${g}:!!:${n}`, 'QrPayload.basename'],
    [`XTT1:${g}::${n}`, 'QrPayload.basename'],
    [`XTT1:${g}:${b}:${Buffer.from([0xff, 0xfe]).toString('base64url')}`, 'QrPayload.name'],
  ];
  for (const [text, field] of cases) {
    const err = t.throws(() => decodeQrPayload(text), { instanceOf: DecodeError }, text);
    t.is(err?.field, field, text);
  }
});

test('encoder refuses out-of-range inputs', (t) => {
  t.throws(() => encodeQrPayload({ gpk: gpk.subarray(1), basename, name: '' }), { instanceOf: RangeError });
  t.throws(() => encodeQrPayload({ gpk, basename: new Uint8Array(0), name: '' }), { instanceOf: RangeError });
  t.throws(() => encodeQrPayload({ gpk, basename, name: 'x'.repeat(65) }), { instanceOf: RangeError });
});
