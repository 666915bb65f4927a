// Interop check of OUR issuer against the reference's member side (xaptum/ecdaa 1.0.0 tool/):
// a batch made by `xtt-factory create-batch` (issuer key pair, ipk.bin with its proof, gpk.bin);
// the reference tool extracts the gpk from our ipk.bin (`extractgpk`, which checks the issuer proof)
// and must get our gpk.bin; a member made by the reference tool (`member genkeys`, join request with
// a nonce) is answered by protocol/ecdaa issueCredential with the batch's issuer secret key, and the
// reference tool accepts that credential and credential signature (`member processcredential`);
// finally the reference client with that member completes a handshake against our server serving
// the batch. Skipped when the prefix has no bin/ecdaa.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCredential } from '../../protocol/ecdaa/issuer.ts';
import {
  decodeIssuerSecretKey,
  decodeJoinRequest,
  encodeCredential,
  encodeCredentialSignature,
} from '../../protocol/ecdaa/structures.ts';
import { equalBytes, wipe } from '../../protocol/util/bytes.ts';
import { systemRng } from '../../protocol/util/rng.ts';
import { expect, pass, skip, tempDir, type Check, type InteropContext } from './interop-env.ts';
import { runReferenceClient, startOurServer } from './our-server-checks.ts';
import { runJson } from './project-cli.ts';
import { runToolOk } from './reference-tool.ts';

const NONCE = 'interop-join-nonce';

async function run(ctx: InteropContext) {
  if (!ctx.ref.ecdaa) return skip('no bin/ecdaa in the reference prefix');
  const ecdaa = ctx.ref.ecdaa;
  const work = tempDir(ctx, 'our-issuer');
  try {
    const batchDir = join(work.path, 'batch');
    await runJson('xtt-factory', ['create-batch', '--out', batchDir, '--name', 'issuer-interop']);
    const batchFile = (name: string) => new Uint8Array(readFileSync(join(batchDir, name)));

    const m = join(work.path, 'member');
    mkdirSync(m);
    const tool = (args: string[]) => runToolOk(ctx.ref, args, m, ecdaa);
    await tool(['extractgpk', '-p', join(batchDir, 'ipk.bin'), '-g', 'extracted_gpk.bin']);
    const extracted = new Uint8Array(readFileSync(join(m, 'extracted_gpk.bin')));
    expect(
      equalBytes(extracted, batchFile('gpk.bin')),
      'reference extractgpk of our ipk.bin differs from gpk.bin',
    );

    await tool(['member', 'genkeys', '-p', 'pk.bin', '-s', 'daa_secretkey.bin', '-n', NONCE]);
    const isk = batchFile('issuer-secret.key');
    try {
      const request = decodeJoinRequest(new Uint8Array(readFileSync(join(m, 'pk.bin'))));
      const issued = issueCredential(
        decodeIssuerSecretKey(isk),
        request,
        new TextEncoder().encode(NONCE),
        systemRng,
      );
      writeFileSync(join(m, 'daa_cred.bin'), encodeCredential(issued.credential));
      writeFileSync(join(m, 'cred_sig.bin'), encodeCredentialSignature(issued.credentialSignature));
    } finally {
      wipe(isk);
    }
    await tool([
      'member',
      'processcredential',
      '-p',
      'pk.bin',
      '-g',
      join(batchDir, 'gpk.bin'),
      '-c',
      'daa_cred.bin',
      '-r',
      'cred_sig.bin',
    ]);

    writeFileSync(join(m, 'daa_gpk.bin'), batchFile('gpk.bin'));
    writeFileSync(join(m, 'basename.bin'), batchFile('basename.bin'));
    const ours = await startOurServer(
      ctx,
      { registerBatch: true },
      join(batchDir, 'gpk.bin'),
      join(batchDir, 'basename.bin'),
    );
    try {
      writeFileSync(join(m, 'root_cert.bin'), readFileSync(ours.rootCertificate));
      const r = await runReferenceClient(ctx, m, ours.server.port, 1);
      expect(r.identity !== undefined, `reference client failed: ${(r.stderr || r.stdout).slice(-300)}`);
      const devices = await ours.devices();
      expect(devices.length === 1 && devices[0]!.status === 'active', 'device not registered');
      return pass(
        `extractgpk matches; processcredential accepts our credential; handshake -> ${devices[0]!.identity}`,
      );
    } finally {
      await ours.close();
    }
  } finally {
    work.done();
  }
}

export const ourIssuerChecks: Check[] = [
  {
    id: 'ecdaa-our-issuer',
    title:
      'our issuer (xtt-factory batch) with a reference ecdaa-tool member: extractgpk, processcredential, handshake',
    run,
  },
];
