// Integration: the real `xtt-agent` process (agent/main.ts under tsx) inside a network namespace
// made by the test, with a real notify socket. Covers the later-boot path end to end (stored
// identity -> address with DAD -> READY=1 -> the process exits, or with `watch` the watcher until
// SIGTERM -> STOPPING=1), `handoff` without a manager, status output, and the documented exit
// codes of early failures. The first-boot handshake is covered by
// first-boot.test.ts and first-boot-tpm.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../../agent/exit-codes.ts';
import { FileStateStore } from '../../../agent/state-store.ts';
import { createNetns, ipv6Addresses, type TestNetns } from '../../helpers/netns.ts';
import { notifyReceiver } from '../../helpers/notify-receiver.ts';
import { suiteRequires } from '../../helpers/requirements.ts';

const test = suiteRequires('agent process integration', ['root', 'netns']);
const MAIN = fileURLToPath(new URL('../../../agent/main.ts', import.meta.url));
const IDENTITY = new Uint8Array(Buffer.from('fd00747400000000000000000000b0b0', 'hex'));
const IDENTITY_TEXT = 'fd00:7474::b0b0';

interface Setup {
  ns: TestNetns;
  dir: string;
  config: string;
  notifyPath: string;
}

async function setup(t: { teardown: (f: () => void) => void }, opts: { stored: boolean; extra?: object }) {
  const ns = createNetns('xttagp');
  const dir = mkdtempSync(join(tmpdir(), 'xtt-agent-'));
  t.teardown(() => {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const stateDir = join(dir, 'state');
  if (opts.stored) {
    await new FileStateStore(stateDir).save({
      identity: IDENTITY,
      longtermPublicKey: new Uint8Array(65).fill(4),
      server: 'enf.test:4444',
      provisionedAt: new Date('2026-11-28T04:00:00.000Z'),
    });
  }
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 4444 },
      interface: ns.ifname,
      stateDir,
      ...opts.extra,
    }),
  );
  return { ns, dir, config, notifyPath: join(dir, 'notify') } satisfies Setup;
}

function agentIn(s: Setup, args: string[]) {
  return spawn('ip', ['netns', 'exec', s.ns.name, process.execPath, '--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, NOTIFY_SOCKET: s.notifyPath },
  });
}

function agentSync(s: Setup, args: string[]) {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', s.ns.name, process.execPath, '--import', 'tsx', MAIN, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, NOTIFY_SOCKET: s.notifyPath },
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function until(cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cond()) await new Promise((r) => setTimeout(r, 50));
}

test.serial(
  'later boot with watch: stored identity applied with DAD, READY=1, removed address restored, SIGTERM stops',
  async (t) => {
    const s = await setup(t, { stored: true, extra: { watch: true } });
    const notify = notifyReceiver(s.notifyPath);
    t.teardown(() => notify.close());
    const child = agentIn(s, ['run', '--config', s.config]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const ready = await notify.waitFor((m) => m.startsWith('READY=1'));
      t.is(ready, `READY=1\nSTATUS=identity ${IDENTITY_TEXT} on ${s.ns.ifname}`);
      // READY=1 comes only once DAD is over: the address is there and not tentative.
      t.deepEqual(ipv6Addresses(s.ns, s.ns.ifname), [
        { local: IDENTITY_TEXT, prefixlen: 64, tentative: false },
      ]);
      t.true(
        notify.seen.includes(`STATUS=waiting for duplicate address detection of ${IDENTITY_TEXT} on veth-a`),
      );
      t.false(
        notify.seen.some((m) => m.includes('handshake')),
        'no handshake on a later boot',
      );

      s.ns.ip('-6', 'addr', 'del', `${IDENTITY_TEXT}/64`, 'dev', s.ns.ifname);
      await until(() => ipv6Addresses(s.ns, s.ns.ifname).length === 1);
      t.is(ipv6Addresses(s.ns, s.ns.ifname)[0]?.local, IDENTITY_TEXT);
      await until(() => /was gone \(address-removed\)/.test(stderr));
      t.regex(stderr, /address fd00:7474::b0b0 was gone \(address-removed\); put it back/);
    } finally {
      child.kill('SIGTERM');
    }
    t.is(await exited, 0, stderr);
    t.is(await notify.waitFor((m) => m === 'STOPPING=1'), 'STOPPING=1');
  },
);

