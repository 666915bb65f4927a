// The agent process with method pki against the real enf-server, in a network namespace made by the
// test (server, swtpm and agent inside it, as the XTT first-boot tests do). CAs and certificates are
// made by openssl at test time; the server's registry is a SQLite file with the customer's issuing
// CA registered for a network. Cases:
//   - a key file (the TLS client certificate proof): started before the server, the agent retries
//     with backoff, then enrolls once the server listens; READY=1, the identity on the interface
//     and in state.json is the server's; a restart re-applies it without enrolling again;
//   - a key in swtpm made by `xtt-factory pki-key` and certified by the CA from its CSR (the
//     signed-challenge proof, TPM2_Sign); a certificate that does not certify the TPM's key is a
//     configuration error (exit 3) before any connection;
//   - a certificate of an unknown CA: refused again and again without giving up, each refusal
//     audited as unknown-ca, nothing stored, no address, no device in the registry.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicKey } from 'node:crypto';
import { EXIT } from '../../../agent/exit-codes.ts';
import { FileStateStore } from '../../../agent/state-store.ts';
import { parseCertificate } from '../../../protocol/pki/certificate.ts';
import { formatIpv6 } from '../../../protocol/util/ipv6.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { createNetns, ipv6Addresses, type TestNetns } from '../../helpers/netns.ts';
import { notifyReceiver, type NotifyReceiver } from '../../helpers/notify-receiver.ts';
import { swtpmSocketArgs } from '../../../qemu/swtpm-command.ts';
import { EXT, issue, issueCa, makeRoot, type IssuedCert, type TestCa } from '../../helpers/openssl-ca.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';

const test = suiteRequires('agent method pki against enf-server', ['root', 'netns', 'swtpm']);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PREFIX = '2001:db8:16:1';

