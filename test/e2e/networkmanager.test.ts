// End-to-end under QEMU with NetworkManager instead of systemd-networkd (the image variant of
// image/build-image.sh --network networkmanager) carrying exactly the tree the Yocto recipe installs
// for qemux86-64 (its do_compile and do_install, expanded by real BitBake: image/bitbake-env.ts
// recipeTreeX86; the installed files do not depend on the recipe's PACKAGECONFIG, which only adds
// run-time dependencies): a factory-provisioned swtpm, enf-server on the host, one device that
// provisions at power-on and hands its identity to NetworkManager (agent/
// network-manager: `nmcli connection modify --temporary ... +ipv6.addresses`, `nmcli device
// reapply`), then nothing of the agent stays resident and NetworkManager keeps the identity:
//   - `nmcli device reapply eth0` after the address was deleted behind NetworkManager's back;
//   - `systemctl restart NetworkManager` (the in-memory change survives it: the profile still
//     carries the identity, and the address is on eth0);
//   - link down and up (the kernel drops the address on down; NetworkManager puts it back);
//   - a reboot: same identity, no second handshake, handed to NetworkManager again.
// No step may start a handshake (the server's audit is compared). Figures are printed, not asserted.
import { join } from 'node:path';
import { buildImage } from '../../image/build-image.ts';
import { readImageManifest, type DeviceSpec } from '../../qemu/boot.ts';
import { suiteRequires } from '../helpers/requirements.ts';
import { recipeTreeX86 } from '../../image/bitbake-env.ts';
import {
  bootAndReport,
  e2eWork,
  enf,
  factory,
  identityOf,
  listAudit,
  listDevices,
  provisionTpm,
  startServer,
} from './fleet.ts';
import { agentProcesses, guestSh, waitForIdentity } from './guest-network.ts';

const test = suiteRequires('e2e NetworkManager', ['root', 'qemu', 'swtpm', 'debootstrap', 'yocto']);

const PREFIX = 'fd00:e2e:1:3';
/** The profile image/guest/eth0.nmconnection ships. */
const PROFILE_UUID = '5f1f2b6e-3c1a-4f8e-9d2b-7a61c0e0e718';
const PROFILE_ADDRESSES = `nmcli -t -e no -g ipv6.addresses connection show uuid ${PROFILE_UUID}`;

