// Interop checks, direction 1: our XTT client (protocol/xtt XttClient over agent/xtt-tcp-client.ts,
// software DAA signer with the reference's sample member) against the reference server
// (`xtt runserver`, xaptum/xtt 0.12 tool/server.c) with a root and server certificate made by the
// reference tool itself (genkeypair, genrootcert, genservercert). What the reference server prints
// (claimed gid match, assigned id, the client's long-term key and DAA pseudonym) is compared with
// what our client ended up with.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runXttClientOverTcp } from '../../agent/xtt-tcp-client.ts';
import { ZtpError } from '../../protocol/errors.ts';
import { equalBytes, toHex } from '../../protocol/util/bytes.ts';
import { systemRng } from '../../protocol/util/rng.ts';
import { decodeRootCertificate, type RootCertificate } from '../../protocol/xtt/certificates.ts';
import { XttClient, type ClientResult } from '../../protocol/xtt/client.ts';
import { ALL_SUITES, type SuiteSpec } from '../../protocol/xtt/constants.ts';
import { SoftwareP256Signer } from '../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../../protocol/xtt/software-daa-signer.ts';
import {
  expect,
  freePort,
  pass,
  readSampleMember,
  tempDir,
  type Check,
  type InteropContext,
} from './interop-env.ts';
import { findByteList, ReferenceServer, runToolOk, type ReferenceBuild } from './reference-tool.ts';

/** The sample member's pseudonym over basename "BASENAME" (test/vectors/xtt-0.12-sample-data/README.md). */
export const SAMPLE_PSEUDONYM =
  '044a837955cb202af0c115afde5396255d5a46c14edd3a95cecd0d122cf7bcb7f5f455339b2d8b35228d2120a7e4d47b2af7b76641377ccfb38187865de0a04691';

/** Makes root and server keys and certificates with the reference tool in `dir` (its default names). */
export async function referencePki(ref: ReferenceBuild, dir: string): Promise<RootCertificate> {
  await runToolOk(ref, ['genkeypair', '-k', 'root_keys.asn1.bin'], dir);
  await runToolOk(ref, ['genrootcert', '-k', 'root_keys.asn1.bin', '-c', 'root_cert.bin'], dir);
  await runToolOk(ref, ['genkeypair', '-k', 'server_keys.asn1.bin'], dir);
  // genservercert ignores -c and always writes server_cert.bin (xtt-0.12 vectors README, tool quirks).
  await runToolOk(
    ref,
    ['genservercert', '-r', 'root_cert.bin', '-k', 'root_keys.asn1.bin', '-s', 'server_keys.asn1.bin'],
    dir,
  );
  return decodeRootCertificate(new Uint8Array(readFileSync(join(dir, 'root_cert.bin'))));
}

interface ServerSetup {
  server: ReferenceServer;
  port: number;
  root: RootCertificate;
  close(): Promise<void>;
}

async function startReferenceServer(
  ctx: InteropContext,
  label: string,
  o: { misSigned?: boolean } = {},
): Promise<ServerSetup> {
  const tmp = tempDir(ctx, label);
  try {
    const root = await referencePki(ctx.ref, tmp.path);
    if (o.misSigned) {
      // Same root_id in the server certificate, but signed by another root key.
      await runToolOk(ctx.ref, ['genkeypair', '-k', 'other_root_keys.asn1.bin'], tmp.path);
      await runToolOk(
        ctx.ref,
        [
          'genservercert',
          '-r',
          'root_cert.bin',
          '-k',
          'other_root_keys.asn1.bin',
          '-s',
          'server_keys.asn1.bin',
        ],
        tmp.path,
      );
    }
    copyFileSync(join(ctx.sampleDir, 'daa_gpk.bin'), join(tmp.path, 'daa_gpk.bin'));
    copyFileSync(join(ctx.sampleDir, 'basename.bin'), join(tmp.path, 'basename.bin'));
    const port = await freePort();
    const server = await ReferenceServer.start(ctx.ref, tmp.path, port);
    return {
      server,
      port,
      root,
      close: async () => {
        await server.stop();
        tmp.done();
      },
    };
  } catch (e) {
    tmp.done();
    throw e;
  }
}

function ourClient(
  ctx: InteropContext,
  suite: SuiteSpec,
  roots: RootCertificate[],
  requestedId?: Uint8Array,
) {
  const longterm = SoftwareP256Signer.generate(systemRng);
  const client = new XttClient({
    suite,
    roots,
    longterm,
    daa: new SoftwareDaaSigner(readSampleMember(ctx.sampleDir), systemRng),
    rng: systemRng,
    ...(requestedId ? { requestedId } : {}),
  });
  return { client, longterm };
}

