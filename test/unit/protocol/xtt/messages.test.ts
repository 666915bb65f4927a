// protocol/xtt/messages.ts: every codec edge (success, short buffer, trailing bytes, bad length
// field, wrong type, unknown suite, bad version) and fast-check fuzzing of every decoder: arbitrary
// bytes either decode or throw DecodeError, never anything else; encode/decode round trips.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import { concatBytes, toHex } from '../../../../protocol/util/bytes.ts';
import {
  decodeClientInit,
  decodeErrorMsg,
  decodeHeader,
  decodeIcaPlaintext,
  decodeIdentityClientAttest,
  decodeIdentityServerFinished,
  decodeIsfPlaintext,
  decodeServerInitAndAttest,
  decodeSiaaPlaintext,
  encodeClientInit,
  encodeErrorMsg,
  encodeIcaPlaintext,
  encodeIcaUnencrypted,
  encodeIsfPlaintext,
  encodeSiaaPlaintext,
  encodeSiaaUnencrypted,
  messagePrefix,
} from '../../../../protocol/xtt/messages.ts';
import { wireBytes, loadVector } from '../../../helpers/xtt-vectors.ts';

const v = loadVector('suite1_chacha20poly1305_sha512.json');
const CI = wireBytes(v, 'ClientInit');
const SIAA = wireBytes(v, 'ServerInitAndAttest');
const ICA = wireBytes(v, 'Identity_ClientAttest');
const ISF = wireBytes(v, 'Identity_ServerFinished');

const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
  ['ClientInit', decodeClientInit, CI],
  ['ServerInitAndAttest', decodeServerInitAndAttest, SIAA],
  ['Identity_ClientAttest', decodeIdentityClientAttest, ICA],
  ['Identity_ServerFinished', decodeIdentityServerFinished, ISF],
  ['Error', decodeErrorMsg, encodeErrorMsg()],
];

function throwsDecode(t: ExecutionContext, f: () => unknown, field?: RegExp): void {
  const e = t.throws(f, { instanceOf: DecodeError });
  if (field && e) t.regex(e.field, field);
}

for (const [name, decode, good] of decoders) {
  test(`${name}: decodes the reference bytes; rejects short, long, bad length, bad version, wrong type`, (t) => {
    t.notThrows(() => decode(good));
    throwsDecode(t, () => decode(good.subarray(0, good.length - 1)));
    throwsDecode(t, () => decode(concatBytes(good, Uint8Array.of(0))));
    throwsDecode(t, () => decode(new Uint8Array(0)));
    const badLen = good.slice();
    badLen[2]! ^= 0x01;
    throwsDecode(t, () => decode(badLen), /length/);
    const badVersion = good.slice();
    badVersion[3] = 2;
    throwsDecode(t, () => decode(badVersion), /version/);
    const otherType = decoders.find(([n]) => n !== name)![2];
    throwsDecode(t, () => decode(otherType));
  });

  test(`${name}: fuzz: arbitrary bytes decode or throw DecodeError`, (t) => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 800 }),
        fc.nat(good.length),
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        (junk, at, patch) => {
          for (const b of [
            junk,
            concatBytes(good.subarray(0, at), patch, good.subarray(at + patch.length)),
          ]) {
            try {
              decode(b);
            } catch (e) {
              if (!(e instanceof DecodeError)) throw e;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    t.pass();
  });
}

test('unknown suites are rejected by every suite-carrying message', (t) => {
  for (const [name, decode, good] of decoders.filter(([n]) => n !== 'Error')) {
    for (const suite of [0, 5, 6, 0x0101]) {
      const b = good.slice();
      b[4] = suite >> 8;
      b[5] = suite & 0xff;
      const e = t.throws(() => decode(b), { instanceOf: DecodeError }, name);
      t.regex(e?.field ?? '', /suite_spec/);
    }
  }
});

test('decodeHeader: known types with their exact lengths only', (t) => {
  t.deepEqual(decodeHeader(Uint8Array.of(0x41, 0, 4, 1)), { type: 0x41, length: 4, version: 1 });
  t.deepEqual(decodeHeader(Uint8Array.of(0x11, 0x02, 0xee, 1)), { type: 0x11, length: 750, version: 1 });
  throwsDecode(t, () => decodeHeader(Uint8Array.of(0x12, 0x01, 0xa1, 1)), /type/);
  throwsDecode(t, () => decodeHeader(Uint8Array.of(0x21, 0, 70, 1)), /type/); // session messages: out of scope
  throwsDecode(t, () => decodeHeader(Uint8Array.of(0x01, 0, 71, 1)), /length/);
  throwsDecode(t, () => decodeHeader(Uint8Array.of(0x01, 0, 70)));
  throwsDecode(t, () => decodeHeader(Uint8Array.of(0x01, 0, 70, 1, 0)));
});

test('encoders reproduce the reference framing', (t) => {
  const ci = decodeClientInit(CI);
  t.is(toHex(encodeClientInit(ci)), toHex(CI));
  const siaa = decodeServerInitAndAttest(SIAA);
  t.is(toHex(encodeSiaaUnencrypted(siaa.suite, siaa.dhKeyshareS, siaa.cookie)), toHex(SIAA.subarray(0, 168)));
  const ica = decodeIdentityClientAttest(ICA);
  t.is(toHex(encodeIcaUnencrypted(ica.suite, ica.cookie)), toHex(ICA.subarray(0, 136)));
  t.is(toHex(messagePrefix(0x13, 1)), '130067010001');
  t.is(toHex(encodeErrorMsg()), '41000401');
  t.throws(() => encodeClientInit({ ...ci, nonceC: new Uint8Array(31) }), { instanceOf: RangeError });
  t.throws(() => encodeSiaaUnencrypted(1, siaa.dhKeyshareS, new Uint8Array(129)), { instanceOf: RangeError });
});

test('plaintext codecs: round trip and strict sizes', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 169, maxLength: 169 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 65, maxLength: 65 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 421, maxLength: 421 }),
      (cert, sig, key, gid, id, daa) => {
        const s = encodeSiaaPlaintext({ certificate: cert, signatureS: sig });
        t.deepEqual(decodeSiaaPlaintext(s), { certificate: cert, signatureS: sig });
        const p = { longtermKey: key, daaGid: gid, idC: id, longtermSignature: sig, daaSignature: daa };
        t.deepEqual(decodeIcaPlaintext(encodeIcaPlaintext(p)), p);
        t.deepEqual(decodeIsfPlaintext(encodeIsfPlaintext({ id, longtermKey: key })), {
          id,
          longtermKey: key,
        });
      },
    ),
    { numRuns: 30 },
  );
  throwsDecode(t, () => decodeSiaaPlaintext(new Uint8Array(232)), /signature_s/);
  throwsDecode(t, () => decodeIcaPlaintext(new Uint8Array(599)));
  throwsDecode(t, () => decodeIsfPlaintext(new Uint8Array(80)), /longterm_key/);
  t.throws(() => encodeIsfPlaintext({ id: new Uint8Array(15), longtermKey: new Uint8Array(65) }), {
    instanceOf: RangeError,
  });
  t.throws(
    () =>
      encodeIcaPlaintext({
        longtermKey: new Uint8Array(65),
        daaGid: new Uint8Array(32),
        idC: new Uint8Array(16),
        longtermSignature: new Uint8Array(64),
        daaSignature: new Uint8Array(420),
      }),
    { instanceOf: RangeError },
  );
});
