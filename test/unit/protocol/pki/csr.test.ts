// The PKCS#10 request: openssl verifies its signature and reads its subject and key; bad subjects.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { buildCsr, encodeSubject, SubjectSyntaxError } from '../../../../protocol/pki/csr.ts';
import { derToPem } from '../../../../protocol/pki/certificate.ts';
import { SoftwareP256Signer } from '../../../../protocol/xtt/signers.ts';

test('openssl verifies the request and reads subject and key', async (t) => {
  const key = SoftwareP256Signer.generate(systemRng);
  const csr = await buildCsr('CN=device-42,O=Acme Corp,C=NL', key);
  const out = execFileSync('openssl', ['req', '-verify', '-noout', '-subject', '-pubkey'], {
    input: derToPem(csr, 'CERTIFICATE REQUEST'),
    stdio: ['pipe', 'pipe', 'pipe'],
  }).toString();
  t.regex(out, /subject=CN\s*=\s*device-42, O\s*=\s*Acme Corp, C\s*=\s*NL/);
  const pub = out.slice(out.indexOf('-----BEGIN PUBLIC KEY-----'));
  const spki = Buffer.from(pub.split('-----')[2]!.replace(/\s+/g, ''), 'base64');
  t.deepEqual(new Uint8Array(spki.subarray(spki.length - 65)), key.publicKey);
});

/** openssl req -verify exits 0 either way (3.0); its stderr says which. */
function opensslVerify(csr: Uint8Array): string {
  return spawnSync('openssl', ['req', '-verify', '-noout'], {
    input: derToPem(csr, 'CERTIFICATE REQUEST'),
  }).stderr.toString();
}

test('a tampered request does not verify', async (t) => {
  const key = SoftwareP256Signer.generate(systemRng);
  const csr = await buildCsr('CN=x', key);
  t.regex(opensslVerify(csr), /verify OK/);
  csr[csr.length - 3]! ^= 1;
  t.regex(opensslVerify(csr), /verify failure/);
});

test('bad subjects are refused with the reason', (t) => {
  for (const s of ['', 'CN', 'XX=1', 'C=N€', `CN=${'a'.repeat(65)}`]) {
    t.throws(() => encodeSubject(s), { instanceOf: SubjectSyntaxError }, s);
  }
});