test.serial(
  'later boot without watch: READY=1, then the process exits 0 and the address stays',
  async (t) => {
    const s = await setup(t, { stored: true, extra: { nodad: true } });
    const notify = notifyReceiver(s.notifyPath);
    t.teardown(() => notify.close());
    const child = agentIn(s, ['run', '--config', s.config]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    t.is(code, EXIT.OK, stderr);
    t.is(
      await notify.waitFor((m) => m.startsWith('READY=1')),
      `READY=1\nSTATUS=identity ${IDENTITY_TEXT} on ${s.ns.ifname}`,
    );
    t.false(notify.seen.includes('STOPPING=1'), 'exiting after READY=1 is not a stop');
    t.deepEqual(ipv6Addresses(s.ns, s.ns.ifname), [
      { local: IDENTITY_TEXT, prefixlen: 64, tentative: false },
    ]);
  },
);

test.serial(
  'handoff with network.manager none: nothing to hand over, exit 0; before provisioning exit 10',
  async (t) => {
    const s = await setup(t, { stored: true });
    const r = agentSync(s, ['handoff', '--json', '--network-manager', 'none', '--config', s.config]);
    t.is(r.code, EXIT.OK, r.stderr);
    t.deepEqual(JSON.parse(r.stdout), {
      manager: 'none',
      changed: false,
      detail: 'network.manager is none',
      address: `${IDENTITY_TEXT}/64`,
      interface: s.ns.ifname,
    });
    const fresh = await setup(t, { stored: false });
    const r2 = agentSync(fresh, ['handoff', '--network-manager', 'none', '--config', fresh.config]);
    t.is(r2.code, EXIT.NOT_PROVISIONED, r2.stderr);
    t.regex(r2.stderr, /not provisioned .*nothing to hand off/);
    const r3 = agentSync(s, ['handoff', '--network-manager', 'ifupdown', '--config', s.config]);
    t.is(r3.code, EXIT.CONFIG);
    t.regex(r3.stderr, /config network.manager: must be one of auto, networkd, networkmanager, none/);
  },
);

test.serial('status prints the stored identity, in text and JSON', async (t) => {
  const s = await setup(t, { stored: true });
  const text = agentSync(s, ['status', '--config', s.config]);
  t.is(text.code, EXIT.OK, text.stderr);
  t.is(
    text.stdout,
    `identity:       ${IDENTITY_TEXT}/64\ninterface:      veth-a\nserver:         enf.test:4444\n` +
      'provisioned-at: 2026-11-28T04:00:00.000Z\n',
  );
  const json = agentSync(s, ['status', '--json', '--config', s.config]);
  t.deepEqual(JSON.parse(json.stdout), {
    provisioned: true,
    identity: IDENTITY_TEXT,
    prefixLength: 64,
    interface: 'veth-a',
    server: 'enf.test:4444',
    provisionedAt: '2026-11-28T04:00:00.000Z',
    hasCertificate: false,
  });
});

test.serial('status reads local state without a server or interface configured', async (t) => {
  const s = await setup(t, { stored: true });
  const bare = join(s.dir, 'bare.json');
  writeFileSync(bare, '{}');
  const args = ['status', '--json', '--config', bare, '--state-dir', join(s.dir, 'state')];
  const r = agentSync(s, args);
  t.is(r.code, EXIT.OK, r.stderr);
  t.like(JSON.parse(r.stdout), { provisioned: true, identity: IDENTITY_TEXT, server: 'enf.test:4444' });
  const none = agentSync(s, ['status', '--json', '--config', bare, '--state-dir', join(s.dir, 'empty')]);
  t.is(none.code, EXIT.NOT_PROVISIONED, none.stderr);
  t.deepEqual(JSON.parse(none.stdout), { provisioned: false, interface: null, server: null });
});

test.serial('status before provisioning exits 10', async (t) => {
  const s = await setup(t, { stored: false });
  const r = agentSync(s, ['status', '--json', '--config', s.config]);
  t.is(r.code, EXIT.NOT_PROVISIONED);
  t.deepEqual(JSON.parse(r.stdout), { provisioned: false, interface: 'veth-a', server: '127.0.0.1:4444' });
});

test.serial('documented exit codes: interface missing, corrupt state, no TPM, config error', async (t) => {
  const missing = await setup(t, { stored: true, extra: { interface: 'nosuch0' } });
  const r1 = agentSync(missing, ['run', '--config', missing.config]);
  t.is(r1.code, EXIT.INTERFACE_MISSING, r1.stderr);
  t.regex(r1.stderr, /network interface "nosuch0" does not exist/);

  const corrupt = await setup(t, { stored: false });
  const stateDir = join(corrupt.dir, 'state');
  spawnSync('mkdir', ['-p', stateDir]);
  writeFileSync(join(stateDir, 'state.json'), '{"version":1,"ident');
  const r2 = agentSync(corrupt, ['run', '--config', corrupt.config]);
  t.is(r2.code, EXIT.STATE_CORRUPT, r2.stderr);
  t.regex(r2.stderr, /state\.json: not valid JSON/);

  // First boot against a TPM that is not there (nothing listens on this swtpm port).
  const noTpm = await setup(t, { stored: false, extra: { tpm: 'swtpm:127.0.0.1:9' } });
  const r3 = agentSync(noTpm, ['run', '--config', noTpm.config]);
  t.is(r3.code, EXIT.NO_TPM, r3.stderr);
  t.is(ipv6Addresses(noTpm.ns, noTpm.ns.ifname).length, 0);

  const badDev = await setup(t, { stored: false, extra: { dev: { dir: '/nonexistent' } } });
  const r4 = agentSync(badDev, ['run', '--config', badDev.config]);
  t.is(r4.code, EXIT.CONFIG, r4.stderr);
  t.regex(r4.stderr, /config dev\.\w+: cannot read \/nonexistent\//);

  const r5 = agentSync(badDev, ['run', '--config', badDev.config, '--suite', '9']);
  t.is(r5.code, EXIT.CONFIG);
  t.regex(r5.stderr, /config suite: 9 is outside 1..4 \(from --suite\)/);
});

test.serial('without CAP_NET_ADMIN the kernel refuses the address: exit 12 and no address', async (t) => {
  const s = await setup(t, { stored: true });
  spawnSync('chmod', ['-R', 'a+rX', s.dir]);
  // An unprivileged user with no capabilities, like the unit would be without AmbientCapabilities=.
  const r = spawnSync(
    'ip',
    [
      ...['netns', 'exec', s.ns.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      ...['--inh-caps=-all', '--bounding-set=-all', process.execPath, '--import', 'tsx', MAIN],
      ...['run', '--config', s.config],
    ],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../', import.meta.url)) },
  );
  t.is(r.status, EXIT.NETWORK, r.stderr);
  t.regex(r.stderr, /RTM_NEWADDR veth-a: EPERM/);
  t.deepEqual(ipv6Addresses(s.ns, s.ns.ifname), []);
});
