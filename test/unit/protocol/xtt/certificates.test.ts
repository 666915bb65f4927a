// protocol/xtt/certificates.ts: the reference's root certificate, server certificate and SEC1 DER key
// file codecs (strict), issuance and client-side acceptance, plus fuzzing of every decoder.
import test from 'ava';
import fc from 'fast-check';
import { DecodeError, ProtocolError } from '../../../../protocol/errors.ts';
import { concatBytes, toHex } from '../../../../protocol/util/bytes.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import {
  decodeP256KeyFile,
  decodeRootCertificate,
  decodeServerCertificate,
  encodeP256KeyFile,
  encodeRootCertificate,
  encodeServerCertificate,
  issueServerCertificate,
  verifyServerCertificate,
} from '../../../../protocol/xtt/certificates.ts';
import { SoftwareP256Signer } from '../../../../protocol/xtt/signers.ts';
import { ReplayRng } from '../../../fakes/replay-rng.ts';
import { loadVector } from '../../../helpers/xtt-vectors.ts';

const s = loadVector('suite1_chacha20poly1305_sha512.json').static;

test('reference certificates and key files round-trip byte for byte', (t) => {
  t.is(toHex(encodeRootCertificate(decodeRootCertificate(s.rootCertificate))), toHex(s.rootCertificate));
  t.is(
    toHex(encodeServerCertificate(decodeServerCertificate(s.serverCertificate))),
    toHex(s.serverCertificate),
  );
  t.is(toHex(encodeP256KeyFile(decodeP256KeyFile(s.rootKeyFile))), toHex(s.rootKeyFile));
  t.is(toHex(SoftwareP256Signer.fromKeyFile(s.serverKeyFile, systemRng).publicKey), toHex(s.serverPublicKey));
});

test('issueServerCertificate with the recorded k reproduces the reference certificate', (t) => {
  const k = s.rootSignatureK;
  const cert = issueServerCertificate({
    rootId: s.rootId,
    rootPrivateKey: s.rootPrivateKey,
    serverPublicKey: s.serverPublicKey,
    rng: new ReplayRng([{ index: 1, size: 32, bytes: toHex(k) }], [1]),
  });
  t.is(toHex(cert), toHex(s.serverCertificate));
});

test('verifyServerCertificate: unknown root, wrong root key, tampered signed bytes', (t) => {
  const root = decodeRootCertificate(s.rootCertificate);
  t.notThrows(() => verifyServerCertificate(s.serverCertificate, [root]));
  t.is(
    t.throws(() => verifyServerCertificate(s.serverCertificate, []), { instanceOf: ProtocolError })?.code,
    'UNKNOWN_ROOT',
  );
  const other = SoftwareP256Signer.generate(systemRng);
  t.is(
    t.throws(
      () =>
        verifyServerCertificate(s.serverCertificate, [{ rootId: root.rootId, publicKey: other.publicKey }]),
      { instanceOf: ProtocolError },
    )?.code,
    'BAD_ROOT_SIGNATURE',
  );
  const tampered = s.serverCertificate.slice();
  tampered[0]! ^= 1; // the reserved field is covered by the root signature
  t.is(
    t.throws(() => verifyServerCertificate(tampered, [root]), { instanceOf: ProtocolError })?.code,
    'BAD_ROOT_SIGNATURE',
  );
  t.is(
    t.throws(() => verifyServerCertificate(s.serverCertificate.subarray(1), [root]), {
      instanceOf: ProtocolError,
    })?.code,
    'BAD_SERVER_CERTIFICATE',
  );
});

test('strict decoders: lengths, DER bytes, key consistency, curve membership', (t) => {
  t.throws(() => decodeRootCertificate(s.rootCertificate.subarray(0, 80)), { instanceOf: DecodeError });
  t.throws(() => decodeRootCertificate(concatBytes(s.rootCertificate, Uint8Array.of(0))), {
    instanceOf: DecodeError,
  });
  const offCurve = s.rootCertificate.slice();
  offCurve[80]! ^= 1;
  t.is(
    t.throws(() => decodeRootCertificate(offCurve), { instanceOf: DecodeError })?.field,
    'RootCertificate.public_key',
  );
  const badDer = s.rootKeyFile.slice();
  badDer[1] = 0x78;
  t.is(t.throws(() => decodeP256KeyFile(badDer), { instanceOf: DecodeError })?.field, 'P256KeyFile.header');
  const badOid = s.rootKeyFile.slice();
  badOid[50]! ^= 1;
  t.is(
    t.throws(() => decodeP256KeyFile(badOid), { instanceOf: DecodeError })?.field,
    'P256KeyFile.parameters',
  );
  const mismatch = concatBytes(s.rootKeyFile.subarray(0, 56), s.serverPublicKey);
  t.is(
    t.throws(() => decodeP256KeyFile(mismatch), { instanceOf: DecodeError })?.field,
    'P256KeyFile.public_key',
  );
  const zeroKey = s.rootKeyFile.slice();
  zeroKey.fill(0, 7, 39);
  t.is(
    t.throws(() => decodeP256KeyFile(zeroKey), { instanceOf: DecodeError })?.field,
    'P256KeyFile.private_key',
  );
  t.throws(() => decodeP256KeyFile(s.rootKeyFile.subarray(0, 120)), { instanceOf: DecodeError });
});

test('fuzz: certificate and key-file decoders only ever throw DecodeError', (t) => {
  const decoders = [decodeRootCertificate, decodeServerCertificate, decodeP256KeyFile];
  const goods = [s.rootCertificate, s.serverCertificate, s.rootKeyFile];
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(2),
      fc.nat(200),
      fc.integer({ min: 1, max: 255 }),
      (junk, which, at, mask) => {
        const mutated = goods[which]!.slice();
        if (mutated.length > 0) mutated[at % mutated.length]! ^= mask;
        for (const d of decoders) {
          for (const b of [junk, mutated]) {
            try {
              d(b);
            } catch (e) {
              if (!(e instanceof DecodeError)) throw e;
            }
          }
        }
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});
