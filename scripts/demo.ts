// `npm run demo`: the main job of the project in one command (README "Quick start"). On this
// machine, with real components: enf-server (SQLite registry in a temp work directory, XTT endpoint,
// management API + dashboard), a batch of devices made by xtt-factory with one swtpm TPM each, a
// network and the batch associated through the management API as a customer would (signed in as
// the customer's user with a password, label PNG), then each device powered on as a network namespace running xtt-agent against its
// TPM, until its IPv6 identity is on its interface. Shows the addresses, the server's device list
// and the dashboard URL; waits for Ctrl-C (or exits with --exit / when stdin is not a TTY) and
// removes everything it started. Exit codes: scripts/demo/options.ts (DEMO_EXIT), README.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagementApi, type ApiDevice } from './demo/api.ts';
import {
  createBridge,
  createDeviceNetns,
  deviceIpv6,
  freePort,
  planDevices,
  powerOn,
  provisionAtFactory,
  waitReady,
  SUBNET,
  NETNS_PREFIX,
  type DemoDevice,
  type DemoLink,
} from './demo/devices.ts';
import { DEMO_EXIT, USAGE, parseDemoArgs, type DemoOptions } from './demo/options.ts';
import { Progress, StepError } from './demo/progress.ts';
import { QEMU_COMMANDS, bootGuest, prepareImage, qemuYoctoMissing, waitGuestReady } from './demo/qemu.ts';
import type { ImageManifest } from '../qemu/boot.ts';
import { Resources, run, runJson } from './demo/resources.ts';
import { addCustomer, initServer, startServer } from './demo/server.ts';

const NETWORK = { name: 'demo-net', prefix: 'fd00:7a7a:de30::/64' } as const;

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Root and the system commands; returns [exit code, message] when something is missing. */
function checkHost(o: DemoOptions): [number, string] | undefined {
  if (process.getuid?.() !== 0)
    return [
      DEMO_EXIT.notRoot,
      'needs root: devices are network namespaces with veth links and the TPMs run ' +
        'inside them. Run it as root (e.g. sudo -E npm run demo).',
    ];
  const needed: [string, string][] = [
    ['ip', 'iproute2'],
    ['swtpm', 'swtpm'],
    ['bash', 'bash'],
  ];
  if (o.isQemu) needed.push(...QEMU_COMMANDS);
  const missing = needed.filter(([cmd]) => !hasCommand(cmd));
  if (missing.length > 0)
    return [
      DEMO_EXIT.missingCommand,
      `missing: ${missing.map(([c]) => c).join(', ')}. Install with: apt-get install ` +
        `${[...new Set(missing.map(([, p]) => p))].join(' ')} (the demo installs nothing itself)`,
    ];
  const yocto = o.isQemu ? qemuYoctoMissing() : undefined;
  if (yocto !== undefined) return [DEMO_EXIT.missingCommand, yocto];
  return undefined;
}

/**
 * While the demo waits for its end on a terminal, Ctrl-C (or q) is read as a key instead of
 * raising SIGINT. A SIGINT from the terminal also reaches `npm`, which then exits 130 whatever the
 * demo returns; read as a key, the demo ends normally and `npm run demo` exits 0. Returns the undo.
 */
function onStopKey(stop: () => void): (() => void) | undefined {
  const stdin = process.stdin;
  if (!stdin.isTTY) return undefined;
  const onData = (d: Buffer) => {
    if (d.includes(0x03) || d.includes(0x71 /* q */)) stop();
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
}

/** The demo's last line: how it ended, what is left, its exit code. */
function finalLine(code: number, keptWorkdir: string | undefined): string {
  const what = code === DEMO_EXIT.ok ? 'done' : code === DEMO_EXIT.interrupted ? 'interrupted' : 'failed';
  const left = keptWorkdir
    ? `everything it started is stopped and removed except the work directory ${keptWorkdir}`
    : 'everything it started is stopped and removed';
  return `npm run demo: ${what}; ${left} (exit ${code})`;
}

/** Removes namespaces and links named after this process that a step started but did not register. */
async function sweepOwnNames(): Promise<void> {
  const mine = `${NETNS_PREFIX}${process.pid}-`;
  const list = await run('ip', ['netns', 'list']).catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(mine)) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
  await run('ip', ['link', 'del', `xtd${process.pid}`]).catch(() => undefined);
}