function connect(client: XttClient, port: number): Promise<ClientResult> {
  return runXttClientOverTcp(client, {
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 5_000,
    handshakeTimeoutMs: 30_000,
    signal: new AbortController().signal,
  });
}

/** One handshake of ours against the running reference server; asserts both sides' views agree. */
async function handshakeAndCompare(
  ctx: InteropContext,
  s: ServerSetup,
  suite: SuiteSpec,
  requestedId?: Uint8Array,
): Promise<string> {
  const { client, longterm } = ourClient(ctx, suite, [s.root], requestedId);
  const mark = s.server.mark();
  const result = await connect(client, s.port);
  await s.server.waitFor(/The client has pseudonym: \{[^}]*\}/, mark, 15_000);
  const out = s.server.output();
  expect(out.slice(mark).includes('which matches the gid we have!'), 'reference server: gid mismatch');
  expect(out.slice(mark).includes('Handshake completed successfully!'), 'reference server did not complete');
  const assigned = findByteList(out, 'We assigned the client the id:', mark);
  const theirLongterm = findByteList(out, 'The client sent us the longterm key:', mark);
  const pseudonym = findByteList(out, 'The client has pseudonym:', mark);
  expect(assigned !== undefined && equalBytes(assigned, result.identity), 'identity differs between sides');
  expect(
    theirLongterm !== undefined && equalBytes(theirLongterm, longterm.publicKey),
    'long-term key the server received differs from ours',
  );
  expect(pseudonym !== undefined && toHex(pseudonym) === SAMPLE_PSEUDONYM, 'unexpected DAA pseudonym');
  expect(result.suite === suite, `suite ${result.suite} negotiated, ${suite} asked`);
  if (requestedId) expect(equalBytes(result.identity, requestedId), 'server did not grant the requested id');
  return toHex(result.identity);
}

export const ourClientChecks: Check[] = [
  {
    id: 'client-suites',
    title: 'our client -> reference server: suites 1-4, server-assigned identity',
    async run(ctx) {
      const s = await startReferenceServer(ctx, 'srv');
      try {
        const ids: string[] = [];
        for (const suite of ALL_SUITES)
          ids.push(`suite ${suite} id ${await handshakeAndCompare(ctx, s, suite)}`);
        return pass(ids.join('; '));
      } finally {
        await s.close();
      }
    },
  },
  {
    id: 'client-requested-id',
    title: 'our client -> reference server: requested identity is granted',
    async run(ctx) {
      const s = await startReferenceServer(ctx, 'srv-req');
      try {
        const wanted = Uint8Array.from(Buffer.from('fd00747400000000112233445566778a', 'hex'));
        return pass(`id ${await handshakeAndCompare(ctx, s, 1, wanted)}`);
      } finally {
        await s.close();
      }
    },
  },
  {
    id: 'client-unknown-root',
    title: 'our client -> reference server: a server certificate from another root is refused',
    async run(ctx) {
      const s = await startReferenceServer(ctx, 'srv-root');
      try {
        const otherRoot = { ...s.root, rootId: s.root.rootId.map((b) => b ^ 0xff) };
        const { client } = ourClient(ctx, 1, [otherRoot]);
        const mark = s.server.mark();
        const err = await connect(client, s.port).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err instanceof ZtpError, 'our client accepted a server certificate from an unknown root');
        // The reference server must see a well-formed Error message (41 00 04 01), not garbage.
        await s.server.waitFor(/Received error message from client/, mark, 10_000);
        return pass(`client refused with ${err.code}; reference server logged our Error message`);
      } finally {
        await s.close();
      }
    },
  },
  {
    id: 'client-bad-root-signature',
    title:
      'our client -> reference server: a server certificate with the right root_id but a forged root signature is refused',
    async run(ctx) {
      const s = await startReferenceServer(ctx, 'srv-forged', { misSigned: true });
      try {
        const { client } = ourClient(ctx, 2, [s.root]);
        const mark = s.server.mark();
        const err = await connect(client, s.port).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(
          err instanceof ZtpError,
          'our client accepted a server certificate with a forged root signature',
        );
        await s.server.waitFor(/Received error message from client/, mark, 10_000);
        return pass(`client refused with ${err.code}; reference server logged our Error message`);
      } finally {
        await s.close();
      }
    },
  },
];