interface Proc {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function track(proc: ChildProcess): Proc {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

interface World {
  ns: TestNetns;
  dir: string;
  serverDir: string;
  /** The customer's issuing CA (registered) and another CA nobody registered. */
  issuing: TestCa;
  stranger: TestCa;
  /** The server's TLS CA (what devices trust through pki.serverCa). */
  tlsCa: TestCa;
  tls: IssuedCert;
  port: number;
  pkiPort: number;
  notify: NotifyReceiver;
  procs: Proc[];
}

async function world(t: { teardown: (f: () => void | Promise<void>) => void }): Promise<World> {
  const ns = createNetns('xttpki');
  const dir = mkdtempSync(join(tmpdir(), 'xtt-agent-pki-'));
  const procs: Proc[] = [];
  const notify = notifyReceiver(join(dir, 'notify'));
  t.teardown(async () => {
    for (const p of procs.reverse()) {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
    notify.close();
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const serverDir = join(dir, 'server');
  createKeyMaterial(serverDir, systemRng);
  const cas = join(dir, 'cas');
  const root = makeRoot(cas, 'acme-root');
  const issuing = issueCa(root, cas, 'acme-issuing');
  const stranger = makeRoot(cas, 'stranger-root');
  const tlsCa = makeRoot(cas, 'tls-ca');
  const tls = issue(tlsCa, cas, 'enf-tls', { ext: EXT.server });
  const r = SqliteRegistry.open(join(serverDir, 'registry.sqlite'));
  await r.addNetwork({ name: 'plant-pki', prefix: `${PREFIX}::/64` });
  await r.pki.addCa({ der: issuing.der, name: 'acme-issuing', network: 'plant-pki', maxDevices: null });
  await r.close();
  const port = 20000 + Math.floor(Math.random() * 20000);
  return { ns, dir, serverDir, issuing, stranger, tlsCa, tls, port, pkiPort: port + 1, notify, procs };
}

function nsSpawn(w: World, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = track(
    spawn('ip', ['netns', 'exec', w.ns.name, cmd, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  w.procs.push(p);
  return p;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, output: () => string) {
  const deadline = Date.now() + 300_000; // a bound for a hang, not a speed check
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startServer(w: World): Promise<Proc> {
  const p = nsSpawn(w, process.execPath, [
    '--import', 'tsx', 'server-stub/main.ts', '--dir', w.serverDir, 'start', '--bind', '127.0.0.1',
    '--port', String(w.port), '--workers', '1', '--pki-port', String(w.pkiPort),
    '--pki-tls-cert', w.tls.certPath, '--pki-tls-key', w.tls.keyPath,
  ]); // prettier-ignore
  await until('enf-server', () => /server\.pki-listening/.test(p.output()), p.output);
  return p;
}

/** Writes the agent's config.json (method pki) and returns its path and state directory. */
function agentConfig(
  w: World,
  name: string,
  pki: { cert: string; key?: string },
  extra: object = {},
): { config: string; stateDir: string } {
  const stateDir = join(w.dir, name, 'state');
  mkdirSync(join(w.dir, name), { recursive: true });
  const config = join(w.dir, name, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      method: 'pki',
      pki: { ...pki, serverCa: w.tlsCa.certPath, serverName: 'localhost' },
      server: { host: '127.0.0.1', port: w.pkiPort },
      interface: w.ns.ifname,
      nodad: true,
      stateDir,
      backoff: { initialMs: 200, maxMs: 1000, refusedMaxMs: 1000 },
      timeouts: { connectMs: 5000, handshakeMs: 60000 },
      ...extra,
    }),
  );
  return { config, stateDir };
}

function startAgent(w: World, config: string): Proc {
  return nsSpawn(w, process.execPath, ['--import', 'tsx', 'agent/main.ts', 'run', '--config', config], {
    NOTIFY_SOCKET: join(w.dir, 'notify'),
  });
}

async function readyOf(w: World, agent: Proc): Promise<string> {
  return w.notify
    .waitFor((m) => m.startsWith('READY=1'), 300_000)
    .catch((e: Error) => {
      throw new Error(`${e.message}\nagent: ${agent.output()}`);
    });
}

async function registryView(w: World) {
  const r = SqliteRegistry.open(join(w.serverDir, 'registry.sqlite'));
  try {
    return { devices: await r.pki.listCertDevices(), audit: await r.queryAudit() };
  } finally {
    await r.close();
  }
}

const spkiOf = (c: IssuedCert): Uint8Array => parseCertificate(c.der).publicKeyDer;

test.serial(
  'key file: retries until the server listens, enrolls, READY=1; a restart re-applies without enrolling',
  async (t) => {
    const w = await world(t);
    const leaf = issue(w.issuing, join(w.dir, 'certs'), 'gw-file');
    const { config, stateDir } = agentConfig(w, 'file', { cert: leaf.certPath, key: leaf.keyPath });
    const agent = startAgent(w, config);
    await w.notify.waitFor((m) => /^STATUS=provisioning: server unreachable .*retry 2 in/.test(m), 300_000);
    t.is(await new FileStateStore(stateDir).load(), undefined, 'nothing stored while unreachable');
    await startServer(w);
    const ready = await readyOf(w, agent);
    const state = (await new FileStateStore(stateDir).load())!;
    const text = formatIpv6(state.identity);
    t.is(ready, `READY=1\nSTATUS=identity ${text} on ${w.ns.ifname}`);
    t.true(text.startsWith(`${PREFIX}:`), text);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
    t.deepEqual(state.longtermPublicKey, spkiOf(leaf), "the stored key is the certificate's");
    t.deepEqual(state.certificate, leaf.der, 'the stored certificate is the leaf');
    const seen = await registryView(w);
    t.is(seen.devices.length, 1);
    t.like(seen.devices[0], { subject: 'CN=gw-file', enrollCount: 1, method: 'tls-client-certificate' });
    t.is(formatIpv6(seen.devices[0]!.identity), text, "the stored identity is the server's");
    t.like(seen.audit[0], { outcome: 'provisioned', reason: 'new-device', sourceAddress: '127.0.0.1' });
    t.is(await agent.exited, 0, agent.output());

    w.ns.ip('-6', 'addr', 'flush', 'dev', w.ns.ifname, 'scope', 'global');
    w.notify.seen.length = 0;
    const again = startAgent(w, config);
    await readyOf(w, again);
    t.false(
      w.notify.seen.some((m) => m.includes('handshake with')),
      'no enrollment on restart',
    );
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
    const after = await registryView(w);
    t.is(after.devices[0]!.enrollCount, 1);
    t.is(after.audit.length, seen.audit.length);
    t.is(await again.exited, 0, again.output());
  },
);

test.serial(
  'key in swtpm (xtt-factory pki-key, CSR signed by the CA): enrolls by the signed challenge',
  async (t) => {
    const w = await world(t);
    // The factory station: the key made in the TPM, its CSR, the certificate from the customer's CA.
    const tpmState = join(w.dir, 'tpm');
    mkdirSync(tpmState);
    const csr = join(w.dir, 'device.csr');
    const station = await startSwtpm({ stateDir: tpmState });
    try {
      const made = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'factory/main.ts', 'pki-key', '--tpm', station.spec, '--subject', 'CN=gw-tpm',
          '--csr', csr, '--json'], // prettier-ignore
        { cwd: REPO, encoding: 'utf8', timeout: 180_000 },
      );
      t.is(made.status, 0, made.stderr);
    } finally {
      await station.stop();
    }
    const leaf = issue(w.issuing, join(w.dir, 'certs'), 'gw-tpm', { csrPath: csr });
    // The same TPM state served inside the namespace, beside the server.
    const tpmPort = w.port + 2;
    const swtpm = nsSpawn(w, 'swtpm', swtpmSocketArgs({ stateDir: tpmState, port: tpmPort }));
    const server = await startServer(w);
    await until(
      'swtpm',
      () =>
        spawnSync('ip', ['netns', 'exec', w.ns.name, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${tpmPort}`])
          .status === 0,
      swtpm.output,
    );
    const tpm = { tpm: `swtpm:127.0.0.1:${tpmPort}` };

    // A certificate of another key (not the TPM's): a configuration error before any connection.
    const other = issue(w.issuing, join(w.dir, 'certs'), 'not-the-tpm-key');
    const wrong = agentConfig(w, 'wrong', { cert: other.certPath }, tpm);
    const refused = startAgent(w, wrong.config);
    t.is(await refused.exited, EXIT.CONFIG, refused.output());
    t.regex(refused.output(), /pki\.cert.*does not certify the TPM key at 0x81010010/);
    t.is((await registryView(w)).audit.length, 0, 'nothing reached the server');

    const { config, stateDir } = agentConfig(w, 'tpm', { cert: leaf.certPath }, tpm);
    const agent = startAgent(w, config);
    await readyOf(w, agent);
    const state = (await new FileStateStore(stateDir).load())!;
    const text = formatIpv6(state.identity);
    t.true(text.startsWith(`${PREFIX}:`), text);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), [{ local: text, prefixlen: 64, tentative: false }]);
    const seen = await registryView(w);
    t.is(seen.devices.length, 1);
    t.like(seen.devices[0], { subject: 'CN=gw-tpm', method: 'signed-challenge', enrollCount: 1 });
    t.is(formatIpv6(seen.devices[0]!.identity), text);
    const spki = createPublicKey({ key: Buffer.from(spkiOf(leaf)), format: 'der', type: 'spki' });
    t.deepEqual(
      new Uint8Array(spki.export({ format: 'der', type: 'spki' })),
      state.longtermPublicKey,
      'the stored key is the TPM key the CA certified',
    );
    t.regex(server.output(), /pki\.enrolled/);
    t.is(await agent.exited, 0, agent.output());
    t.deepEqual(readFileSync(leaf.certPath, 'utf8'), leaf.pem, 'the agent left its files alone');
  },
);

test.serial(
  'a certificate of an unregistered CA: refused again and again, audited, nothing stored',
  async (t) => {
    const w = await world(t);
    await startServer(w);
    const leaf = issue(w.stranger, join(w.dir, 'certs'), 'gw-stranger');
    const { config, stateDir } = agentConfig(w, 'stranger', { cert: leaf.certPath, key: leaf.keyPath });
    const agent = startAgent(w, config);
    const exited = agent.exited.then((code) => {
      throw new Error(`agent exited ${code} while refused:\n${agent.output()}`);
    });
    exited.catch(() => undefined);
    await Promise.race([
      w.notify.waitFor((m) => /^STATUS=provisioning: server refused this device \(3x; /.test(m), 300_000),
      exited,
    ]);
    t.deepEqual(ipv6Addresses(w.ns, w.ns.ifname), []);
    t.is(await new FileStateStore(stateDir).load(), undefined);
    t.false(w.notify.seen.some((m) => m.startsWith('READY=1')));
    t.true(
      w.notify.seen.some((m) =>
        m.includes('3x; CA not registered yet, certificate not accepted, or revoked'),
      ),
      'STATUS= speaks of the CA and certificate, not of a batch',
    );
    t.regex(agent.output(), /its CA may not be registered with a network yet/);
    const seen = await registryView(w);
    t.is(seen.devices.length, 0, 'no device recorded');
    t.true(seen.audit.length >= 3);
    t.true(seen.audit.every((a) => a.outcome === 'refused' && a.reason === 'unknown-ca'));
    t.is(seen.audit[0]!.pki?.subject, 'CN=gw-stranger');
    agent.proc.kill('SIGTERM');
    t.is(await agent.exited, 0, 'SIGTERM during the refusal backoff stops it cleanly');
  },
);