interface Summary {
  ok: true;
  mode: 'netns' | 'qemu';
  workdir: string;
  isWorkdirKept: boolean;
  server: { xtt: string; dashboard: string; tokenFile: string };
  customer: { organization: string; user: string; passwordFile: string };
  network: { name: string; prefix: string };
  batch: { name: string; gid: string; labelPng: string };
  devices: {
    name: string;
    netns: string | null;
    interface: string;
    ipv4: string | null;
    identity: string;
    addresses: string[];
  }[];
  serverDevices: ApiDevice[];
}

async function demo(
  o: DemoOptions,
  res: Resources,
  p: Progress,
  onWorkdir: (dir: string) => void,
  onUp: () => void,
): Promise<Summary> {
  const workdir = await p.step(
    'make a work directory',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xtt-demo-'));
      res.removeDirOnRelease(dir, o.keepWorkdir);
      onWorkdir(dir);
      return dir;
    },
    (d) => d,
  );
  const init = await p.step(
    'enf-server init: registry, root and server certificates',
    () => initServer(workdir),
    (i) => i.dir,
  );
  const customer = await p.step(
    "operator: the customer's organization and user (enf-server org add, user add)",
    () => addCustomer(workdir, init.dir),
    (c) => `organization ${c.organization}, operator user ${c.user} (password in ${c.passwordFile})`,
  );
  const link = o.isQemu
    ? undefined
    : await p.step(
        'device-side network: a bridge on the first free 10.77.N.0/24',
        () => createBridge(res),
        (l) => `${l.bridge} with ${l.address}/${SUBNET.prefixLength}`,
      );
  const image = o.isQemu
    ? await p.step(
        'device image: the agent as the Yocto recipe installs it + Debian image (built once, then cached)',
        () => prepareImage((l) => p.print(`      ${l}`)),
        (i) => i.dir,
      )
    : undefined;
  // Namespaces reach the server on the bridge; QEMU guests reach the host's loopback as 10.0.2.2.
  const xttHost = link?.address ?? '127.0.0.1';
  const server = await p.step(
    'start enf-server (XTT endpoint, management API and dashboard)',
    async () =>
      startServer(
        res,
        workdir,
        init,
        { host: xttHost, port: await freePort(xttHost) },
        await freePort('127.0.0.1'),
      ),
    (s) => `XTT on ${s.xtt.host}:${s.xtt.port}, dashboard ${s.url}`,
  );
  const batchDir = join(workdir, 'batch');
  const batch = await p.step(
    `xtt-factory create-batch: a batch of ${o.devices} devices`,
    async () => {
      const b = await runJson('factory/main.ts', [
        'create-batch',
        '--out',
        batchDir,
        '--name',
        'demo-lot',
        '--size',
        String(o.devices),
      ]);
      const label = b.label as { png: string; terminal: string };
      return { name: String(b.name), gid: String(b.gid), png: label.png, terminal: label.terminal };
    },
    (b) => `gid ${b.gid.slice(0, 16)}...`,
  );
  p.print(readFileSync(batch.terminal, 'utf8'));
  p.print(`      QR label on the box: ${batch.png} (also label.svg and label.txt beside it)`);
  const devices = planDevices(workdir, o.devices);
  await p.step(
    `xtt-factory provision: ${o.devices} swtpm TPMs (ECDAA key, credential, NV objects)`,
    async () => {
      for (const d of devices) await provisionAtFactory(res, workdir, d, batchDir, init.rootCert);
    },
    () => `TPM states in ${workdir}/device-N/tpm`,
  );
  const assoc = await p.step(
    'customer: sign in, create a network and add the batch from its label (management API)',
    async () => {
      const api = await ManagementApi.signIn(server.url, customer.user, customer.password);
      const net = await api.addNetwork(NETWORK.name, NETWORK.prefix);
      const b = await api.addBatchFromLabelPng(batch.png, o.devices, net.name);
      return { api, net, b };
    },
    (a) =>
      `POST /api/v1/session as ${customer.user}, POST /api/v1/networks (${a.net.prefix}), POST /api/v1/batches/from-image -> batch ${a.b.name} on ${a.b.network}`,
  );
  const shown: Summary['devices'] =
    image === undefined
      ? await powerOnNamespaces(p, res, workdir, devices, link!, server.xtt)
      : await powerOnGuests(p, res, image, devices, server.xtt.port);
  onUp();
  const serverDevices = await p.step(
    "the server's device list (GET /api/v1/devices)",
    () => assoc.api.devices(),
    (l) => `${l.length} devices`,
  );
  p.print(formatDevices(serverDevices));
  // Hints only for what still exists when they are read: the server and the dashboard live until
  // the demo stops, the registry as long as the work directory does.
  if (!o.shouldExit)
    p.print(
      `\n  Dashboard: ${server.url}  (sign in as ${customer.user}: password in ${customer.passwordFile}; ` +
        `the operator's API token in ${server.tokenFile})`,
    );
  if (!o.shouldExit || o.keepWorkdir)
    p.print(
      `  The registry from the CLI${o.shouldExit ? ' (kept after exit)' : ''}: ` +
        `node --import tsx server-stub/main.ts --dir ${init.dir} device list`,
    );
  return {
    ok: true,
    mode: o.isQemu ? 'qemu' : 'netns',
    workdir,
    isWorkdirKept: o.keepWorkdir,
    server: {
      xtt: `${server.xtt.host}:${server.xtt.port}`,
      dashboard: server.url,
      tokenFile: server.tokenFile,
    },
    customer: {
      organization: customer.organization,
      user: customer.user,
      passwordFile: customer.passwordFile,
    },
    network: { name: assoc.net.name, prefix: assoc.net.prefix },
    batch: { name: batch.name, gid: batch.gid, labelPng: batch.png },
    devices: shown,
    serverDevices,
  };
}

