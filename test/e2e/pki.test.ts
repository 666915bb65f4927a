// End-to-end PKI option under QEMU: a device whose key stays in its TPM provisions by the customer's
// CA at first power-on. The factory side with the real programs and openssl: `xtt-factory pki-key`
// makes the P-256 key in the device's swtpm and a CSR, a customer CA made by openssl signs it,
// `enf-server ca add` registers that CA with a network, `enf-server start --pki-port` serves
// enrollment with a TLS certificate for 10.0.2.2 (the host as the guest sees it). The guest is the
// same test image as the XTT devices, with exactly the tree the Yocto recipe installs for qemux86-64
// (image/bitbake-env.ts recipeTreeX86; the layer ships one agent for both methods); only the
// device's own files differ: config.json with method pki, its certificate and the server's TLS CA,
// written over the recipe's into the device's storage by the image's seed disk (qemu/boot.ts
// seedDir), as a factory would. The agent signs the channel-bound
// challenge with TPM2_Sign through /dev/tpmrm0. One boot; figures are printed, not asserted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../image/build-image.ts';
import { Device, readImageManifest } from '../../qemu/boot.ts';
import { SELFTEST_MULTI_USER } from '../../qemu/selftest-report.ts';
import { suiteRequires } from '../helpers/requirements.ts';
import { startSwtpm } from '../helpers/swtpm.ts';
import { issue, issueCa, makeRoot } from '../helpers/openssl-ca.ts';
import { recipeTreeX86 } from '../../image/bitbake-env.ts';
import { e2eWork, enf, factory, startServer } from './fleet.ts';
import { guestSh, hasIdentityOnEth0 } from './guest-network.ts';

const test = suiteRequires('e2e PKI enrollment', ['root', 'qemu', 'swtpm', 'debootstrap', 'yocto']);

const PREFIX = 'fd00:e2e:16:1';
const SERVER_TLS_EXT =
  'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:10.0.2.2';

interface CertDeviceRow {
  identity: string;
  subject: string;
  method: string;
  enrollCount: number;
  status: string;
}

test('a device with its key in the TPM provisions by the customer CA at first power-on', async (t) => {
  t.timeout(30 * 60_000, 'image build and a TCG boot');
  const { work, cleanups, pass } = e2eWork(t, 'pki');

  // Factory: the key in the device's TPM and its certificate request; the customer's CA signs it.
  const tpmState = join(work, 'tpm');
  mkdirSync(tpmState);
  const csr = join(work, 'device.csr');
  const station = await startSwtpm({ stateDir: tpmState });
  try {
    await factory(['pki-key', '--tpm', station.spec, '--subject', 'CN=xtt-pki-dev', '--csr', csr]);
  } finally {
    await station.stop();
  }
  const cas = join(work, 'cas');
  const root = makeRoot(cas, 'customer-root');
  const issuing = issueCa(root, cas, 'customer-issuing');
  const leaf = issue(issuing, cas, 'xtt-pki-dev', { csrPath: csr });
  const tlsCa = makeRoot(cas, 'enf-tls-ca');
  const tls = issue(tlsCa, cas, 'enf-tls', { ext: SERVER_TLS_EXT });

  // The network's server: the customer's issuing CA registered with a network, PKI port served.
  const enfDir = join(work, 'enf');
  await enf(enfDir, ['init']);
  await enf(enfDir, ['network', 'add', '--name', 'e2e-pki', '--prefix', `${PREFIX}::/64`]);
  await enf(enfDir, ['ca', 'add', '--cert', issuing.certPath, '--network', 'e2e-pki', '--unverified']);
  const server = await startServer(enfDir, join(work, 'enf-server.log'), {
    certFile: tls.certPath,
    keyFile: tls.keyPath,
  });
  cleanups.push(() => server.stop());

  // The device's own files, as the factory writes them into its storage.
  const seed = join(work, 'seed');
  mkdirSync(join(seed, 'etc', 'xtt-agent'), { recursive: true, mode: 0o755 });
  const put = (name: string, text: string) =>
    writeFileSync(join(seed, 'etc', 'xtt-agent', name), text, { mode: 0o644 });
  put('device.pem', leaf.pem);
  put('server-ca.pem', tlsCa.pem);
  put(
    'config.json',
    JSON.stringify({
      server: { host: '10.0.2.2', port: server.pkiPort },
      interface: 'eth0',
      tpm: '/dev/tpmrm0',
      method: 'pki',
      pki: { cert: '/etc/xtt-agent/device.pem', serverCa: '/etc/xtt-agent/server-ca.pem' },
    }),
  );

  const tree = recipeTreeX86('e2e-pki');
  const image = readImageManifest(await buildImage({ agentTree: tree, log: (l) => t.log(l) }));
  t.true(image.agent);
  const device = await Device.boot(image, {
    name: 'xtt-pki-dev',
    tpmStateDir: tpmState,
    runDir: join(work, 'dev'),
    seedDir: seed,
  });
  cleanups.push(() => device.stop());
  // The unit ends active once the agent's READY=1 and the handoff (ExecStartPost) are done. On a
  // loaded host under TCG a handoff can outlast WatchdogSec and systemd restarts the unit, which
  // then re-applies the stored identity: wait for active through the control channel (bounds for
  // a hang, not speed checks; the self-test report's own 120 s bound is not used here).
  await device.waitFor(SELFTEST_MULTI_USER, 'reach multi-user', 1_200_000);
  const unitState = async () =>
    (
      await device.control.exec('systemctl show xtt-agent.service -p ActiveState --value', 300_000)
    ).output.trim();
  const deadline = Date.now() + 900_000;
  let state = await unitState();
  while (state !== 'active' && state !== 'failed' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5_000));
    state = await unitState();
  }
  const journal = async () =>
    (await device.control.exec('journalctl -u xtt-agent -b --no-pager | tail -n 30', 300_000)).output;
  t.is(state, 'active', `agent READY (journal: ${state === 'active' ? '' : await journal()})`);
  const activeAt = Date.now();
  const status = JSON.parse(await guestSh(t, device, 'xtt-agent status --json')) as { identity?: string };
  const id = status.identity;
  t.true(id?.startsWith(`${PREFIX}:`), `identity ${id} in the network's /64`);
  t.true(await hasIdentityOnEth0(device, id ?? '-'), `${id} on eth0`);
  const devices = (await enf(enfDir, ['ca', 'devices'])) as CertDeviceRow[];
  t.is(devices.length, 1);
  t.like(devices[0], {
    identity: id,
    subject: 'CN=xtt-pki-dev',
    method: 'signed-challenge',
    enrollCount: 1,
    status: 'active',
  });
  await device.powerOff();
  t.true(device.tpmStoppedCleanly, 'swtpm stopped by itself after the clean power-off');
  console.log(JSON.stringify({ figure: 'e2e.pki', powerOnToActiveMs: activeAt - device.startedAt })); // prettier-ignore
  pass();
});
