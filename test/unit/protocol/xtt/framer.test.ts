// protocol/xtt/framer.ts: header-first framing with early rejection and the 750-byte bound, any
// chunking, and fuzzing (arbitrary chunks give need/message or a DecodeError, nothing else).
import test from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import { concatBytes, toHex } from '../../../../protocol/util/bytes.ts';
import { MsgType } from '../../../../protocol/xtt/constants.ts';
import { MessageFramer } from '../../../../protocol/xtt/framer.ts';
import { loadVector, wireBytes } from '../../../helpers/xtt-vectors.ts';

const ICA = wireBytes(loadVector('suite1_chacha20poly1305_sha512.json'), 'Identity_ClientAttest');
const both = [MsgType.Identity_ClientAttest, MsgType.Error];

test('one byte at a time: announces the remaining length, then yields the message', (t) => {
  const f = new MessageFramer({ expect: both });
  t.is(f.needed, 4);
  for (let i = 0; i < ICA.length - 1; i++) {
    const r = f.push(ICA.subarray(i, i + 1));
    t.deepEqual(r, { kind: 'need', bytes: i < 3 ? 3 - i : ICA.length - 1 - i });
  }
  const last = f.push(ICA.subarray(ICA.length - 1));
  if (last.kind !== 'message') return t.fail();
  t.is(toHex(last.bytes), toHex(ICA));
  t.is(f.buffered, 0);
  t.is(f.needed, 4);
});

test('any chunking gives the same message (property)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(ICA.length), { maxLength: 8 }), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), ICA.length];
      const f = new MessageFramer({ expect: both });
      let got: Uint8Array | undefined;
      for (let i = 0; i + 1 < points.length; i++) {
        const r = f.push(ICA.subarray(points[i], points[i + 1]));
        if (r.kind === 'message') got = r.bytes;
      }
      return got !== undefined && toHex(got) === toHex(ICA);
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('early rejection after 4 bytes: unknown type, unexpected type, bad length, bad version, over the bound', (t) => {
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(0x99, 0, 4, 1), /type/],
    [Uint8Array.of(0x01, 0, 70, 1), /type/],
    [Uint8Array.of(0x11, 0x02, 0xef, 1), /length/],
    [Uint8Array.of(0x11, 0x02, 0xee, 0), /version/],
  ];
  for (const [h, field] of cases) {
    const e = t.throws(() => new MessageFramer({ expect: both }).push(h), { instanceOf: DecodeError });
    t.regex(e?.field ?? '', field);
  }
  const small = new MessageFramer({ expect: both, maxLength: 100 });
  t.regex(
    t.throws(() => small.push(ICA.subarray(0, 4)), { instanceOf: DecodeError })?.message ?? '',
    /exceeds 100/,
  );
});

test('bytes beyond the current message are a protocol violation', (t) => {
  const f = new MessageFramer({ expect: both });
  t.throws(() => f.push(concatBytes(ICA, Uint8Array.of(0x41))), { instanceOf: DecodeError });
  const g = new MessageFramer({ expect: both });
  t.throws(() => g.push(Uint8Array.of(0x41, 0, 4, 1, 0)), { instanceOf: DecodeError });
  const e = new MessageFramer({ expect: both }).push(Uint8Array.of(0x41, 0, 4, 1));
  t.is(e.kind, 'message');
});

test('fuzz: arbitrary chunks never escape as anything but DecodeError', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 900 }), { maxLength: 5 }), (chunks) => {
      const f = new MessageFramer({
        expect: [MsgType.ClientInit, MsgType.ServerInitAndAttest, MsgType.Error],
      });
      try {
        for (const c of chunks) {
          const r = f.push(c);
          if (r.kind === 'message' && r.bytes.length > 750) throw new Error('frame over the bound');
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
  t.pass();
});