async function powerOnNamespaces(
  p: Progress,
  res: Resources,
  workdir: string,
  devices: DemoDevice[],
  link: DemoLink,
  xtt: { host: string; port: number },
): Promise<Summary['devices']> {
  await p.step(
    `power on ${devices.length} devices: a network namespace each, swtpm + xtt-agent inside`,
    async () => {
      for (const d of devices) {
        await createDeviceNetns(res, link, d);
        await powerOn(res, workdir, d, xtt);
      }
    },
    () => devices.map((d) => d.netns).join(', '),
  );
  const ready = await p.step(
    'first boot: each agent runs XTT with its TPM and configures its identity',
    async () => Promise.all(devices.map(async (d) => ({ d, st: await waitReady(d, 180_000) }))),
    (r) => `${r.length} devices READY`,
  );
  const shown: Summary['devices'] = [];
  for (const { d, st } of ready) {
    const addrs = await deviceIpv6(d);
    p.print(`\n  ${d.name} (${d.netns}): ip -n ${d.netns} -6 addr show dev ${d.ifname}`);
    p.print(
      (await run('ip', ['-n', d.netns, '-6', 'addr', 'show', 'dev', d.ifname]))
        .trimEnd()
        .replace(/^/gm, '    '),
    );
    shown.push({
      name: d.name,
      netns: d.netns,
      interface: d.ifname,
      ipv4: d.ipv4,
      identity: st.identity,
      addresses: addrs.map((a) => `${a.local}/${a.prefixlen}`),
    });
  }
  return shown;
}

async function powerOnGuests(
  p: Progress,
  res: Resources,
  image: ImageManifest,
  devices: DemoDevice[],
  port: number,
): Promise<Summary['devices']> {
  const guests = await p.step(
    `power on ${devices.length} QEMU devices (TCG), each with its swtpm as /dev/tpmrm0`,
    () =>
      Promise.all(
        devices.map((d) =>
          bootGuest(
            res,
            image,
            { name: d.name, tpmState: d.tpmState, runDir: join(d.tpmState, '..', 'qemu') },
            port,
          ),
        ),
      ),
    () => `consoles in ${devices.map((d) => join(d.tpmState, '..', 'qemu', 'console.log')).join(', ')}`,
  );
  const ready = await p.step(
    'first boot: systemd starts xtt-agent, XTT with the TPM, identity on eth0 (several minutes under TCG)',
    () => Promise.all(guests.map((g) => waitGuestReady(g, 900_000))),
    (r) => `${r.length} devices READY`,
  );
  return ready.map(({ identity, report }, i) => {
    const d = devices[i]!;
    p.print(`\n  ${d.name} (QEMU guest): ip -6 addr show dev eth0 scope global`);
    p.print(`    ${report.eth0Ipv6.join('\n    ')}`);
    return { name: d.name, netns: null, interface: 'eth0', ipv4: null, identity, addresses: report.eth0Ipv6 };
  });
}

