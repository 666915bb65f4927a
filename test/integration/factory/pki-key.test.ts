// `xtt-factory pki-key` against real swtpm: a P-256 key persisted in the TPM and a PKCS#10 request
// that openssl verifies and a CA made by openssl signs; the TPM key then signs what the PKI
// enrollment's proof needs and the certificate's key verifies it. A second run reuses the key; an
// occupied handle holding something else, an existing output file and a bad subject are refused.
import { createPublicKey, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate } from '../../../protocol/pki/certificate.ts';
import { bindingMessage } from '../../../protocol/pki/wire.ts';
import { EXIT } from '../../../factory/exit-codes.ts';
import { PKI_KEY_HANDLE, TpmPkiKey } from '../../../tpm/pki-key.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { issue, makeRoot } from '../../helpers/openssl-ca.ts';
import { factory, withTpm } from './helpers/factory-run.ts';

const test = suiteRequires('factory pki-key', ['swtpm']);

let work = '';
let sw: SwtpmInstance | undefined;
test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'factory-pki-'));
});
test.after.always(async () => {
  await sw?.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test.serial(
  'key in the TPM, CSR signed by an openssl CA, TPM signatures verify with the certificate',
  async (t) => {
    sw = await startSwtpm();
    const csr = join(work, 'device.csr');
    const r = await factory([
      'pki-key',
      '--tpm',
      sw.spec,
      '--subject',
      'CN=device-7,O=Acme',
      '--csr',
      csr,
      '--json',
    ]);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { handle: string; created: boolean; publicKey: string };
    t.is(out.handle, `0x${PKI_KEY_HANDLE.toString(16)}`);
    t.true(out.created);
    const check = spawnSync('openssl', ['req', '-in', csr, '-verify', '-noout']);
    t.regex(check.stderr.toString(), /verify OK/);

    const ca = makeRoot(work, 'customer-ca');
    const cert = parseCertificate(issue(ca, work, 'device-7', { csrPath: csr }).der);
    const spki = createPublicKey({ key: Buffer.from(cert.publicKeyDer), format: 'der', type: 'spki' });
    const jwk = spki.export({ format: 'jwk' });
    t.is(Buffer.from(jwk.x!, 'base64url').toString('hex'), out.publicKey.slice(2, 66));

    const message = bindingMessage(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), cert.der);
    const sig = await withTpm(sw, async (tpm) => (await TpmPkiKey.open(tpm)).sign(message));
    t.true(verify('sha256', message, { key: spki, dsaEncoding: 'ieee-p1363' }, sig));

    const again = await factory([
      'pki-key',
      '--tpm',
      sw.spec,
      '--subject',
      'CN=device-7',
      '--csr',
      join(work, 'b.csr'),
      '--json',
    ]);
    t.is(again.code, 0, again.stderr);
    t.like(JSON.parse(again.stdout), { created: false, publicKey: out.publicKey });
  },
);

test.serial('refusals: existing output file, bad subject, a handle holding a non-signing key', async (t) => {
  sw ??= await startSwtpm();
  const csr = join(work, 'exists.csr');
  t.is((await factory(['pki-key', '--tpm', sw.spec, '--subject', 'CN=a', '--csr', csr])).code, 0);
  const before = readFileSync(csr);
  const exists = await factory(['pki-key', '--tpm', sw.spec, '--subject', 'CN=b', '--csr', csr]);
  t.is(exists.code, EXIT.EXISTS);
  t.deepEqual(readFileSync(csr), before);
  const bad = await factory([
    'pki-key',
    '--tpm',
    sw.spec,
    '--subject',
    'XX=1',
    '--csr',
    join(work, 'bad.csr'),
  ]);
  t.is(bad.code, EXIT.BAD_INPUT);
  t.regex(bad.stderr, /--subject/);
  t.false(existsSync(join(work, 'bad.csr')));
  // the SRK at 0x81000001 is a restricted decryption key: not usable as the PKI key
  const srk = await factory([
    'pki-key',
    '--tpm',
    sw.spec,
    '--subject',
    'CN=c',
    '--csr',
    join(work, 'c.csr'),
    '--handle',
    '0x81000001',
  ]);
  t.is(srk.code, EXIT.TPM_FOREIGN_STATE, srk.stderr);
  const range = await factory([
    'pki-key',
    '--tpm',
    sw.spec,
    '--subject',
    'CN=c',
    '--csr',
    join(work, 'c.csr'),
    '--handle',
    '0x81800000',
  ]);
  t.is(range.code, EXIT.BAD_INPUT);
});
