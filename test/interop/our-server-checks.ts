// Interop checks, direction 2: the reference client (`xtt runclient`, xaptum/xtt 0.12 tool/client.c,
// software DAA with the reference's sample member) against our server (`enf-server start`,
// server-stub/) over TCP. Each check makes a fresh state directory with the operator commands
// (init, network add, batch add from the sample member's daa_gpk.bin + basename.bin), then compares
// what the reference client wrote (client_id.txt, its long-term key) with our registry and audit.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes, toHex } from '../../protocol/util/bytes.ts';
import { parseIpv6 } from '../../server-stub/registry/ipv6.ts';
import { expect, IN_NETNS_ENV, pass, skip, tempDir, type Check, type InteropContext } from './interop-env.ts';
import { SAMPLE_PSEUDONYM } from './our-client-checks.ts';
import { EnfServer, runJson } from './project-cli.ts';
import { findByteList, parseIdText, runTool, type ToolRun } from './reference-tool.ts';

export const SUITE_NAMES = {
  1: 'X25519_LRSW_ECDSAP256_CHACHA20POLY1305_SHA512',
  2: 'X25519_LRSW_ECDSAP256_CHACHA20POLY1305_BLAKE2B',
  3: 'X25519_LRSW_ECDSAP256_AES256GCM_SHA512',
  4: 'X25519_LRSW_ECDSAP256_AES256GCM_BLAKE2B',
} as const;

const NETWORK_PREFIX = 'fd00:7474:1::/64';

interface DeviceJson {
  identity: string;
  pseudonym: string;
  longtermPublicKey: string;
  status: string;
  handshakeCount: number;
}
interface AuditJson {
  sourceAddress: string;
  outcome: string;
  reason: string;
  identity: string | null;
  pseudonym: string | null;
  suite: number | null;
}

export interface OurServer {
  dir: string;
  server: EnfServer;
  rootCertificate: string;
  devices(): Promise<DeviceJson[]>;
  audit(): Promise<AuditJson[]>;
  close(): Promise<void>;
}

