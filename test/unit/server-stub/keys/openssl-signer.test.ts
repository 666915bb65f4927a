// The OpenSSL-backed server signer produces signatures protocol/xtt's verifier accepts, for the key
// in the reference key-file format, and refuses a key that does not match.
import test from 'ava';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { decodeP256KeyFile } from '../../../../protocol/xtt/certificates.ts';
import { verifyP256 } from '../../../../protocol/xtt/ecdsa-p256.ts';
import { SoftwareP256Signer } from '../../../../protocol/xtt/signers.ts';
import { OpensslP256Signer } from '../../../../server-stub/keys/openssl-signer.ts';

test('signatures verify with protocol/xtt and depend on the message', async (t) => {
  const kp = decodeP256KeyFile(SoftwareP256Signer.generate(systemRng).toKeyFile());
  const signer = new OpensslP256Signer(kp.privateKey, kp.publicKey);
  t.deepEqual(signer.publicKey, kp.publicKey);
  for (let i = 0; i < 8; i++) {
    const msg = systemRng.bytes(100 + i);
    const sig = await signer.sign(msg);
    t.is(sig.length, 64);
    t.true(verifyP256(kp.publicKey, msg, sig));
    t.false(verifyP256(kp.publicKey, systemRng.bytes(100), sig));
  }
});

test('a public key that does not belong to the private key is refused', (t) => {
  const a = decodeP256KeyFile(SoftwareP256Signer.generate(systemRng).toKeyFile());
  const b = decodeP256KeyFile(SoftwareP256Signer.generate(systemRng).toKeyFile());
  t.throws(() => new OpensslP256Signer(a.privateKey, b.publicKey));
  t.throws(() => new OpensslP256Signer(a.privateKey.subarray(1), a.publicKey), { instanceOf: RangeError });
});
