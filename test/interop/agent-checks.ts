// Interop checks with the whole device daemon: the real `xtt-agent run` process (agent/main.ts under
// tsx) provisions against the reference server (`xtt runserver`) and must end with the identity the
// reference server printed configured on its interface (rtnetlink) and stored in its state
// directory (`xtt-agent status --json`). Two key sources:
// - development mode (agent/README.md): the reference's sample member files plus the root_cert.bin
//   the reference tool made;
// - TPM mode: a swtpm provisioned by `xtt-factory provision` (batch, root and server certificate
//   made by xtt-factory), so the reference server verifies ECDAA signatures our TPM signer made with
//   TPM2_Commit/TPM2_Sign and a long-term key created in the TPM.
// Needs root inside the harness's private network namespace (the agent adds an address to a veth
// interface made there); otherwise the checks are skipped.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes } from '../../protocol/util/bytes.ts';
import { formatIpv6 } from '../../server-stub/registry/ipv6.ts';
import { startSwtpm } from '../helpers/swtpm.ts';
import {
  expect,
  freePort,
  IN_NETNS_ENV,
  pass,
  skip,
  tempDir,
  type Check,
  type CheckOutcome,
  type InteropContext,
} from './interop-env.ts';
import { referencePki, SAMPLE_PSEUDONYM } from './our-client-checks.ts';
import { REPO_ROOT, runJson } from './project-cli.ts';
import { startMssimProxy } from './mssim-proxy.ts';
import { findByteList, HarnessError, ReferenceServer } from './reference-tool.ts';
import { runTpmReferenceClient } from './tpm-checks.ts';

const IFNAME = 'xttinterop0';

function canConfigureLinks(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (process.env[IN_NETNS_ENV] !== '1')
    return 'runs only inside the private network namespace (not with --no-netns)';
  return undefined;
}

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new HarnessError(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function ipv6On(ifname: string): string[] {
  const out = JSON.parse(ip('-6', '-j', 'addr', 'show', 'dev', ifname)) as {
    addr_info?: { local: string; scope: string }[];
  }[];
  return (out[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local);
}

function agent(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NOTIFY_SOCKET: '' },
  });
}

/**
 * Runs `xtt-agent run` with `config` until its identity is on the interface, then stops it with
 * SIGTERM; returns the identity the agent stored, checked against what the reference server printed.
 */
async function agentAgainst(ctx: InteropContext, ref: ReferenceServer, work: string, config: object) {
  // A veth pair (the dummy driver may be missing); deleting one end deletes both.
  ip('link', 'add', IFNAME, 'type', 'veth', 'peer', 'name', `${IFNAME}p`);
  try {
    ip('link', 'set', IFNAME, 'up');
    ip('link', 'set', `${IFNAME}p`, 'up');
    const configFile = join(work, 'agent-config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ interface: IFNAME, nodad: true, stateDir: join(work, 'agent-state'), ...config }),
    );
    const mark = ref.mark();
    const child = agent(['run', '--config', configFile]);
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let addresses: string[] = [];
    try {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && child.exitCode === null) {
        addresses = ipv6On(IFNAME);
        if (addresses.length > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      child.kill('SIGTERM');
    }
    const code = await exited;
    expect(
      addresses.length === 1,
      `agent put ${addresses.length} addresses on ${IFNAME}: ${log.slice(-600)}`,
    );
    expect(code === 0, `agent exited ${code} on SIGTERM: ${log.slice(-400)}`);
    await ref.waitFor(/The client has pseudonym: \{[^}]*\}/, mark, 10_000);
    const out = ref.output();
    expect(
      out.slice(mark).includes('Handshake completed successfully!'),
      'reference server did not complete',
    );
    const assigned = findByteList(out, 'We assigned the client the id:', mark);
    expect(assigned !== undefined, 'reference server printed no assigned id');
    expect(
      addresses[0] === formatIpv6(assigned),
      `interface has ${addresses[0]}, server assigned ${formatIpv6(assigned)}`,
    );
    const status = await statusJson(configFile);
    expect(status.identity === addresses[0], `agent status says ${status.identity}`);
    const pseudonym = findByteList(out, 'The client has pseudonym:', mark);
    return { identity: addresses[0], pseudonym: pseudonym!, assigned };
  } finally {
    ip('link', 'del', IFNAME);
  }
}

function statusJson(configFile: string): Promise<{ identity?: string }> {
  return new Promise((resolve, reject) => {
    const child = agent(['status', '--json', '--config', configFile]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out) as { identity?: string });
      } catch (e) {
        reject(new HarnessError(`xtt-agent status exited ${code}: ${out}`, { cause: e }));
      }
    });
  });
}

