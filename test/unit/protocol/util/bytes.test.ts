import test from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import {
  ByteReader,
  bigIntToBytes,
  bytesToBigInt,
  concatBytes,
  equalBytes,
  fromHex,
  toHex,
  u16be,
} from '../../../../protocol/util/bytes.ts';

test('ByteReader reads fields in order and rejects short and trailing input', (t) => {
  const r = new ByteReader(fromHex('0102030405'), 'Msg');
  t.is(r.u8('type'), 1);
  t.is(r.u16('length'), 0x0203);
  const e1 = t.throws(() => r.bytes(3, 'body'), { instanceOf: DecodeError });
  t.is(e1.field, 'Msg.body');
  t.is(e1.offset, 3);
  const e2 = t.throws(() => r.end(), { instanceOf: DecodeError });
  t.regex(e2.message, /2 trailing bytes/);
  r.bytes(2, 'tail');
  t.notThrows(() => r.end());
});

test('fromHex rejects odd length and non-hex', (t) => {
  t.throws(() => fromHex('abc'), { instanceOf: DecodeError });
  t.throws(() => fromHex('zz'), { instanceOf: DecodeError });
});

test('equalBytes', (t) => {
  t.true(equalBytes(fromHex('0011'), fromHex('0011')));
  t.false(equalBytes(fromHex('0011'), fromHex('0012')));
  t.false(equalBytes(fromHex('0011'), fromHex('001100')));
});

test('u16be range', (t) => {
  t.is(toHex(u16be(0x1234)), '1234');
  t.throws(() => u16be(0x10000), { instanceOf: RangeError });
});

test('bigint <-> bytes round trip (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
      return equalBytes(bigIntToBytes(bytesToBigInt(b), 32), b);
    }),
  );
  t.throws(() => bigIntToBytes(1n << 256n, 32), { instanceOf: RangeError });
  t.is(toHex(concatBytes(fromHex('01'), fromHex('0203'))), '010203');
});
