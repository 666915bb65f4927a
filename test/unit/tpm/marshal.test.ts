// Edges of tpm/marshal.ts: round trips, short buffers, trailing bytes, bad sizes and unknown tags.
import test from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../protocol/errors.ts';
import { ByteReader, fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { TPM_ALG, TPM_CAP_ALGS, TPM_CAP_ECC_CURVES, TPM_CAP_HANDLES } from '../../../tpm/constants.ts';
import {
  encodeEccPoint,
  encodeNvPublic,
  encodePublic,
  encodeSigScheme,
  isEmptyPoint,
  pointToSec1,
  readCreationTicket,
  readEccPoint,
  readEccScheme,
  readNvPublic,
  readPublic,
  readSignature,
  readSized,
  readTpm2b,
  TpmWriter,
} from '../../../tpm/marshal.ts';
import {
  encodePcrSelection,
  readCapabilityData,
  readCreationData,
  readPcrSelection,
} from '../../../tpm/marshal-results.ts';
import { TEMPLATE_T1_STORAGE, TEMPLATE_T2_ECDAA, TEMPLATE_T3_LONGTERM } from '../../../tpm/templates.ts';

const rd = (hex: string): ByteReader => new ByteReader(fromHex(hex), 'x');
const decodeErr = { instanceOf: DecodeError };

test('TPM2B: reads, rejects short bodies and sizes over the capacity', (t) => {
  t.is(toHex(readTpm2b(rd('0002abcd'), 'b')), 'abcd');
  t.is(readTpm2b(rd('0000'), 'b').length, 0);
  t.throws(() => readTpm2b(rd('0003abcd'), 'b'), decodeErr);
  t.throws(() => readTpm2b(rd('00'), 'b'), decodeErr);
  const e = t.throws(() => readTpm2b(rd('0041' + '00'.repeat(65)), 'digest', 64), decodeErr);
  t.is(e?.field, 'digest');
  t.is(e?.offset, 0);
});

test('readSized: the inner structure must fill the size exactly', (t) => {
  t.is(
    readSized(rd('00020102'), 's', (r) => r.u16('v')),
    0x0102,
  );
  t.throws(() => readSized(rd('0003010203'), 's', (r) => r.u16('v')), { message: /trailing/ });
  t.throws(() => readSized(rd('0001ff'), 's', (r) => r.u16('v')), decodeErr);
});

test('ECC point: round trip, empty as size 0 and size 4, inner trailing bytes rejected', (t) => {
  const p = { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) };
  const enc = encodeEccPoint(p);
  t.is(toHex(enc.subarray(0, 4)), '00440020');
  t.deepEqual(readEccPoint(new ByteReader(enc, 'p'), 'P'), p);
  t.true(isEmptyPoint(readEccPoint(rd('0004' + '0000' + '0000'), 'K')));
  t.true(isEmptyPoint(readEccPoint(rd('0000'), 'K')));
  t.throws(() => readEccPoint(rd('0005' + '0000' + '0000' + 'ff'), 'K'), { message: /trailing/ });
  t.throws(() => readEccPoint(rd('0006' + '0001aa' + '0002bb'), 'K'), decodeErr);
  t.throws(() => readEccPoint(rd('0044' + '0020'), 'K'), decodeErr);
});

test('ECC point round trip (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 48 }), fc.uint8Array({ maxLength: 48 }), (x, y) => {
      const r = new ByteReader(encodeEccPoint({ x, y }), 'p');
      const q = readEccPoint(r, 'P');
      r.end();
      return toHex(q.x) === toHex(x) && toHex(q.y) === toHex(y);
    }),
  );
  t.pass();
});

test('NV public and ECDAA scheme round trips (property)', (t) => {
  fc.assert(
    fc.property(
      fc.record({
        nvIndex: fc.integer({ min: 0, max: 0xffffffff }),
        nameAlg: fc.integer({ min: 0, max: 0xffff }),
        attributes: fc.integer({ min: 0, max: 0xffffffff }),
        authPolicy: fc.uint8Array({ maxLength: 64 }),
        dataSize: fc.integer({ min: 0, max: 0xffff }),
      }),
      fc.integer({ min: 0, max: 0xffff }),
      (p, count) => {
        const r = new ByteReader(encodeNvPublic(p), 'n');
        const q = readNvPublic(r);
        r.end();
        const s = readEccScheme(
          new ByteReader(encodeSigScheme({ scheme: 0x1a, hashAlg: 0x0b, count }), 's'),
          's',
        );
        return toHex(encodeNvPublic(q)) === toHex(encodeNvPublic(p)) && s.count === count;
      },
    ),
  );
  t.pass();
});

test('schemes: NULL has no hash, ECDAA carries a count, unknown scheme rejected', (t) => {
  t.is(toHex(encodeSigScheme({ scheme: TPM_ALG.TPM_ALG_NULL })), '0010');
  t.is(
    toHex(encodeSigScheme({ scheme: TPM_ALG.TPM_ALG_ECDSA, hashAlg: TPM_ALG.TPM_ALG_SHA256 })),
    '0018000b',
  );
  t.is(toHex(encodeSigScheme({ scheme: TPM_ALG.TPM_ALG_ECDAA, hashAlg: 0x0b, count: 7 })), '001a000b0007');
  t.deepEqual(readEccScheme(rd('001a000b0001'), 's'), { scheme: 0x1a, hashAlg: 0x0b, count: 1 });
  t.throws(() => readEccScheme(rd('0099000b'), 's'), { message: /unknown scheme/ });
  t.throws(() => readEccScheme(rd('001a000b'), 's'), decodeErr);
});

