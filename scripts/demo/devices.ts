// The demo's devices as network namespaces: the factory side (a swtpm per device on the host's
// loopback, provisioned by `xtt-factory provision`, then shut down cleanly keeping its state, as a
// TPM leaves the station in its box) and first power-on (the same TPM state served by swtpm inside
// the device's namespace, xtt-agent there with --tpm swtpm:127.0.0.1:2321, its eth0 a veth whose
// host end is on the demo's bridge, where enf-server listens).
//
// Host side: bridge xtd<pid> with 10.77.N.1/24, N the first /24 of 10.77.0.0/16 with no address on
// this host (so several demos can run at once); device i: namespace xttdemo-<pid>-<i>, veth
// xtd<pid>v<i> <-> eth0 (10.77.N.<10+i>/24). Only addresses and links the demo creates.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { shutdown } from '../../tpm/commands/shutdown.ts';
import { Tpm } from '../../tpm/tpm.ts';
import { SwtpmTransport } from '../../tpm/transport/swtpm.ts';
import { freePort } from '../../qemu/ports.ts';
import { swtpmSocketArgs } from '../../qemu/swtpm-command.ts';
import { run, runJson, stopChild, tsxArgs, until, type Child, type Resources } from './resources.ts';

export const SUBNET = { base: '10.77', prefixLength: 24, first: 10 } as const;
export const NETNS_PREFIX = 'xttdemo-';

export interface DemoLink {
  bridge: string;
  /** The bridge's address: where enf-server listens for the devices. */
  address: string;
  /** The first three octets of the /24, e.g. "10.77.0". */
  net: string;
}

export interface DemoDevice {
  index: number;
  name: string;
  netns: string;
  ifname: string;
  /** Set when the namespace is made (the /24 is chosen then). */
  ipv4: string;
  tpmState: string;
  stateDir: string;
  config: string;
  agent?: Child;
  swtpm?: Child;
}