function formatDevices(list: ApiDevice[]): string {
  const rows = [
    ['identity', 'batch', 'status', 'pseudonym', 'from'],
    ...list.map((d) => [d.identity, d.batch, d.status, `${d.pseudonym.slice(0, 16)}...`, d.lastSource ?? '']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `    ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`).join('\n');
}

async function main(): Promise<number> {
  let o: DemoOptions | 'help';
  try {
    o = parseDemoArgs(process.argv.slice(2), process.stdin.isTTY === true);
  } catch (e) {
    process.stderr.write(`npm run demo: ${(e as Error).message}\n\n${USAGE}\n`);
    return DEMO_EXIT.usage;
  }
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return DEMO_EXIT.ok;
  }
  const hostProblem = checkHost(o);
  if (hostProblem) {
    process.stderr.write(`npm run demo: ${hostProblem[1]}\n`);
    return hostProblem[0];
  }
  const res = new Resources();
  res.onRelease('sweep namespaces and links named after this demo', sweepOwnNames);
  const p = new Progress(11, o.isJson);
  let workdir: string | undefined;
  const keptWorkdir = () => (o.keepWorkdir ? workdir : undefined);
  let isUp = false;
  let stopWaiting: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stopWaiting = r));
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = sig;
    stopWaiting();
    if (!isUp) {
      // Interrupted mid-setup: undo now (in-flight steps then fail) and leave when it is done.
      process.stderr.write(`\n${sig}: stopping, cleaning up ...\n`);
      void res.release().then((f) => {
        for (const x of f) process.stderr.write(`cleanup: ${x}\n`);
        process.stderr.write(`${finalLine(DEMO_EXIT.interrupted, keptWorkdir())}\n`);
        process.exit(DEMO_EXIT.interrupted);
      });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code: number = DEMO_EXIT.ok;
  let summary: Summary | undefined;
  let isSummaryShown = false;
  try {
    summary = await demo(
      o,
      res,
      p,
      (dir) => (workdir = dir),
      () => (isUp = true),
    );
    if (!o.shouldExit && !signalled) {
      const undoKey = onStopKey(stopWaiting);
      p.print(
        `\nRunning. Press ${undoKey ? 'Ctrl-C (or q)' : 'Ctrl-C or send SIGTERM'} to stop the devices ` +
          `and the server and ${o.keepWorkdir ? 'remove everything but the work directory' : 'remove everything'}.`,
      );
      if (o.isJson) process.stdout.write(`${JSON.stringify(summary)}\n`);
      isSummaryShown = true;
      await stopped;
      undoKey?.();
    }
  } catch (e) {
    if (signalled && !isUp) {
      // The failure is the cleanup pulling resources away; the signal handler exits with 130.
      await res.release();
      return DEMO_EXIT.interrupted;
    }
    code = DEMO_EXIT.stepFailed;
    const msg = e instanceof StepError ? e.message : `failed: ${(e as Error).stack ?? String(e)}`;
    process.stderr.write(`\nnpm run demo: ${msg}\n`);
    if (!o.keepWorkdir) process.stderr.write('(run with --keep to keep the logs in the work directory)\n');
    if (o.isJson)
      process.stdout.write(
        `${JSON.stringify({ ok: false, step: e instanceof StepError ? e.step : null, title: e instanceof StepError ? e.title : null, error: (e as Error).message })}\n`,
      );
  }
  p.print(
    `\ncleaning up: stopping every process it started, deleting its namespaces and links, ` +
      (o.keepWorkdir ? `keeping the work directory ${workdir ?? ''}` : 'removing the work directory'),
  );
  const failures = await res.release();
  for (const f of failures) process.stderr.write(`cleanup: ${f}\n`);
  if (failures.length > 0 && code === DEMO_EXIT.ok) code = DEMO_EXIT.stepFailed;
  if (summary && o.isJson && !isSummaryShown) process.stdout.write(`${JSON.stringify(summary)}\n`);
  p.print(finalLine(code, keptWorkdir()));
  return code;
}

process.exit(await main());
