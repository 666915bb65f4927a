// Interop checks in TPM mode (needs a reference build with USE_TPM=ON and swtpm): a TPM provisioned
// by OUR factory (`xtt-factory create-batch`, `root create`, `server-cert`, `provision` against
// swtpm: ECDAA key 0x81800000, NV 0x01410000/1/7/9 in the xaptum-tpm layout) is used by the
// reference client in TPM mode (`xtt runclient -m -t socket`: xaptum-tpm reads the NV objects,
// ecdaa-tpm signs with TPM2_Commit/TPM2_Sign, the long-term key is created in the TPM), first
// against our server, then against the reference server given the same factory batch and root.
// Both servers must extract the same DAA pseudonym (the TPM's key over the batch basename).
// The reference's mssim TCTI reaches swtpm through mssim-proxy.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes, toHex } from '../../protocol/util/bytes.ts';
import { parseIpv6 } from '../../server-stub/registry/ipv6.ts';
import { startSwtpm } from '../helpers/swtpm.ts';
import { expect, freePort, pass, skip, tempDir, type Check, type InteropContext } from './interop-env.ts';
import { startMssimProxy } from './mssim-proxy.ts';
import { startOurServer, SUITE_NAMES } from './our-server-checks.ts';
import { runJson } from './project-cli.ts';
import { findByteList, parseIdText, ReferenceServer, runTool } from './reference-tool.ts';

const BASENAME = 'lot-2026-11';

interface Issued {
  certificate: string;
  keyFile: string;
}

function hasSwtpm(): boolean {
  return spawnSync('swtpm', ['--version'], { encoding: 'utf8' }).status === 0;
}

/**
 * `xtt runclient -m -t socket` (TPM mode over the mssim TCTI, which must reach swtpm through a
 * running mssim-proxy.ts) in `dir`; output files are prefixed with `name`. Asserts it completed.
 */
export async function runTpmReferenceClient(
  ctx: InteropContext,
  dir: string,
  name: string,
  port: number,
  suite: keyof typeof SUITE_NAMES,
): Promise<{ identity: Uint8Array; longterm: Uint8Array }> {
  const args = [
    'runclient',
    '-m',
    '-t',
    'socket',
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-s',
    SUITE_NAMES[suite],
    '-i',
    `${name}_id.txt`,
    '-b',
    `${name}_longterm_cert.bin`,
    '-v',
    `${name}_longterm_priv.pem`,
  ];
  const r = await runTool(ctx.ref, args, dir, 120_000);
  expect(
    r.code === 0 && r.stdout.includes('Handshake completed successfully!'),
    `TPM-mode reference client failed (exit ${r.code ?? r.signal}): ${(r.stderr + r.stdout).trim().slice(-400)}`,
  );
  const longterm = findByteList(r.stdout, 'My longterm key:');
  expect(longterm !== undefined, 'reference client printed no long-term key');
  return { identity: parseIdText(readFileSync(join(dir, `${name}_id.txt`), 'latin1')), longterm };
}

export const tpmChecks: Check[] = [
  {
    id: 'tpm-reference-client',
    title:
      'reference client in TPM mode on a TPM provisioned by xtt-factory -> our server, then -> reference server',
    async run(ctx) {
      if (!ctx.ref.hasTpm) return skip('the reference build has USE_TPM=OFF');
      if (!hasSwtpm()) return skip('swtpm not installed');
      const work = tempDir(ctx, 'tpm');
      const tpm = await startSwtpm();
      const proxy = await startMssimProxy(tpm.port).catch(async (e: unknown) => {
        await tpm.stop();
        work.done();
        throw e;
      });
      try {
        const batchDir = join(work.path, 'batch');
        // Basename "lot-2026-11": hash-to-curve needs counter 6 (s2 = LE32(6) || basename), where the
        // reference's sample "BASENAME" needs 1: exercises the counter on both sides.
        const batch = (await runJson('xtt-factory', [
          'create-batch',
          '--out',
          batchDir,
          '--name',
          'interop',
          '--basename',
          BASENAME,
        ])) as { gid: string };
        const root = (await runJson('xtt-factory', [
          'root',
          'create',
          '--out',
          join(work.path, 'root'),
        ])) as Issued;
        const srv = (await runJson('xtt-factory', [
          'server-cert',
          '--root',
          join(work.path, 'root'),
          '--out',
          join(work.path, 'server'),
        ])) as Issued;
        const prov = (await runJson('xtt-factory', [
          'provision',
          '--batch',
          batchDir,
          '--tpm',
          tpm.spec,
          '--root-cert',
          root.certificate,
        ])) as { gid: string; outcome: string };
        expect(prov.gid === batch.gid, 'provision reported another gid than the batch');

        // 1) against our server, batch registered from the factory's gpk.bin and basename.bin
        const ours = await startOurServer(
          ctx,
          {
            registerBatch: true,
            importFrom: { rootCert: root.certificate, serverCert: srv.certificate, serverKey: srv.keyFile },
          },
          join(batchDir, 'gpk.bin'),
          join(batchDir, 'basename.bin'),
        );
        let ourPseudonym: string;
        let ourIdentity: string;
        try {
          const r = await runTpmReferenceClient(ctx, work.path, 'c1', ours.server.port, 1);
          const devices = await ours.devices();
          expect(devices.length === 1, `registry holds ${devices.length} devices`);
          const d = devices[0]!;
          expect(equalBytes(parseIpv6(d.identity, 'identity'), r.identity), 'registry identity differs');
          expect(
            d.longtermPublicKey === toHex(r.longterm),
            'registry long-term key differs from the TPM key',
          );
          expect(d.status === 'active', `device is ${d.status}`);
          ourPseudonym = d.pseudonym;
          ourIdentity = d.identity;
        } finally {
          await ours.close();
        }

        // 2) against the reference server with the same batch, root and server certificate
        const port = await freePort();
        const ref = await ReferenceServer.start(ctx.ref, work.path, port, [
          '-d',
          join(batchDir, 'gpk.bin'),
          '-b',
          join(batchDir, 'basename.bin'),
          '-k',
          srv.keyFile,
          '-c',
          srv.certificate,
        ]);
        try {
          const mark = ref.mark();
          const r = await runTpmReferenceClient(ctx, work.path, 'c2', port, 4);
          await ref.waitFor(/The client has pseudonym: \{[^}]*\}/, mark, 15_000);
          const out = ref.output();
          expect(
            out.slice(mark).includes('which matches the gid we have!'),
            'reference server: gid mismatch',
          );
          const assigned = findByteList(out, 'We assigned the client the id:', mark);
          const pseudonym = findByteList(out, 'The client has pseudonym:', mark);
          expect(
            assigned !== undefined && equalBytes(assigned, r.identity),
            'identity differs between sides',
          );
          expect(
            pseudonym !== undefined && toHex(pseudonym) === ourPseudonym,
            'the reference server extracted another pseudonym than our server',
          );
        } finally {
          await ref.stop();
        }
        expect(
          proxy.platformCommands.includes(1) && proxy.platformCommands.includes(11),
          `mssim platform commands seen: ${JSON.stringify(proxy.platformCommands)}`,
        );
        return pass(
          `basename ${BASENAME}; our server: ${ourIdentity}; reference server: same pseudonym ${ourPseudonym.slice(0, 18)}...; ` +
            `${proxy.dataConnections()} mssim data connections`,
        );
      } finally {
        await proxy.close();
        await tpm.stop();
        work.done();
      }
    },
  },
];
