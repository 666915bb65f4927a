// Interop check with a DAA group that is not the fixed sample: a fresh issuer and member made by the
// reference's own ecdaa tool (xaptum/ecdaa 1.0.0 tool/: `issuer genkeys`, `extractgpk`,
// `member genkeys`, `issuer issuecredential`, `member processcredential`), basename "plant-a"
// (hash-to-curve counter 0). The member is then used by our client against the reference server and
// by the reference client against our server; both servers must extract the same pseudonym.
// Skipped when the prefix has no bin/ecdaa.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runXttClientOverTcp } from '../../agent/xtt-tcp-client.ts';
import { equalBytes, toHex } from '../../protocol/util/bytes.ts';
import { systemRng } from '../../protocol/util/rng.ts';
import { XttClient } from '../../protocol/xtt/client.ts';
import { SoftwareP256Signer } from '../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../../protocol/xtt/software-daa-signer.ts';
import { expect, freePort, pass, skip, tempDir, type Check, type InteropContext } from './interop-env.ts';
import { referencePki } from './our-client-checks.ts';
import { runReferenceClient, startOurServer } from './our-server-checks.ts';
import { findByteList, ReferenceServer, runToolOk } from './reference-tool.ts';

const BASENAME = 'plant-a';

/** Makes issuer, gpk, member key and credential with the reference ecdaa tool in `dir`. */
async function makeGroup(ctx: InteropContext, dir: string): Promise<void> {
  const ecdaa = ctx.ref.ecdaa!;
  const run = (args: string[]) => runToolOk(ctx.ref, args, dir, ecdaa);
  await run(['issuer', 'genkeys', '-p', 'ipk.bin', '-s', 'isk.bin']);
  await run(['extractgpk', '-p', 'ipk.bin', '-g', 'daa_gpk.bin']);
  await run(['member', 'genkeys', '-p', 'pk.bin', '-s', 'daa_secretkey.bin', '-n', 'interop-nonce']);
  await run(['issuer', 'issuecredential', '-p', 'pk.bin', '-s', 'isk.bin', '-n', 'interop-nonce']);
  await run([
    'member',
    'processcredential',
    '-p',
    'pk.bin',
    '-g',
    'daa_gpk.bin',
    '-c',
    'cred.bin',
    '-r',
    'cred_sig.bin',
  ]);
  copyFileSync(join(dir, 'cred.bin'), join(dir, 'daa_cred.bin'));
  writeFileSync(join(dir, 'basename.bin'), BASENAME);
}

async function run(ctx: InteropContext) {
  if (!ctx.ref.ecdaa) return skip('no bin/ecdaa in the reference prefix');
  const work = tempDir(ctx, 'ecdaa-group');
  try {
    const g = join(work.path, 'group');
    mkdirSync(g);
    await makeGroup(ctx, g);
    const file = (name: string) => new Uint8Array(readFileSync(join(g, name)));
    expect(
      file('daa_gpk.bin').length === 258 && file('daa_cred.bin').length === 260,
      'unexpected ecdaa file sizes',
    );

    // 1) our client -> reference server (root and server certificate from the reference tool)
    const srvDir = join(work.path, 'srv');
    mkdirSync(srvDir);
    const root = await referencePki(ctx.ref, srvDir);
    const port = await freePort();
    const ref = await ReferenceServer.start(ctx.ref, srvDir, port, [
      '-d',
      join(g, 'daa_gpk.bin'),
      '-b',
      join(g, 'basename.bin'),
    ]);
    let theirPseudonym: Uint8Array | undefined;
    try {
      const mark = ref.mark();
      const client = new XttClient({
        suite: 3,
        roots: [root],
        longterm: SoftwareP256Signer.generate(systemRng),
        daa: new SoftwareDaaSigner(
          {
            gpk: file('daa_gpk.bin'),
            credential: file('daa_cred.bin'),
            secretKey: file('daa_secretkey.bin'),
            basename: file('basename.bin'),
          },
          systemRng,
        ),
        rng: systemRng,
      });
      const result = await runXttClientOverTcp(client, {
        host: '127.0.0.1',
        port,
        connectTimeoutMs: 5_000,
        handshakeTimeoutMs: 30_000,
        signal: new AbortController().signal,
      });
      await ref.waitFor(/The client has pseudonym: \{[^}]*\}/, mark, 15_000);
      const assigned = findByteList(ref.output(), 'We assigned the client the id:', mark);
      expect(
        assigned !== undefined && equalBytes(assigned, result.identity),
        'identity differs between sides',
      );
      theirPseudonym = findByteList(ref.output(), 'The client has pseudonym:', mark);
    } finally {
      await ref.stop();
    }

    // 2) reference client -> our server, batch registered from the tool's gpk and the basename
    const ours = await startOurServer(
      ctx,
      { registerBatch: true },
      join(g, 'daa_gpk.bin'),
      join(g, 'basename.bin'),
    );
    try {
      copyFileSync(ours.rootCertificate, join(g, 'root_cert.bin'));
      const r = await runReferenceClient(ctx, g, ours.server.port, 2);
      expect(r.identity !== undefined, `reference client failed: ${(r.stderr || r.stdout).slice(-300)}`);
      const devices = await ours.devices();
      expect(devices.length === 1, `registry holds ${devices.length} devices`);
      expect(
        theirPseudonym !== undefined && devices[0]!.pseudonym === toHex(theirPseudonym),
        'our server and the reference server extracted different pseudonyms for one member',
      );
      return pass(`fresh ecdaa-tool group, basename ${BASENAME}: both directions; pseudonyms agree`);
    } finally {
      await ours.close();
    }
  } finally {
    work.done();
  }
}

export const ecdaaGroupChecks: Check[] = [
  {
    id: 'ecdaa-tool-group',
    title:
      'a fresh group and member made by the reference ecdaa tool: our client -> reference server, reference client -> our server',
    run,
  },
];