export { freePort };

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Creates the bridge the devices' veths attach to, on the first free 10.77.N.0/24. */
export async function createBridge(res: Resources): Promise<DemoLink> {
  const used = JSON.parse(await run('ip', ['-4', '-j', 'addr', 'show'])) as {
    addr_info?: { local: string }[];
  }[];
  const taken = new Set(
    used.flatMap((l) => (l.addr_info ?? []).map((a) => a.local.split('.').slice(0, 3).join('.'))),
  );
  let net: string | undefined;
  for (let n = 0; n < 256 && net === undefined; n++)
    if (!taken.has(`${SUBNET.base}.${n}`)) net = `${SUBNET.base}.${n}`;
  if (net === undefined) throw new Error(`every /24 of ${SUBNET.base}.0.0/16 is in use on this host`);
  const bridge = `xtd${process.pid}`;
  const address = `${net}.1`;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  res.onRelease(`delete link ${bridge}`, () => run('ip', ['link', 'del', bridge]).then(() => undefined));
  await run('ip', ['addr', 'add', `${address}/${SUBNET.prefixLength}`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
  return { bridge, address, net };
}

export function planDevices(workdir: string, count: number): DemoDevice[] {
  return Array.from({ length: count }, (_, k) => {
    const index = k + 1;
    const dir = join(workdir, `device-${index}`);
    mkdirSync(join(dir, 'tpm'), { recursive: true });
    return {
      index,
      name: `device-${index}`,
      netns: `${NETNS_PREFIX}${process.pid}-${index}`,
      ifname: 'eth0',
      ipv4: '',
      tpmState: join(dir, 'tpm'),
      stateDir: join(dir, 'state'),
      config: join(dir, 'agent-config.json'),
    };
  });
}

/** Factory station: swtpm on loopback, `xtt-factory provision`, TPM2_Shutdown, stop. */
export async function provisionAtFactory(
  res: Resources,
  workdir: string,
  dev: DemoDevice,
  batchDir: string,
  rootCert: string,
): Promise<Record<string, unknown>> {
  const port = await freePort('127.0.0.1');
  let ctrlPort = await freePort('127.0.0.1');
  while (ctrlPort === port) ctrlPort = await freePort('127.0.0.1');
  const sw = res.spawn(
    `factory-swtpm-${dev.index}`,
    'swtpm',
    swtpmSocketArgs({ stateDir: dev.tpmState, port, ctrlPort }),
    workdir,
  );
  await until(
    `swtpm of ${dev.name} to listen`,
    () => canConnect('127.0.0.1', port),
    15_000,
    () => (sw.hasExited() ? `swtpm exited: ${sw.output().trim()}` : undefined),
  );
  const spec = `swtpm:127.0.0.1:${port}:${ctrlPort}`;
  const out = await runJson('factory/main.ts', [
    'provision',
    '--batch',
    batchDir,
    '--tpm',
    spec,
    '--root-cert',
    rootCert,
  ]);
  // An orderly TPM2_Shutdown before the power goes (a disorderly stop counts toward DA lockout).
  const tpm = new Tpm(new SwtpmTransport({ host: '127.0.0.1', port, ctrlPort }));
  try {
    await tpm.run(shutdown());
  } finally {
    await tpm.close();
  }
  await stopChild(sw);
  return out;
}

/** Namespace with eth0 (veth to the bridge) and an IPv4 address to reach the server. */
export async function createDeviceNetns(res: Resources, link: DemoLink, dev: DemoDevice): Promise<void> {
  await run('ip', ['netns', 'add', dev.netns]);
  res.onRelease(`delete netns ${dev.netns}`, () =>
    run('ip', ['netns', 'del', dev.netns]).then(() => undefined),
  );
  const hostEnd = `${link.bridge}v${dev.index}`;
  await run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', dev.ifname, 'netns', dev.netns]);
  // Deleting the namespace deletes eth0 and with it the veth pair; this covers a failure before.
  res.onRelease(`delete link ${hostEnd}`, () =>
    run('ip', ['link', 'del', hostEnd]).then(
      () => undefined,
      () => undefined,
    ),
  );
  await run('ip', ['link', 'set', hostEnd, 'master', link.bridge, 'up']);
  const ns = (...a: string[]) => run('ip', ['-n', dev.netns, ...a]);
  await ns('link', 'set', 'lo', 'up');
  dev.ipv4 = `${link.net}.${SUBNET.first + dev.index}`;
  await ns('addr', 'add', `${dev.ipv4}/${SUBNET.prefixLength}`, 'dev', dev.ifname);
  await ns('link', 'set', dev.ifname, 'up');
}

const TPM_PORT = 2321;

/** Powers the device on: its swtpm and xtt-agent inside its namespace. */
export async function powerOn(
  res: Resources,
  workdir: string,
  dev: DemoDevice,
  server: { host: string; port: number },
): Promise<void> {
  dev.swtpm = res.spawn(
    `swtpm-${dev.index}`,
    'ip',
    ['netns', 'exec', dev.netns, 'swtpm', ...swtpmSocketArgs({ stateDir: dev.tpmState, port: TPM_PORT })],
    workdir,
  );
  const sw = dev.swtpm;
  await until(
    `swtpm of ${dev.name} to listen in ${dev.netns}`,
    () =>
      run('ip', ['netns', 'exec', dev.netns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${TPM_PORT}`]).then(
        () => true,
        () => false,
      ),
    15_000,
    () => (sw.hasExited() ? `swtpm exited: ${sw.output().trim()}` : undefined),
  );
  writeFileSync(
    dev.config,
    JSON.stringify(
      {
        server: { host: server.host, port: server.port },
        interface: dev.ifname,
        tpm: `swtpm:127.0.0.1:${TPM_PORT}:${TPM_PORT + 1}`,
        stateDir: dev.stateDir,
        backoff: { initialMs: 500, maxMs: 5000 },
      },
      null,
      2,
    ),
  );
  dev.agent = res.spawn(
    `xtt-agent-${dev.index}`,
    'ip',
    [
      'netns',
      'exec',
      dev.netns,
      process.execPath,
      ...tsxArgs('agent/main.ts', ['run', '--config', dev.config]),
    ],
    workdir,
  );
}

interface IpAddr {
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
}

/** Global IPv6 addresses on the device's interface that finished DAD. */
export async function deviceIpv6(dev: DemoDevice): Promise<IpAddr[]> {
  const out = JSON.parse(
    await run('ip', ['-n', dev.netns, '-6', '-j', 'addr', 'show', 'dev', dev.ifname]),
  ) as {
    addr_info?: IpAddr[];
  }[];
  return (out[0]?.addr_info ?? []).filter((a) => a.scope === 'global' && a.tentative !== true);
}

/** Waits until the agent put its identity on eth0 (what READY=1 means), then asks its status. */
export async function waitReady(
  dev: DemoDevice,
  timeoutMs: number,
): Promise<{ identity: string; prefixLength: number }> {
  const agent = dev.agent!;
  await until(
    `xtt-agent on ${dev.name} to configure its identity`,
    async () => (await deviceIpv6(dev)).length > 0,
    timeoutMs,
    // Exit 0 is the agent's normal end after READY=1 (no watcher): the address stays.
    () =>
      agent.hasExited() && agent.proc.exitCode !== 0
        ? `xtt-agent exited with ${agent.proc.exitCode ?? agent.proc.signalCode}: ${agent.output().trim().split('\n').slice(-5).join(' | ')} (log ${agent.logFile})`
        : undefined,
  );
  const st = await runJson('agent/main.ts', ['status', '--config', dev.config]);
  if (st.provisioned === false || typeof st.identity !== 'string')
    throw new Error(
      `xtt-agent status on ${dev.name}: not provisioned although an address is on ${dev.ifname}`,
    );
  return { identity: st.identity, prefixLength: Number(st.prefixLength) };
}