/** A fresh enf-server state directory (own root, or `init --import` of given files) and a running server. */
export async function startOurServer(
  ctx: InteropContext,
  o: {
    registerBatch: boolean;
    importFrom?: { rootCert: string; serverCert: string; serverKey: string };
    bind?: string;
  },
  gpkFile = join(ctx.sampleDir, 'daa_gpk.bin'),
  basenameFile = join(ctx.sampleDir, 'basename.bin'),
): Promise<OurServer> {
  const tmp = tempDir(ctx, 'enf');
  const dir = join(tmp.path, 'state');
  try {
    const imp = o.importFrom;
    const init = imp
      ? [
          'init',
          '--import',
          '--root-cert',
          imp.rootCert,
          '--server-cert',
          imp.serverCert,
          '--server-key',
          imp.serverKey,
        ]
      : ['init'];
    const made = (await runJson('enf-server', ['--dir', dir, ...init])) as {
      files: { rootCertificate: string };
    };
    await runJson('enf-server', [
      '--dir',
      dir,
      'network',
      'add',
      '--name',
      'interop',
      '--prefix',
      NETWORK_PREFIX,
    ]);
    if (o.registerBatch) {
      await runJson('enf-server', [
        '--dir',
        dir,
        'batch',
        'add',
        '--gpk-file',
        gpkFile,
        '--basename-file',
        basenameFile,
        '--name',
        'reference-sample',
        '--network',
        'interop',
        '--size',
        '10',
      ]);
    }
    const server = await EnfServer.start(dir, o.bind);
    return {
      dir,
      server,
      rootCertificate: made.files.rootCertificate,
      devices: async () => (await runJson('enf-server', ['--dir', dir, 'device', 'list'])) as DeviceJson[],
      audit: async () => (await runJson('enf-server', ['--dir', dir, 'audit'])) as AuditJson[],
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

export interface ReferenceClientRun extends ToolRun {
  /** From client_id.txt, when the handshake completed. */
  identity?: Uint8Array;
  /** The "My longterm key" the tool printed. */
  longterm?: Uint8Array;
}

/** `xtt runclient` in `dir` (which holds the member files and root_cert.bin) against our server. */
export async function runReferenceClient(
  ctx: InteropContext,
  dir: string,
  port: number,
  suite: keyof typeof SUITE_NAMES,
  extra: readonly string[] = [],
  host = '127.0.0.1',
): Promise<ReferenceClientRun> {
  const args = ['runclient', '-a', host, '-p', String(port), '-s', SUITE_NAMES[suite], ...extra];
  const r: ReferenceClientRun = await runTool(ctx.ref, args, dir, 90_000);
  if (r.code === 0 && r.stdout.includes('Handshake completed successfully!')) {
    r.identity = parseIdText(readFileSync(join(dir, 'client_id.txt'), 'latin1'));
    const lt = findByteList(r.stdout, 'My longterm key:');
    if (lt) r.longterm = lt;
  }
  return r;
}

/** A client working directory with the sample member and the given root certificate. */
function clientDir(ctx: InteropContext, rootCertificate: string): { path: string; done(): void } {
  const d = tempDir(ctx, 'refclient');
  for (const f of ['daa_gpk.bin', 'daa_cred.bin', 'daa_secretkey.bin', 'basename.bin']) {
    copyFileSync(join(ctx.sampleDir, f), join(d.path, f));
  }
  copyFileSync(rootCertificate, join(d.path, 'root_cert.bin'));
  return d;
}

function completed(r: ReferenceClientRun, what: string): Uint8Array {
  expect(
    r.identity !== undefined,
    `${what}: reference client failed (exit ${r.code ?? r.signal}): ${(r.stderr || r.stdout).trim().slice(-300)}`,
  );
  return r.identity;
}

/** The registry's view of the sample member must match what the reference client ended up with. */
async function expectRegistered(
  s: OurServer,
  r: ReferenceClientRun,
  handshakes: number,
): Promise<DeviceJson> {
  const devices = await s.devices();
  expect(devices.length === 1, `registry holds ${devices.length} devices, expected 1`);
  const d = devices[0]!;
  expect(
    equalBytes(parseIpv6(d.identity, 'identity'), r.identity!),
    `registry identity ${d.identity} differs`,
  );
  expect(
    d.pseudonym === SAMPLE_PSEUDONYM,
    `registry pseudonym ${d.pseudonym.slice(0, 16)}... is not the sample's`,
  );
  expect(
    r.longterm !== undefined && d.longtermPublicKey === toHex(r.longterm),
    'registry long-term key differs',
  );
  expect(
    d.status === 'active' && d.handshakeCount === handshakes,
    `device ${d.status}, ${d.handshakeCount} handshakes`,
  );
  return d;
}

export const ourServerChecks: Check[] = [
  {
    id: 'server-suites',
    title: 'reference client -> our server: suites 1-4, registry and audit, same identity after allow-rekey',
    async run(ctx) {
      const s = await startOurServer(ctx, { registerBatch: true });
      const c = clientDir(ctx, s.rootCertificate);
      try {
        const first = await runReferenceClient(ctx, c.path, s.server.port, 1);
        const id = completed(first, 'suite 1');
        const dev = await expectRegistered(s, first, 1);
        expect(
          dev.identity.startsWith('fd00:7474:1:0:'),
          `identity ${dev.identity} outside ${NETWORK_PREFIX}`,
        );
        for (const suite of [2, 3, 4] as const) {
          // The reference client makes a new long-term key on every run; our server takes a new key
          // for a known pseudonym only after the operator allows it once.
          await runJson('enf-server', ['--dir', s.dir, 'device', 'allow-rekey', dev.identity]);
          const r = await runReferenceClient(ctx, c.path, s.server.port, suite);
          expect(equalBytes(completed(r, `suite ${suite}`), id), `suite ${suite}: identity changed`);
          await expectRegistered(s, r, suite);
        }
        const audit = await s.audit();
        const provisioned = audit.filter(
          (a) => a.outcome === 'provisioned' && a.pseudonym === SAMPLE_PSEUDONYM,
        );
        const suites = provisioned.map((a) => a.suite).sort();
        expect(JSON.stringify(suites) === '[1,2,3,4]', `audit lists suites ${JSON.stringify(suites)}`);
        return pass(`identity ${dev.identity}; audit: ${provisioned.map((a) => a.reason).join(', ')}`);
      } finally {
        c.done();
        await s.close();
      }
    },
  },
  {
    id: 'server-rekey-refused',
    title: 'reference client -> our server: a second run (new long-term key) is refused and audited',
    async run(ctx) {
      const s = await startOurServer(ctx, { registerBatch: true });
      const c = clientDir(ctx, s.rootCertificate);
      try {
        completed(await runReferenceClient(ctx, c.path, s.server.port, 1), 'first run');
        const again = await runReferenceClient(ctx, c.path, s.server.port, 1);
        expect(again.code !== 0, 'second run with a new long-term key was accepted');
        expect(
          `${again.stdout}${again.stderr}`.includes('Received error message from server'),
          `reference client did not see an XTT Error message: ${again.stderr.slice(-200)}`,
        );
        const refused = (await s.audit()).filter((a) => a.outcome === 'refused');
        expect(refused.length === 1, `audit has ${refused.length} refusals`);
        return pass(`refused with audit reason ${refused[0]!.reason}; client saw an Error message`);
      } finally {
        c.done();
        await s.close();
      }
    },
  },
  {
    id: 'server-unknown-batch',
    title: 'reference client -> our server: a batch the registry does not know is refused',
    async run(ctx) {
      const s = await startOurServer(ctx, { registerBatch: false });
      const c = clientDir(ctx, s.rootCertificate);
      try {
        const r = await runReferenceClient(ctx, c.path, s.server.port, 2);
        expect(r.code !== 0 && r.identity === undefined, 'unknown batch was provisioned');
        expect(
          `${r.stdout}${r.stderr}`.includes('Received error message from server'),
          'client saw no XTT Error message',
        );
        const audit = await s.audit();
        expect(
          audit.some((a) => a.outcome === 'refused' && a.reason === 'unknown-batch'),
          'no unknown-batch audit',
        );
        expect((await s.devices()).length === 0, 'a device was registered');
        return pass('refused, audit reason unknown-batch');
      } finally {
        c.done();
        await s.close();
      }
    },
  },
  {
    id: 'server-requested-id',
    title: 'reference client -> our server: an identity requested with -q inside the network is granted',
    async run(ctx) {
      const s = await startOurServer(ctx, { registerBatch: true });
      const c = clientDir(ctx, s.rootCertificate);
      try {
        const wanted = parseIpv6('fd00:7474:1::4242:17', 'requested');
        writeFileSync(join(c.path, 'requested_id.bin'), wanted);
        const r = await runReferenceClient(ctx, c.path, s.server.port, 3, ['-q', 'requested_id.bin']);
        expect(equalBytes(completed(r, 'requested id'), wanted), 'granted identity differs from the request');
        await expectRegistered(s, r, 1);
        return pass('granted fd00:7474:1::4242:17');
      } finally {
        c.done();
        await s.close();
      }
    },
  },
  {
    id: 'server-ipv6',
    title: 'reference client -> our server over IPv6 loopback (::1)',
    async run(ctx) {
      if (process.env[IN_NETNS_ENV] !== '1') return skip('runs only inside the private network namespace');
      const s = await startOurServer(ctx, { registerBatch: true, bind: '::1' });
      const c = clientDir(ctx, s.rootCertificate);
      try {
        const r = await runReferenceClient(ctx, c.path, s.server.port, 2, [], '::1');
        completed(r, 'IPv6');
        const d = await expectRegistered(s, r, 1);
        const audit = await s.audit();
        const sources = audit.map((a) => a.sourceAddress);
        expect(sources.includes('::1'), `audit sources ${JSON.stringify(sources)}`);
        return pass(`identity ${d.identity}, audited from ::1`);
      } finally {
        c.done();
        await s.close();
      }
    },
  },
  {
    id: 'server-factory-root',
    title:
      'reference client -> our server: root and server certificate made by xtt-factory, imported by enf-server init',
    async run(ctx) {
      const pki = tempDir(ctx, 'factory-pki');
      try {
        const root = (await runJson('xtt-factory', ['root', 'create', '--out', join(pki.path, 'root')])) as {
          certificate: string;
          keyFile: string;
        };
        const srv = (await runJson('xtt-factory', [
          'server-cert',
          '--root',
          join(pki.path, 'root'),
          '--out',
          join(pki.path, 'server'),
        ])) as { certificate: string; keyFile: string };
        const s = await startOurServer(ctx, {
          registerBatch: true,
          importFrom: { rootCert: root.certificate, serverCert: srv.certificate, serverKey: srv.keyFile },
        });
        const c = clientDir(ctx, root.certificate);
        try {
          const r = await runReferenceClient(ctx, c.path, s.server.port, 4);
          completed(r, 'factory root');
          const d = await expectRegistered(s, r, 1);
          return pass(`identity ${d.identity} under a factory-made root`);
        } finally {
          c.done();
          await s.close();
        }
      } finally {
        pki.done();
      }
    },
  },
];
