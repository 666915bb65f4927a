// `npm run demo` for real (scripts/demo.ts): enf-server, xtt-factory, swtpm TPMs, devices as network
// namespaces running xtt-agent. Asserts on what the demo reports AND on the system: the identities
// are distinct and inside the network's /64, each is on its device's interface (checked live with
// `ip -n NS` while the demo waits), and afterwards nothing is left: no namespaces, no processes
// whose command line names the work directory, no work directory. Also: interrupted mid-setup
// (SIGTERM) cleans up and exits 130; not root exits 3 before touching anything.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { suiteRequires } from '../helpers/requirements.ts';

const test = suiteRequires('demo', ['root', 'swtpm', 'netns']);
const REPO = join(import.meta.dirname, '..', '..');
const PREFIX = 'fd00:7a7a:de30::/64';

interface DemoSummary {
  ok: boolean;
  workdir: string;
  network: { name: string; prefix: string };
  devices: { name: string; netns: string; interface: string; identity: string; addresses: string[] }[];
  serverDevices: { identity: string; status: string; pseudonym: string }[];
  server: { dashboard: string };
}

/** The 16 bytes of an IPv6 text address (full or with ::). */
function ipv6Bytes(text: string): number[] {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${text}`);
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

function isInPrefix64(addr: string, prefix: string): boolean {
  const a = ipv6Bytes(addr);
  const p = ipv6Bytes(prefix.split('/')[0]!);
  return a.slice(0, 8).every((b, i) => b === p[i]);
}

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Processes whose command line mentions `needle` (the demo's children all name its work dir). */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) out.push(`${pid}: ${cmd}`);
    } catch {
      // the process ended while we looked: nothing to report
    }
  }
  return out;
}

function assertNothingLeft(t: ExecutionContext, s: DemoSummary, demoPid?: number) {
  const left = netnsNames();
  t.deepEqual(
    left.filter((n) => s.devices.some((d) => d.netns === n)),
    [],
    'demo namespaces left',
  );
  if (demoPid !== undefined)
    t.deepEqual(
      left.filter((n) => n.startsWith(`xttdemo-${demoPid}-`)),
      [],
      'namespaces left',
    );
  t.deepEqual(processesMentioning(s.workdir), [], 'processes of the demo left');
  t.false(existsSync(s.workdir), 'work directory left');
}

function checkSummary(t: ExecutionContext, s: DemoSummary) {
  t.true(s.ok);
  t.is(s.network.prefix, PREFIX);
  t.is(s.devices.length, 3);
  const identities = s.devices.map((d) => d.identity);
  t.is(new Set(identities).size, 3, `identities are distinct: ${identities.join(', ')}`);
  for (const d of s.devices) {
    t.true(isInPrefix64(d.identity, PREFIX), `${d.identity} inside ${PREFIX}`);
    t.true(
      d.addresses.includes(`${d.identity}/64`),
      `${d.name}: ${d.identity}/64 on ${d.interface} (${d.addresses.join(', ')})`,
    );
  }
  t.deepEqual(
    s.serverDevices.map((d) => d.identity).sort(),
    [...identities].sort(),
    'the server lists exactly the devices that came up',
  );
  t.is(new Set(s.serverDevices.map((d) => d.pseudonym)).size, 3, 'one pseudonym per device');
}

/** Runs a command to its end without blocking the test worker (AVA times out a blocked worker). */
function runToEnd(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test.serial(
  'npm run demo -- --exit --json: 3 devices get distinct identities; nothing is left',
  async (t) => {
    t.timeout(300_000);
    const r = await runToEnd('npm', ['run', '--silent', 'demo', '--', '--exit', '--json'], 280_000);
    t.is(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-3000)}`);
    const lines = r.stdout.trim().split('\n');
    t.is(lines.length, 1, 'stdout is exactly one JSON document');
    const s = JSON.parse(lines[0]!) as DemoSummary;
    checkSummary(t, s);
    t.regex(r.stderr, /\[11\/11\] the server's device list/);
    // The customer's calls went through a password sign-in, not the operator's token.
    t.regex(r.stderr, /POST \/api\/v1\/session as customer, POST \/api\/v1\/networks/);
    t.regex(r.stderr, /QR label on the box: .*label\.png/);
    t.false(r.stderr.includes('Dashboard:'), 'no hint at a dashboard that is gone when it is read');
    t.regex(
      r.stderr,
      /\nnpm run demo: done; everything it started is stopped and removed \(exit 0\)\n$/,
      'the last line says it is done',
    );
    assertNothingLeft(t, s);
  },
);

