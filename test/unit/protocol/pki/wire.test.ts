// The PKI enrollment wire format: round trips (property), every decoder error branch, the framer.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import {
  bindingMessage,
  decodePkiMessage,
  encodePkiMessage,
  PKI_MSG,
  PKI_PROOF,
  PkiFramer,
  type PkiMessage,
} from '../../../../protocol/pki/wire.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const message: fc.Arbitrary<PkiMessage> = fc.oneof(
  bytes(32).map((nonce) => ({ type: PKI_MSG.Challenge, nonce })),
  fc
    .record({
      certificates: fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { minLength: 1, maxLength: 8 }),
      signature: fc.option(bytes(64), { nil: undefined }),
    })
    .map(({ certificates, signature }) =>
      signature
        ? { type: PKI_MSG.EnrollRequest, proof: PKI_PROOF.SignedChallenge, certificates, signature }
        : { type: PKI_MSG.EnrollRequest, proof: PKI_PROOF.TlsClientCertificate, certificates },
    ),
  fc
    .record({ identity: bytes(16), prefixLength: fc.integer({ min: 1, max: 128 }) })
    .map((m) => ({ type: PKI_MSG.Enrolled, ...m })),
  fc.constant({ type: PKI_MSG.Refused }),
);

test('every message round-trips, also when fed to the framer one byte at a time', (t) => {
  fc.assert(
    fc.property(message, (m) => {
      const enc = encodePkiMessage(m);
      t.deepEqual(decodePkiMessage(enc), m);
      const f = new PkiFramer();
      for (let i = 0; i < enc.length - 1; i++) t.is(f.push(enc.subarray(i, i + 1)).kind, 'need');
      const last = f.push(enc.subarray(enc.length - 1));
      t.is(last.kind, 'message');
      if (last.kind === 'message') t.deepEqual(last.message, m);
    }),
    { numRuns: 200 },
  );
});

const challenge = encodePkiMessage({ type: PKI_MSG.Challenge, nonce: new Uint8Array(32).fill(7) });
const request = encodePkiMessage({
  type: PKI_MSG.EnrollRequest,
  proof: PKI_PROOF.SignedChallenge,
  certificates: [Uint8Array.of(1, 2, 3)],
  signature: new Uint8Array(64),
});

function refuses(t: ExecutionContext, b: Uint8Array, field: RegExp): void {
  const e = t.throws(() => decodePkiMessage(b), { instanceOf: DecodeError });
  t.regex(e!.field, field);
}

test('decoder errors name the field', (t) => {
  refuses(t, challenge.subarray(0, 3), /length/);
  refuses(t, challenge.subarray(0, challenge.length - 1), /body/);
  refuses(t, Uint8Array.of(...challenge, 0), /PkiMessage/);
  refuses(t, Uint8Array.of(2, ...challenge.subarray(1)), /version/);
  refuses(t, Uint8Array.of(1, 0x09, 0, 0), /type/);
  refuses(t, Uint8Array.of(1, 0x01, 0, 33, ...new Uint8Array(33)), /PkiMessage.body/); // nonce + 1 trailing
  refuses(t, Uint8Array.of(1, 0x02, 0, 2, 3, 1), /proof/);
  refuses(t, Uint8Array.of(1, 0x02, 0, 2, 1, 0), /count/);
  refuses(t, Uint8Array.of(1, 0x02, 0, 2, 1, 9), /count/);
  refuses(t, Uint8Array.of(1, 0x02, 0, 4, 1, 1, 0, 0), /certificate\[0\]/);
  refuses(t, Uint8Array.of(1, 0x02, 0, 5, 1, 1, 0, 2, 9), /certificate\[0\]/);
  refuses(
    t,
    request.subarray(0, request.length - 1).map((b, i) => (i === 3 ? b - 1 : b)),
    /signature/,
  );
  refuses(t, Uint8Array.of(1, 0x03, 0, 17, ...new Uint8Array(16), 0), /prefixLength/);
  refuses(t, Uint8Array.of(1, 0x03, 0, 17, ...new Uint8Array(16), 129), /prefixLength/);
  refuses(t, Uint8Array.of(1, 0x04, 0, 1, 0), /body/);
  refuses(t, Uint8Array.of(1, 0x04, 0x40, 1), /length/);
});

test('the framer refuses a bad version or an oversized length from the header alone', (t) => {
  t.throws(() => new PkiFramer().push(Uint8Array.of(9, 1, 0, 0)), { instanceOf: DecodeError });
  t.throws(() => new PkiFramer().push(Uint8Array.of(1, 2, 0xff, 0xff)), { instanceOf: DecodeError });
  t.throws(() => new PkiFramer().push(Uint8Array.of(...challenge, 1)), { instanceOf: DecodeError });
});

test('encoder refuses what the decoder would', (t) => {
  t.throws(() => encodePkiMessage({ type: PKI_MSG.Challenge, nonce: new Uint8Array(31) }), {
    instanceOf: RangeError,
  });
  t.throws(
    () =>
      encodePkiMessage({
        type: PKI_MSG.EnrollRequest,
        proof: PKI_PROOF.SignedChallenge,
        certificates: [Uint8Array.of(1)],
      }),
    { instanceOf: RangeError },
  );
  t.throws(
    () =>
      encodePkiMessage({
        type: PKI_MSG.EnrollRequest,
        proof: PKI_PROOF.TlsClientCertificate,
        certificates: [],
      }),
    { instanceOf: RangeError },
  );
});

test('the binding message changes with the exporter, the nonce and the leaf', (t) => {
  const e = new Uint8Array(32).fill(1);
  const n = new Uint8Array(32).fill(2);
  const leaf = Uint8Array.of(1, 2, 3);
  const m = bindingMessage(e, n, leaf);
  t.is(m.length, 18 + 32 + 32 + 32);
  t.notDeepEqual(bindingMessage(new Uint8Array(32).fill(3), n, leaf), m);
  t.notDeepEqual(bindingMessage(e, new Uint8Array(32), leaf), m);
  t.notDeepEqual(bindingMessage(e, n, Uint8Array.of(1, 2, 4)), m);
  t.throws(() => bindingMessage(new Uint8Array(31), n, leaf), { instanceOf: RangeError });
});
