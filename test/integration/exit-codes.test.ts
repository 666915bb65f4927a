// Every documented exit code of xtt-factory, enf-server and xtt-agent, produced by a real invocation
// of the program as a child process (root README "Exit codes": usage = a malformed command line, not
// found = a named object or file that does not exist, bad input = a wrong value or file content).
// The documented codes are read from each program's README table, so a code documented there
// without a case below (or a reason in CANNOT_PRODUCE) fails the first test. Each failing run is
// made with --json and its last stderr line must be the JSON error naming the code and exitCode.
// TPM cases use real swtpm; the agent runs in a network namespace made here, with its own swtpm
// and enf-server inside it (nothing reaches beyond the namespace's links).
import anyTest, { type ExecutionContext } from 'ava';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../agent/state-store.ts';
import { LongtermKeyFiles } from '../../agent/longterm-key-files.ts';
import {
  createRoot,
  createServerCertificate,
  writeRoot,
  writeServerCertificate,
} from '../../factory/root-certs.ts';
import { createIssuer, encodeGroupPublicKey } from '../../protocol/ecdaa/index.ts';
import { systemRng } from '../../protocol/util/rng.ts';
import { nvDefineSpace } from '../../tpm/commands/nv-define-space.ts';
import { TPM_ALG, TPM_RH_OWNER, TPMA_NV } from '../../tpm/constants.ts';
import { TpmLongtermKey } from '../../tpm/longterm-key.ts';
import { NV_INDEX } from '../../tpm/nv-layout.ts';
import { Tpm } from '../../tpm/tpm.ts';
import { createNetns, type TestNetns } from '../helpers/netns.ts';
import { suiteRequires } from '../helpers/requirements.ts';
import { startSwtpm, type SwtpmInstance } from '../helpers/swtpm.ts';
import { fillNv } from './factory/helpers/factory-run.ts';

const REPO = join(import.meta.dirname, '../..');
const PROGRAMS = {
  'enf-server': { main: 'server-stub/main.ts', readme: 'server-stub/README.md' },
  'xtt-factory': { main: 'factory/main.ts', readme: 'factory/README.md' },
  'xtt-agent': { main: 'agent/main.ts', readme: 'agent/README.md' },
} as const;
type Program = keyof typeof PROGRAMS;

/** Documented codes no real invocation can produce, with the reason. */
const CANNOT_PRODUCE: Record<Program, Record<number, string>> = {
  'enf-server': { 1: 'internal error: only a bug produces it (any unexpected exception)' },
  'xtt-factory': { 1: 'internal error: only a bug produces it (any unexpected exception)' },
  'xtt-agent': {
    1: 'internal error: only a bug produces it (any unexpected exception)',
    6: 'reserved: `run` retries server refusals and never exits with it (agent/provision.ts)',
  },
};

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One documented code: the error `code` the JSON names (none for 0) and how to produce it. */
interface Case {
  error?: string;
  message?: RegExp;
  run(): Promise<Outcome>;
}