test('NetworkManager keeps the identity after the agent ended: reapply, restart, link down/up, reboot', async (t) => {
  t.timeout(
    40 * 60_000,
    'image build (debootstrap with network-manager), factory provisioning, two TCG boots',
  );
  const { work, cleanups, pass } = e2eWork(t, 'networkmanager');

  const enfDir = join(work, 'enf');
  await enf(enfDir, ['init']);
  await enf(enfDir, ['network', 'add', '--name', 'e2e-nm', '--prefix', `${PREFIX}::/64`]);
  const batch = join(work, 'batch');
  await factory(['create-batch', '--out', batch, '--name', 'batch-nm', '--size', '2']);
  const tpm = join(work, 'tpm-1');
  await provisionTpm(tpm, batch, join(enfDir, 'root_cert.bin'));
  await enf(enfDir, ['batch', 'add', '--gpk-file', join(batch, 'gpk.bin'), '--basename-file',
    join(batch, 'basename.bin'), '--name', 'batch-nm', '--network', 'e2e-nm', '--size', '2']); // prettier-ignore
  const server = await startServer(enfDir, join(work, 'enf-server.log'));
  cleanups.push(() => server.stop());

  // The agent as the layer installs it (config.json: the recipe's QEMU default 10.0.2.2:4444); only
  // the port of this test's server comes from the kernel command line.
  const tree = recipeTreeX86('e2e-networkmanager');
  const image = readImageManifest(
    await buildImage({ agentTree: tree, network: 'networkmanager', log: (l) => t.log(l) }),
  );
  t.true(image.agent);
  t.is(image.network, 'networkmanager');
  const spec = (keepDisk: boolean): DeviceSpec => ({
    name: 'xtt-nm-1',
    tpmStateDir: tpm,
    runDir: join(work, 'dev-1'),
    extraCmdline: `systemd.setenv=XTT_AGENT_SERVER_PORT=${server.port}`,
    keepDisk,
  });

  // 1. First boot: provisioned, handed to NetworkManager, nothing of the agent left.
  const first = await bootAndReport(image, spec(false));
  cleanups.push(() => first.device.stop());
  const dev = first.device;
  const id = identityOf(first.report);
  t.is(first.report.agentState, 'active', `agent READY (journal: ${first.report.agentJournal.join(' | ')})`);
  if (!id) throw new Error(`no identity in the agent's status: ${JSON.stringify(first.report.agentStatus)}`);
  t.true(id.startsWith(`${PREFIX}:`), `identity ${id} in the network's /64`);
  const sh = (cmd: string) => guestSh(t, dev, cmd);
  t.is(
    await sh('systemctl is-active systemd-networkd.service || true'),
    'inactive',
    'networkd is not running',
  );
  t.regex(
    await sh('journalctl -b -u xtt-agent.service -o cat --no-pager'),
    new RegExp(`${id}/64 handed to NetworkManager: connection ${PROFILE_UUID}`),
    'the handoff chose NetworkManager and the image profile',
  );
  t.true(
    (await sh(PROFILE_ADDRESSES)).split(/[,\s]+/).includes(`${id}/64`),
    'the profile carries the identity',
  );
  await waitForIdentity(t, dev, id, 'after READY');
  t.is(await agentProcesses(t, dev), 0, 'nothing of the agent left in its cgroup');
  const auditAtReady = (await listAudit(enfDir)).length;

  // 2. Reconfigurations by NetworkManager (or the kernel), each ending with the identity back.
  await sh(`ip -6 addr del ${id}/64 dev eth0 && nmcli device reapply eth0`);
  await waitForIdentity(t, dev, id, 'nmcli device reapply');
  await sh('systemctl restart NetworkManager.service');
  await waitForIdentity(t, dev, id, 'NetworkManager restart');
  t.true(
    (await sh(PROFILE_ADDRESSES)).split(/[,\s]+/).includes(`${id}/64`),
    'the in-memory change outlived the NetworkManager restart',
  );
  // The kernel drops global IPv6 addresses on admin down (keep_addr_on_down=0): checked, so the
  // step cannot pass with the address simply left in place. After the restart, so the address
  // coming back also shows that the restarted NetworkManager still has the changed profile.
  await sh(
    `ip link set eth0 down && ! ip -6 -o addr show dev eth0 | grep -qF ' ${id}/'; r=$?; ip link set eth0 up && exit $r`,
  );
  await waitForIdentity(t, dev, id, 'link down/up');
  t.is(await agentProcesses(t, dev), 0, 'still nothing of the agent running');
  t.is((await listAudit(enfDir)).length, auditAtReady, 'no handshake while NetworkManager reconfigured eth0');

  // 3. Reboot with the same disk and TPM: the stored identity, no handshake, handed over again
  // (the --temporary change did not survive the reboot; the agent makes it again).
  await dev.powerOff();
  const again = await bootAndReport(image, spec(true));
  cleanups.push(() => again.device.stop());
  t.is(again.report.agentState, 'active');
  t.is(identityOf(again.report), id, 'same identity after reboot');
  await waitForIdentity(t, again.device, id, 'reboot');
  t.true(
    (await guestSh(t, again.device, PROFILE_ADDRESSES)).split(/[,\s]+/).includes(`${id}/64`),
    'handed to NetworkManager again on this boot',
  );
  t.is((await listAudit(enfDir)).length, auditAtReady, 'no handshake on reboot');
  t.is((await listDevices(enfDir)).find((d) => d.identity === id)?.handshakeCount, 1);
  await again.device.powerOff();

  for (const { device, report } of [first, again]) {
    console.log(JSON.stringify({ figure: 'e2e.networkmanager', device: device.name, powerOnToReadyMs: report.agentReadyMs,
      powerOnToMultiUserMs: report.multiUserMs, agentPeakRssMb: report.agentPeakRssMb, agentResidentKb: report.agentResidentKb,
      state: report.agentState })); // prettier-ignore
  }
  pass();
});
