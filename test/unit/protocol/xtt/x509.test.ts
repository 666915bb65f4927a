// protocol/xtt/x509.ts: the reference's self-signed identity certificate. With the reference's
// validity (year 0 .. 9999) and replayed draws 8 (serial) and 9 (k) we reproduce its DER byte for
// byte; with our default validity node:crypto's X509Certificate parses it and the signature verifies.
import test from 'ava';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { SoftwareP256Signer } from '../../../../protocol/xtt/signers.ts';
import {
  buildIdentityCertificate,
  drawSerial,
  ecdsaRawToDer,
  formatIdentity,
} from '../../../../protocol/xtt/x509.ts';
import { ReplayRng } from '../../../fakes/replay-rng.ts';
import { h, loadVector } from '../../../helpers/xtt-vectors.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';

for (const file of [
  'suite1_chacha20poly1305_sha512.json',
  'suite1_requested_id.json',
  'suite4_aes256gcm_blake2b.json',
]) {
  const v = loadVector(file);
  test(`${v.case}: identity certificate equals the reference tool's output`, async (t) => {
    const signer = SoftwareP256Signer.fromPrivateKey(
      h(v.raw, 'client_ephemeral_and_longterm.longterm_private_key'),
      new ReplayRng(v.draws.client, [9]),
    );
    const der = await buildIdentityCertificate({
      identity: h(v.raw, 'result.assigned_id'),
      signer,
      rng: new ReplayRng(v.draws.client, [8]),
      notBefore: new Date('0000-01-01T00:00:00Z'),
      notAfter: new Date('9999-12-31T23:59:59Z'),
    });
    t.is(toHex(der), toHex(h(v.raw, 'result.longterm_x509_certificate_der')));
    const text = new TextDecoder().decode(h(v.raw, 'result.client_id_text_file')).replace(/\0$/, '');
    t.is(formatIdentity(h(v.raw, 'result.assigned_id')), text);
  });
}

test('default validity: node:crypto parses the certificate and its signature verifies', async (t) => {
  const signer = SoftwareP256Signer.generate(systemRng);
  const identity = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]);
  const now = Date.UTC(2026, 10, 28, 4, 0, 0);
  const der = await buildIdentityCertificate({ identity, signer, rng: systemRng, now });
  const cert = new X509Certificate(der);
  t.is(cert.subject, 'CN=2001:0DB8:0000:0000:0000:0000:0000:0042');
  t.is(cert.issuer, cert.subject);
  t.is(new Date(cert.validFrom).getTime(), now);
  t.true(new Date(cert.validTo).getTime() > now + 9 * 365 * 24 * 3600 * 1000);
  const pub = createPublicKey({
    key: Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
      signer.publicKey,
    ]),
    format: 'der',
    type: 'spki',
  });
  t.true(cert.verify(pub));
  t.true(cert.checkIssued(cert));
  // A certificate signed by another key does not verify under ours.
  const other = SoftwareP256Signer.generate(systemRng);
  const forged = await buildIdentityCertificate({
    identity,
    signer: { publicKey: signer.publicKey, sign: (m) => other.sign(m) },
    rng: systemRng,
    now,
  });
  t.false(new X509Certificate(forged).verify(pub));
});

test('times after 2049 use GeneralizedTime, before use UTCTime', async (t) => {
  const signer = SoftwareP256Signer.generate(systemRng);
  const der = await buildIdentityCertificate({
    identity: new Uint8Array(16).fill(1),
    signer,
    rng: systemRng,
    notBefore: new Date('2049-12-31T23:59:59Z'),
    notAfter: new Date('2050-01-01T00:00:00Z'),
  });
  const hex = toHex(der);
  t.true(hex.includes('170d' + Buffer.from('491231235959Z').toString('hex')));
  t.true(hex.includes('180f' + Buffer.from('20500101000000Z').toString('hex')));
  t.is(new X509Certificate(der).validTo, 'Jan  1 00:00:00 2050 GMT');
  await t.throwsAsync(
    buildIdentityCertificate({
      identity: new Uint8Array(16),
      signer,
      rng: systemRng,
      notBefore: new Date(10),
      notAfter: new Date(5),
    }),
    { instanceOf: RangeError },
  );
});

test('serial: top bit cleared, trailing zero, never a leading zero byte', (t) => {
  const s = drawSerial({ bytes: (n) => new Uint8Array(n).fill(0xff) });
  t.is(s.length, 20);
  t.is(s[0], 0x7f);
  t.is(s[19], 0);
  t.is(drawSerial({ bytes: (n) => new Uint8Array(n) })[0], 1);
});

test('ecdsaRawToDer: minimal INTEGERs with sign padding', (t) => {
  const raw = new Uint8Array(64);
  raw[0] = 0x80;
  raw[63] = 0x01;
  t.is(toHex(ecdsaRawToDer(raw)), '3026022100' + '80' + '00'.repeat(31) + '020101');
  t.throws(() => ecdsaRawToDer(new Uint8Array(63)), { instanceOf: RangeError });
});