/** The codes in the "Exit codes" table of a program's README. */
function documentedCodes(program: Program): number[] {
  const readme = readFileSync(join(REPO, PROGRAMS[program].readme), 'utf8');
  const section = readme.split(/^#+ Exit codes$/m)[1]!.split(/^#+ /m)[0]!;
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

function exec(file: string, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a program (its TypeScript entry under tsx), in network namespace `ns` when given. */
function run(program: Program, args: string[], ns?: TestNetns): Promise<Outcome> {
  const node = [process.execPath, '--import', 'tsx', PROGRAMS[program].main, ...args];
  return ns ? exec('ip', ['netns', 'exec', ns.name, ...node]) : exec(node[0]!, node.slice(1));
}

const server = (...args: string[]) => run('enf-server', [...args, '--json']);
const factory = (...args: string[]) => run('xtt-factory', [...args, '--json']);

// ---- shared fixtures, made once in `before` ----
let work = '';
let serverDir = '';
let gpkFile = '';
let portHolder: Server | undefined;
let heldPort = 0;
let rootDir = '';
const tpms: SwtpmInstance[] = [];
/** The TPM provisioned into batch-1 (factory case 5); the agent's cases then use its state. */
let provisioned: SwtpmInstance | undefined;
let isProvisionedStopped = false;
let ns: TestNetns | undefined;
const nsProcesses: ChildProcess[] = [];

async function swtpm(): Promise<SwtpmInstance> {
  const sw = await startSwtpm();
  tpms.push(sw);
  return sw;
}

const IDENTITY_TEXT = 'fd00:7474::b0b0';

/** A state directory holding a stored identity (a device on a later boot). */
async function storedState(name: string): Promise<string> {
  const dir = join(work, name);
  await new FileStateStore(dir).save({
    identity: new Uint8Array(Buffer.from('fd00747400000000000000000000b0b0', 'hex')),
    longtermPublicKey: new Uint8Array(65).fill(4),
    server: '127.0.0.1:4444',
    provisionedAt: new Date('2026-11-28T04:00:00.000Z'),
  });
  return dir;
}

/** Waits until `probe` holds, at most `ms`. */
async function until(what: string, probe: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A swtpm inside the namespace on 127.0.0.1:port (ctrl port+1), on `stateDir`. */
async function nsSwtpm(stateDir: string, port: number): Promise<void> {
  const child = spawn(
    'ip',
    [
      ...['netns', 'exec', ns!.name, 'swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${stateDir}`],
      ...['--server', `type=tcp,port=${port},bindaddr=127.0.0.1`],
      ...['--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`, '--flags', 'not-need-init,startup-clear'],
    ],
    { stdio: 'ignore' },
  );
  nsProcesses.push(child);
  const probe = ['netns', 'exec', ns!.name, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`];
  await until(`swtpm on ${port}`, () => spawnSync('ip', probe).status === 0);
}

/** enf-server in the namespace on 127.0.0.1:port with the state directory `dir`. */
async function nsServer(dir: string, port: number): Promise<void> {
  const child = spawn(
    'ip',
    [
      ...['netns', 'exec', ns!.name, process.execPath, '--import', 'tsx', PROGRAMS['enf-server'].main],
      ...['--dir', dir, 'start', '--bind', '127.0.0.1', '--port', String(port), '--workers', '1'],
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  nsProcesses.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until(`enf-server on ${port}`, () => /server\.listening/.test(stderr) || child.exitCode !== null);
  if (child.exitCode !== null) throw new Error(`enf-server did not start:\n${stderr}`);
}

function agent(args: string[]): Promise<Outcome> {
  return run('xtt-agent', [...args, '--json'], ns);
}

/** The agent's first-boot flags toward a server and TPM inside the namespace. */
const firstBoot = (stateDir: string, tpmPort: number, serverPort: number) => [
  'run',
  ...['--server-host', '127.0.0.1', '--server-port', String(serverPort)],
  ...['--interface', 'veth-a', '--tpm', `swtpm:127.0.0.1:${tpmPort}`, '--state-dir', stateDir],
];

const CASES: Record<Program, Record<number, Case>> = {
  'enf-server': {
    0: {
      run: () =>
        server('--dir', serverDir, 'network', 'add', '--name', 'plant', '--prefix', '2001:db8:1:2::/64'),
    },
    2: {
      error: 'USAGE',
      message: /prefix/,
      run: () => server('--dir', serverDir, 'network', 'add', '--name', 'x'),
    },
    3: {
      error: 'NOT_FOUND',
      message: /no network 'nonet'/,
      run: () =>
        server(
          ...['--dir', serverDir, 'batch', 'add', '--gpk-file', gpkFile, '--basename', 'b'],
          ...['--name', 'lot', '--size', '1', '--network', 'nonet'],
        ),
    },
    4: {
      error: 'CONFLICT',
      run: () =>
        server('--dir', serverDir, 'network', 'add', '--name', 'plant', '--prefix', '2001:db8:1:3::/64'),
    },
    5: { error: 'STORAGE', run: () => server('--dir', join(work, 'no-state'), 'network', 'list') },
    6: {
      error: 'VALIDATION',
      message: /"10\.0\.0\.0\/24": an IPv4 address, not IPv6; prefix length "24", not 64; give an IPv6 \/64/,
      run: () => server('--dir', serverDir, 'network', 'add', '--name', 'v4', '--prefix', '10.0.0.0/24'),
    },
    7: {
      error: 'KEYS_MISSING',
      run: () => {
        const dir = join(work, 'no-keys');
        mkdirSync(dir, { recursive: true });
        return server('--dir', dir, 'start', '--bind', '127.0.0.1', '--port', '0');
      },
    },
    8: {
      error: 'LISTEN',
      run: () =>
        server(
          '--dir',
          serverDir,
          'start',
          '--bind',
          '127.0.0.1',
          '--port',
          String(heldPort),
          '--workers',
          '1',
        ),
    },
  },
  'xtt-factory': {
    0: { run: () => factory('create-batch', '--out', join(work, 'batch-1'), '--size', '1') },
    2: { error: 'USAGE', run: () => factory('create-batch', '--size', '1') },
    3: { error: 'EXISTS', run: () => factory('create-batch', '--out', join(work, 'batch-1')) },
    4: {
      error: 'BAD_VALUE',
      message: /--size must be an integer >= 1, got 0/,
      run: () => factory('create-batch', '--out', join(work, 'batch-0'), '--size', '0'),
    },
    5: {
      error: 'BATCH_FULL',
      // batch-1 holds one device: the first TPM fills it (kept for 8 and for the agent), the next is refused.
      run: async () => {
        mkdirSync(join(work, 'tpm-provisioned'));
        provisioned = await startSwtpm({ stateDir: join(work, 'tpm-provisioned') });
        const first = await provision(provisioned, 'batch-1');
        if (first.code !== 0) throw new Error(`provision into batch-1: ${first.stderr}`);
        return provision(await swtpm(), 'batch-1');
      },
    },
    6: { error: 'TPM_TRANSPORT', run: () => factory('inspect', '--tpm', 'swtpm:127.0.0.1:9') },
    7: {
      error: 'TPM_UNSUITABLE',
      run: async () => {
        const full = await swtpm();
        await withTpm(full, fillNv);
        return provision(full, 'batch-big');
      },
    },
    8: { error: 'ALREADY_PROVISIONED', run: () => provision(provisioned!, 'batch-1') },
    9: {
      error: 'TPM_FOREIGN_STATE',
      run: async () => {
        const foreign = await swtpm();
        await withTpm(foreign, (tpm) =>
          tpm.run(
            nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), {
              nvIndex: NV_INDEX.gpk,
              nameAlg: TPM_ALG.TPM_ALG_SHA256,
              attributes: TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_OWNERREAD,
              authPolicy: new Uint8Array(0),
              dataSize: 100,
            }),
          ),
        );
        return provision(foreign, 'batch-big');
      },
    },
    10: {
      error: 'ECDAA_JOIN_PROOF',
      message: /join proof does not verify/,
      run: () => provisionThroughLyingTpm(),
    },
    11: {
      error: 'NOT_FOUND',
      message: /no-such-batch: no such batch directory/,
      run: async () => provision(await swtpm(), 'no-such-batch'),
    },
  },
  'xtt-agent': {
    0: { run: async () => agent(['status', '--state-dir', await storedState('agent-0')]) },
    2: { error: 'USAGE', run: () => agent(['run', '--no-such-option']) },
    3: {
      error: 'CONFIG',
      message: /cannot read/,
      run: () => agent(['run', '--config', join(work, 'missing.json')]),
    },
    4: { error: 'TPM_TRANSPORT', run: () => agent(firstBoot(join(work, 'agent-4'), 9, 4444)) },
    5: {
      error: 'TPM_NOT_PROVISIONED',
      run: async () => {
        const state = join(work, 'tpm-fresh');
        mkdirSync(state);
        await nsSwtpm(state, 2331);
        return agent(firstBoot(join(work, 'agent-5'), 2331, 4444));
      },
    },
    7: {
      error: 'UNKNOWN_ROOT',
      // A server whose own root is not the one the factory gave the TPM.
      run: async () => {
        const dir = join(work, 'server-other-root');
        const init = await server('--dir', dir, 'init');
        if (init.code !== 0) throw new Error(init.stderr);
        await nsServer(dir, 4447);
        return agent(firstBoot(join(work, 'agent-7'), 2321, 4447));
      },
    },
    8: {
      error: 'INTERFACE_MISSING',
      run: async () =>
        agent([
          'run',
          '--server-host',
          '127.0.0.1',
          '--interface',
          'nosuch0',
          '--state-dir',
          await storedState('agent-8'),
        ]),
    },
    9: {
      error: 'STATE_CORRUPT',
      run: () => {
        const dir = join(work, 'agent-9');
        mkdirSync(dir);
        writeFileSync(join(dir, 'state.json'), '{"version":1,"ident');
        return agent(['run', '--server-host', '127.0.0.1', '--interface', 'veth-a', '--state-dir', dir]);
      },
    },
    10: { run: () => agent(['status', '--state-dir', join(work, 'agent-10')]) },
    11: {
      error: 'DAD_FAILED',
      run: async () => {
        // The identity is already on the other end of the link: duplicate address detection fails.
        ns!.ip('-6', 'addr', 'add', `${IDENTITY_TEXT}/64`, 'dev', 'veth-b', 'nodad');
        try {
          const dir = await storedState('agent-11');
          return await agent([
            'run',
            '--server-host',
            '127.0.0.1',
            '--interface',
            'veth-a',
            '--state-dir',
            dir,
          ]);
        } finally {
          ns!.ip('-6', 'addr', 'del', `${IDENTITY_TEXT}/64`, 'dev', 'veth-b');
          ns!.ip('-6', 'addr', 'flush', 'dev', 'veth-a', 'scope', 'global');
        }
      },
    },
    12: {
      error: 'NETLINK',
      // Without CAP_NET_ADMIN (an unprivileged user, no capabilities) the kernel refuses the address.
      run: async () => {
        const dir = await storedState('agent-12');
        chmodSync(work, 0o755);
        spawnSync('chmod', ['-R', 'a+rX', dir]);
        return exec('ip', [
          ...['netns', 'exec', ns!.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
          ...['--inh-caps=-all', '--bounding-set=-all', process.execPath, '--import', 'tsx'],
          ...[PROGRAMS['xtt-agent'].main, 'run', '--json', '--server-host', '127.0.0.1'],
          ...['--interface', 'veth-a', '--state-dir', dir, '--nodad'],
        ]);
      },
    },
    13: {
      // The handshake's signer failed; its cause, the TPM's answer, decides the code.
      error: 'SIGNER_FAILED',
      message: /a client signer failed: .*TPM_RC_/,
      // The stored long-term key blob was made by another TPM: TPM2_Load refuses it (integrity).
      run: async () => {
        const stateDir = join(work, 'agent-13');
        const other = await swtpm();
        await withTpm(other, async (tpm) => {
          const key = await TpmLongtermKey.create(tpm);
          await new LongtermKeyFiles(stateDir).saveTpm(key.blob);
        });
        const dir = join(work, 'server-factory-root');
        const server13 = await serverWithFactoryRoot(dir);
        if (server13.code !== 0) throw new Error(server13.stderr);
        await nsServer(dir, 4448);
        return agent(firstBoot(stateDir, 2321, 4448));
      },
    },
    14: {
      error: 'NETWORK_MANAGER',
      message: /is not running/,
      run: async () =>
        agent([
          ...['handoff', '--network-manager', managerNotRunning(), '--server-host', '127.0.0.1'],
          ...['--interface', 'veth-a', '--state-dir', await storedState('agent-14')],
        ]),
    },
  },
};

async function withTpm<T>(sw: SwtpmInstance, fn: (tpm: Tpm) => Promise<T>): Promise<T> {
  const tpm = new Tpm(sw.transport());
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

function provision(sw: SwtpmInstance | { spec: string }, batch: string): Promise<Outcome> {
  return factory(
    ...['provision', '--batch', join(work, batch), '--tpm', sw.spec],
    ...['--root-cert', join(rootDir, 'root_cert.bin')],
  );
}

/** `enf-server init --import` with the factory root and a server certificate under it. */
function serverWithFactoryRoot(dir: string): Promise<Outcome> {
  const certDir = join(work, 'server-cert');
  return server(
    ...['--dir', dir, 'init', '--import', '--root-cert', join(rootDir, 'root_cert.bin')],
    ...['--server-cert', join(certDir, 'server_certificate.bin')],
    ...['--server-key', join(certDir, 'server_keys.asn1.bin')],
  );
}

/** The network manager `handoff` may be pointed at without touching the host: one not running. */
function managerNotRunning(): string {
  const active = (unit: string) => spawnSync('systemctl', ['is-active', '--quiet', unit]).status === 0;
  if (!active('systemd-networkd.service')) return 'networkd';
  if (!active('NetworkManager.service')) return 'networkmanager';
  throw new Error('both systemd-networkd and NetworkManager run on this host: no safe handoff case');
}

/**
 * `provision` through a TCP relay to swtpm that flips a bit of s in every TPM2_Sign answer: the
 * TPM's join proof then does not verify (VERIFY_FAILED), as with a TPM that computes ECDAA wrongly.
 */
async function provisionThroughLyingTpm(): Promise<Outcome> {
  const real = await swtpm();
  const TPM_CC_SIGN = 0x15d;
  let lies = 0;
  /** Flips the first byte of signatureS: header 10, parameterSize 4, sigAlg 2, hashAlg 2, R, S. */
  const lie = (answer: Buffer): void => {
    const rLength = answer.readUInt16BE(18);
    const sAt = 20 + rLength + 2;
    if (answer.readUInt32BE(6) !== 0 || sAt >= answer.length) return;
    answer[sAt]! ^= 0x01;
    lies++;
  };
  const relay = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: real.port });
    let command = Buffer.alloc(0);
    let response = Buffer.alloc(0);
    let lastCc = 0;
    client.on('data', (d: Buffer) => {
      command = Buffer.concat([command, d]);
      while (command.length >= 10 && command.length >= command.readUInt32BE(2)) {
        const size = command.readUInt32BE(2);
        lastCc = command.readUInt32BE(6);
        upstream.write(command.subarray(0, size));
        command = command.subarray(size);
      }
    });
    upstream.on('data', (d: Buffer) => {
      response = Buffer.concat([response, d]);
      while (response.length >= 10 && response.length >= response.readUInt32BE(2)) {
        const size = response.readUInt32BE(2);
        const answer = Buffer.from(response.subarray(0, size));
        response = response.subarray(size);
        if (lastCc === TPM_CC_SIGN) lie(answer);
        client.write(answer);
      }
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as AddressInfo).port;
  try {
    const r = await provision({ spec: `swtpm:127.0.0.1:${port}:${real.ctrlPort}` }, 'batch-big');
    // Only when the case is about to fail: say whether the relay saw the join's Sign at all.
    return r.code === 10 ? r : { ...r, stderr: `${r.stderr}\n(relay: ${lies} TPM2_Sign answers changed)` };
  } finally {
    relay.close();
  }
}

const test = suiteRequires('exit codes of the three programs', ['root', 'netns', 'swtpm']);

anyTest('every documented exit code has a case below, or a stated reason it cannot be produced', (t) => {
  for (const program of Object.keys(PROGRAMS) as Program[]) {
    const documented = documentedCodes(program);
    t.true(documented.includes(0) && documented.length > 3, `${program}: README table found`);
    const handled = [...Object.keys(CASES[program]), ...Object.keys(CANNOT_PRODUCE[program])]
      .map(Number)
      .sort((a, b) => a - b);
    t.deepEqual(handled, documented, `${program}: cases + CANNOT_PRODUCE == the README's codes`);
    for (const code of Object.keys(CANNOT_PRODUCE[program]))
      t.false(code in CASES[program], `${program} ${code}: a case and a reason`);
  }
});

test.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'exit-codes-'));
  serverDir = join(work, 'server');
  const init = await server('--dir', serverDir, 'init');
  if (init.code !== 0) throw new Error(init.stderr);
  gpkFile = join(work, 'gpk.bin');
  writeFileSync(gpkFile, encodeGroupPublicKey(createIssuer(systemRng).publicKey.gpk));
  portHolder = createServer();
  await new Promise<void>((r) => portHolder!.listen(0, '127.0.0.1', r));
  heldPort = (portHolder.address() as AddressInfo).port;
  rootDir = join(work, 'root');
  const root = createRoot(systemRng);
  writeRoot(rootDir, root);
  writeServerCertificate(join(work, 'server-cert'), createServerCertificate(root, systemRng));
  const big = await factory('create-batch', '--out', join(work, 'batch-big'), '--size', '10');
  if (big.code !== 0) throw new Error(big.stderr);
  ns = createNetns('xttexit');
});

test.after.always(async () => {
  for (const p of nsProcesses) if (p.exitCode === null) p.kill('SIGTERM');
  await Promise.all(tpms.map((sw) => sw.stop()));
  if (provisioned && !isProvisionedStopped) await provisioned.stop();
  portHolder?.close();
  ns?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a program's cases in code order, checking the exit code and the JSON error. */
async function drive(t: ExecutionContext, program: Program): Promise<void> {
  for (const [code, c] of Object.entries(CASES[program]).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const r = await c.run();
    const what = `${program} exit ${code}`;
    t.is(r.code, Number(code), `${what}:\n${r.stderr.slice(-3000)}`);
    if (!c.error) continue;
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    let doc: { error?: { code?: string; exitCode?: number; message?: string } } = {};
    try {
      doc = JSON.parse(last) as typeof doc;
    } catch {
      t.fail(`${what}: the last stderr line is not the JSON error: ${last}`);
    }
    t.is(doc.error?.exitCode, Number(code), what);
    t.is(doc.error?.code, c.error, `${what}: ${doc.error?.message}`);
    if (c.message) t.regex(doc.error?.message ?? '', c.message, what);
  }
}

test.serial('enf-server: every documented exit code', (t) => drive(t, 'enf-server'));

test.serial('xtt-factory: every documented exit code', (t) => drive(t, 'xtt-factory'));

test.serial('xtt-agent: every documented exit code', async (t) => {
  // The factory-provisioned TPM (root of rootDir) inside the namespace, on 2321.
  const state = provisioned!.stateDir;
  await provisioned!.stop();
  isProvisionedStopped = true;
  await nsSwtpm(state, 2321);
  await drive(t, 'xtt-agent');
});