test('public area: templates round trip; non-ECC type, bad symmetric, truncation rejected', (t) => {
  for (const tpl of [TEMPLATE_T1_STORAGE, TEMPLATE_T2_ECDAA, TEMPLATE_T3_LONGTERM]) {
    const r = new ByteReader(encodePublic(tpl), 'p');
    t.deepEqual(readPublic(r), tpl);
    r.end();
  }
  const t1 = toHex(encodePublic(TEMPLATE_T1_STORAGE));
  t.throws(() => readPublic(rd('001a0001' + t1.slice(8))), { message: /unsupported type/ });
  t.throws(() => readPublic(rd(t1.slice(0, 24) + '0099' + t1.slice(28))), { message: /unknown algorithm/ });
  t.throws(() => readPublic(rd(t1.slice(0, -4))), decodeErr);
  t.throws(() => readPublic(rd('001b' + t1.slice(4) + '00')), { message: /trailing/ });
});

test('pointToSec1 pads short coordinates and refuses long ones', (t) => {
  const s = pointToSec1({ x: new Uint8Array([1]), y: new Uint8Array([2]) });
  t.is(s.length, 65);
  t.is(s[0], 4);
  t.is(s[32], 1);
  t.is(s[64], 2);
  t.throws(() => pointToSec1({ x: new Uint8Array(33), y: new Uint8Array(1) }), { instanceOf: RangeError });
});

test('NV public: the reference basename bytes, round trip, bad size', (t) => {
  const p = {
    nvIndex: 0x01410007,
    nameAlg: 0x0b,
    attributes: 0x00060006,
    authPolicy: new Uint8Array(0),
    dataSize: 8,
  };
  t.is(toHex(encodeNvPublic(p)), '000e01410007000b000600060000' + '0008');
  t.deepEqual(readNvPublic(new ByteReader(encodeNvPublic(p), 'n')), p);
  t.throws(() => readNvPublic(rd('000f01410007000b0006000600000008ff')), { message: /trailing/ });
  t.throws(() => readNvPublic(rd('000d01410007000b00060006000000')), decodeErr);
});

test('signature: ECDSA and ECDAA decode, unknown and non-signing algorithms rejected', (t) => {
  const sig = readSignature(rd('001a000b' + '0002aaaa' + '0001bb'));
  t.is(sig.sigAlg, TPM_ALG.TPM_ALG_ECDAA);
  t.is(toHex(sig.r), 'aaaa');
  t.is(toHex(sig.s), 'bb');
  t.throws(() => readSignature(rd('0014000b00000000')), { message: /unsupported/ });
  t.throws(() => readSignature(rd('0019000b00000000')), { message: /unsupported/ });
  t.throws(() => readSignature(rd('0018000b0002aa')), decodeErr);
});

test('creation ticket tag and creation data structure are checked', (t) => {
  t.deepEqual(readCreationTicket(rd('802140000001' + '0001ff')), {
    tag: 0x8021,
    hierarchy: 0x40000001,
    digest: fromHex('ff'),
  });
  t.throws(() => readCreationTicket(rd('802440000001' + '0000')), { message: /bad tag/ });
  const cd = new TpmWriter()
    .bytes(encodePcrSelection([]))
    .tpm2b(new Uint8Array(32))
    .u8(1)
    .u16(0x0b)
    .tpm2b(new Uint8Array(34))
    .tpm2b(new Uint8Array(34))
    .tpm2b(new Uint8Array(0))
    .finish();
  const framed = new TpmWriter().tpm2b(cd).finish();
  t.is(readCreationData(new ByteReader(framed, 'c')).locality, 1);
  const bad = new TpmWriter().tpm2b(new Uint8Array([...cd, 0])).finish();
  t.throws(() => readCreationData(new ByteReader(bad, 'c')), { message: /trailing/ });
});

test('PCR selection: round trip and a count over 16 rejected', (t) => {
  const sel = [{ hash: 0x0b, select: new Uint8Array([1, 0, 0]) }];
  t.deepEqual(readPcrSelection(new ByteReader(encodePcrSelection(sel), 'p')), sel);
  t.throws(() => readPcrSelection(rd('00000011')), { message: /exceeds 16/ });
});

test('capability data: algs, handles, curves; unknown capability and absurd counts rejected', (t) => {
  const a = readCapabilityData(rd('00000000' + '00000001' + '001a' + '00000008'));
  t.deepEqual(a, { capability: TPM_CAP_ALGS, algs: [{ alg: 0x1a, attributes: 8 }] });
  const h = readCapabilityData(rd('00000001' + '00000002' + '81800000' + '81000001'));
  t.deepEqual(h, { capability: TPM_CAP_HANDLES, handles: [0x81800000, 0x81000001] });
  const c = readCapabilityData(rd('00000008' + '00000002' + '0003' + '0010'));
  t.deepEqual(c, { capability: TPM_CAP_ECC_CURVES, curves: [3, 0x10] });
  t.throws(() => readCapabilityData(rd('00000005' + '00000000')), { message: /unsupported capability/ });
  t.throws(() => readCapabilityData(rd('00000001' + 'ffffffff')), { message: /exceeds/ });
  t.throws(() => readCapabilityData(rd('00000001' + '00000002' + '81800000')), decodeErr);
});