async function devModeCheck(ctx: InteropContext): Promise<CheckOutcome> {
  const why = canConfigureLinks();
  if (why) return skip(why);
  const work = tempDir(ctx, 'agent-dev');
  try {
    await referencePki(ctx.ref, work.path);
    const dev = join(work.path, 'dev');
    spawnSync('mkdir', [dev]);
    for (const f of ['daa_gpk.bin', 'daa_cred.bin', 'daa_secretkey.bin', 'basename.bin']) {
      copyFileSync(join(ctx.sampleDir, f), join(dev, f));
    }
    copyFileSync(join(work.path, 'root_cert.bin'), join(dev, 'root_cert.bin'));
    copyFileSync(join(ctx.sampleDir, 'daa_gpk.bin'), join(work.path, 'daa_gpk.bin'));
    copyFileSync(join(ctx.sampleDir, 'basename.bin'), join(work.path, 'basename.bin'));
    const port = await freePort();
    const ref = await ReferenceServer.start(ctx.ref, work.path, port);
    try {
      const r = await agentAgainst(ctx, ref, work.path, {
        server: { host: '127.0.0.1', port },
        dev: { dir: dev },
      });
      expect(
        Buffer.from(r.pseudonym).toString('hex') === SAMPLE_PSEUDONYM,
        'reference server extracted another pseudonym than the sample member',
      );
      return pass(`agent configured ${r.identity} on ${IFNAME}; status --json agrees`);
    } finally {
      await ref.stop();
    }
  } finally {
    work.done();
  }
}

async function tpmModeCheck(ctx: InteropContext): Promise<CheckOutcome> {
  const why = canConfigureLinks();
  if (why) return skip(why);
  if (spawnSync('swtpm', ['--version']).status !== 0) return skip('swtpm not installed');
  const work = tempDir(ctx, 'agent-tpm');
  const tpm = await startSwtpm();
  try {
    const batchDir = join(work.path, 'batch');
    // Basename "plant-a": hash-to-curve succeeds at counter 0 (the sample's "BASENAME" needs 1).
    await runJson('xtt-factory', [
      'create-batch',
      '--out',
      batchDir,
      '--name',
      'interop-agent',
      '--basename',
      'plant-a',
    ]);
    const root = (await runJson('xtt-factory', ['root', 'create', '--out', join(work.path, 'root')])) as {
      certificate: string;
    };
    const srv = (await runJson('xtt-factory', [
      'server-cert',
      '--root',
      join(work.path, 'root'),
      '--out',
      join(work.path, 'server'),
    ])) as { certificate: string; keyFile: string };
    await runJson('xtt-factory', [
      'provision',
      '--batch',
      batchDir,
      '--tpm',
      tpm.spec,
      '--root-cert',
      root.certificate,
    ]);
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
      const r = await agentAgainst(ctx, ref, work.path, {
        server: { host: '127.0.0.1', port },
        tpm: tpm.spec,
      });
      expect(
        !equalBytes(r.pseudonym, Buffer.from(SAMPLE_PSEUDONYM, 'hex')),
        'TPM device used the sample key',
      );
      let then = 'reference build without TPM mode: reference client on this TPM not run';
      if (ctx.ref.hasTpm) {
        // The same TPM, now with the SRK 0x81000001 our agent created: the reference client (xaptum-tpm
        // checks it is a restricted decrypt key, then creates its own long-term key under it) must
        // sign with the same ECDAA key, so the reference server extracts the same pseudonym.
        const proxy = await startMssimProxy(tpm.port);
        try {
          const mark = ref.mark();
          await runTpmReferenceClient(ctx, work.path, 'after-agent', port, 2);
          await ref.waitFor(/The client has pseudonym: \{[^}]*\}/, mark, 15_000);
          const again = findByteList(ref.output(), 'The client has pseudonym:', mark);
          expect(
            again !== undefined && equalBytes(again, r.pseudonym),
            'reference TPM client and our TPM signer produced different pseudonyms on one TPM key',
          );
          then = 'then the reference client in TPM mode on the same TPM (our SRK): same pseudonym';
        } finally {
          await proxy.close();
        }
      }
      return pass(
        `agent (TPM on swtpm, basename plant-a) configured ${r.identity}; reference server verified its TPM ECDAA signature; ${then}`,
      );
    } finally {
      await ref.stop();
    }
  } finally {
    await tpm.stop();
    work.done();
  }
}

export const agentChecks: Check[] = [
  {
    id: 'agent-dev-mode',
    title: 'xtt-agent run (development mode, sample member) -> reference server: identity on the interface',
    run: devModeCheck,
  },
  {
    id: 'agent-tpm-mode',
    title: 'xtt-agent run (TPM mode, swtpm provisioned by xtt-factory) -> reference server',
    run: tpmModeCheck,
  },
];