test.serial('while it runs each identity is on its namespace interface; SIGTERM cleans up', async (t) => {
  t.timeout(300_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--wait', '--json'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 240_000;
  while (!out.includes('\n') && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  t.true(out.includes('\n'), `no summary: ${err.slice(-3000)}`);
  const s = JSON.parse(out.trim()) as DemoSummary;
  checkSummary(t, s);
  for (const d of s.devices) {
    const live = JSON.parse(
      execFileSync('ip', ['-n', d.netns, '-6', '-j', 'addr', 'show', 'dev', d.interface], {
        encoding: 'utf8',
      }),
    ) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    const global = live[0]!.addr_info
      .filter((a) => a.scope === 'global')
      .map((a) => `${a.local}/${a.prefixlen}`);
    t.deepEqual(global, [`${d.identity}/64`], `${d.netns} has exactly its identity`);
  }
  const dash = await fetch(s.server.dashboard);
  t.is(dash.status, 200, 'dashboard answers');
  await dash.arrayBuffer();
  child.kill('SIGTERM');
  t.is(await exited, 0);
  assertNothingLeft(t, s, child.pid);
});

test.serial('SIGTERM in the middle of the setup: exit 130 and nothing is left', async (t) => {
  t.timeout(300_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--exit'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const deadline = Date.now() + 240_000;
  // Interrupt once the devices are being powered on: namespaces, swtpm and agents exist.
  while (!/\[9\/11\][^\n]*\n\s+ok/.test(out) && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const workdir = /make a work directory \.\.\.\n\s+ok \([^)]*\): (\S+)/.exec(out)?.[1];
  t.truthy(workdir, out.slice(-2000));
  child.kill('SIGTERM');
  t.is(await exited, 130, out.slice(-2000));
  t.regex(out, /npm run demo: interrupted; everything it started is stopped and removed \(exit 130\)\n$/);
  t.deepEqual(
    netnsNames().filter((n) => n.startsWith(`xttdemo-${child.pid}-`)),
    [],
  );
  t.deepEqual(processesMentioning(workdir!), []);
  t.false(existsSync(workdir!));
});

test.serial(
  'on a terminal, Ctrl-C once the devices are up: npm run demo exits 0; --keep keeps the work directory',
  async (t) => {
    t.timeout(300_000);
    // script(1) gives the demo a terminal; 0x03 typed into it is what Ctrl-C sends. `script -e`
    // exits with npm's own exit code, which is what the user sees.
    const child = spawn('script', ['-qefc', 'npm run -s demo -- --devices 1 --keep', '/dev/null'], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const deadline = Date.now() + 240_000;
    while (!out.includes('Running. Press Ctrl-C (or q)') && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const workdir = /make a work directory \.\.\.\r?\n\s+ok \([^)]*\): (\S+)/.exec(out)?.[1];
    t.truthy(workdir, out.slice(-3000));
    t.teardown(() => rmSync(workdir!, { recursive: true, force: true }));
    t.regex(out, /Dashboard: http:\/\/127\.0\.0\.1:/, 'while it runs, the dashboard hint holds');
    child.stdin.write('\x03');
    t.is(await exited, 0, `npm's exit code after Ctrl-C\n${out.slice(-3000)}`);
    t.regex(out, new RegExp(`keeping the work directory ${workdir}`));
    t.regex(
      out,
      new RegExp(
        `npm run demo: done; everything it started is stopped and removed except the work directory ${workdir} \\(exit 0\\)`,
      ),
    );
    t.true(
      existsSync(join(workdir!, 'server', 'registry.sqlite')),
      'the kept work directory has the registry',
    );
    t.deepEqual(processesMentioning(workdir!), [], 'no process of the demo left');
    t.deepEqual(
      netnsNames().filter((n) => n.startsWith('xttdemo-') && out.includes(n)),
      [],
      'no namespace of the demo left',
    );
  },
);

test.serial('not root: exit 3 with a message saying why, nothing started', (t) => {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      'scripts/demo.ts',
      '--exit',
    ],
    {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, HOME: '/tmp' },
    },
  );
  t.is(r.status, 3, r.stderr);
  t.regex(r.stderr, /needs root/);
});

test.serial('swtpm missing: exit 4 naming the apt package, nothing installed or started', (t) => {
  // A PATH with sh, ip and bash but no swtpm.
  const bin = mkdtempSync(join(tmpdir(), 'demo-path-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  for (const cmd of ['sh', 'ip', 'bash']) {
    const where = execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    symlinkSync(where, join(bin, cmd));
  }
  const before = netnsNames();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--exit'], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, PATH: bin },
  });
  t.is(r.status, 4, r.stderr);
  t.regex(r.stderr, /missing: swtpm\. Install with: apt-get install swtpm/);
  t.deepEqual(netnsNames(), before);
});
