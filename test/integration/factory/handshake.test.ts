// End to end before the field: everything made by `xtt-factory` (root, server certificate, batch, a
// provisioned swtpm) carries a whole XTT 0.12 identity handshake. The client takes all it knows from
// the TPM as the reference client does (basename, GPK, credential, root certificate from the NV
// indices; ECDAA key 0x81800000), the in-process protocol/xtt server uses the factory's server
// certificate and key and knows the batch by its GPK. A server certified by another root is refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { MemoryPolicy, makeParties, makePki, pump, type Pki } from '../../helpers/xtt-parties.ts';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { decodeRootCertificate } from '../../../protocol/xtt/certificates.ts';
import { SoftwareP256Signer } from '../../../protocol/xtt/signers.ts';
import { TpmDaaSigner } from '../../../tpm/ecdaa-signer.ts';
import { TpmLongtermKey } from '../../../tpm/longterm-key.ts';
import { readDeviceObjects } from '../../../tpm/nv-layout.ts';
import { factory, withTpm } from './helpers/factory-run.ts';

const test = suiteRequires('factory provisioning', ['swtpm']);

let work = '';
let sw: SwtpmInstance | undefined;

test.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'factory-hs-'));
  sw = await startSwtpm();
});

test.after.always(async () => {
  await sw?.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('a factory-provisioned TPM completes XTT handshakes against the factory-certified server', async (t) => {
  const run = async (...args: string[]): Promise<void> => {
    const r = await factory(args);
    if (r.code !== 0) throw new Error(`xtt-factory ${args.join(' ')}: ${r.stderr}`);
  };
  await run('root', 'create', '--out', join(work, 'root'));
  await run('server-cert', '--root', join(work, 'root'), '--out', join(work, 'server'));
  await run('create-batch', '--out', join(work, 'batch'), '--size', '3');
  await run(
    'provision',
    '--batch',
    join(work, 'batch'),
    '--tpm',
    sw!.spec,
    '--root-cert',
    join(work, 'root', 'root_cert.bin'),
  );

  const file = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(work, ...p)));
  const pki: Pki = {
    root: decodeRootCertificate(file('root', 'root_cert.bin')),
    rootCertificate: file('root', 'root_cert.bin'),
    rootSigner: SoftwareP256Signer.fromKeyFile(file('root', 'root_keys.asn1.bin'), systemRng),
    serverSigner: SoftwareP256Signer.fromKeyFile(file('server', 'server_keys.asn1.bin'), systemRng),
    serverCertificate: file('server', 'server_certificate.bin'),
  };
  const policy = new MemoryPolicy([
    { gpk: file('batch', 'gpk.bin'), basename: file('batch', 'basename.bin') },
  ]);
  const gid = (JSON.parse(readFileSync(join(work, 'batch', 'manifest.json'), 'utf8')) as { gid: string }).gid;

  await withTpm(sw!, async (tpm) => {
    const nv = await readDeviceObjects(tpm);
    const roots = [decodeRootCertificate(nv.rootXttCert)];
    const daa = await TpmDaaSigner.fromTpm(tpm);
    for (const suite of [1, 2, 3, 4] as const) {
      const longterm = await TpmLongtermKey.create(tpm);
      const p = makeParties({ suite, daa, policy, pki });
      const out = await pump(p.client({ longterm, roots }), p.server.accept());
      t.is(out.client.kind, 'done', `suite ${suite}`);
      t.is(out.server.kind, 'done', `suite ${suite}`);
      if (out.server.kind === 'done') t.is(toHex(out.server.result.gid), gid);
    }
    // The same device against a server whose certificate comes from another root: refused by the client.
    const stranger = makePki();
    const p = makeParties({ suite: 1, daa, policy, pki: stranger });
    const out = await pump(
      p.client({ longterm: await TpmLongtermKey.create(tpm), roots }),
      p.server.accept(),
    );
    t.is(out.client.kind, 'failed');
  });
});
