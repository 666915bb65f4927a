// `npm run demo -- --qemu`: the devices as QEMU virtual machines of the test image (image/,
// qemu/boot.ts) instead of network namespaces. The image carries exactly the tree the Yocto layer
// installs for qemux86-64 (the recipe's do_compile and do_install, expanded by real BitBake on
// ../shared/yocto: image/bitbake-env.ts recipeTreeX86), as the QEMU e2e tests do; each guest
// gets the factory-provisioned swtpm state as its TPM (/dev/tpmrm0 through tpm-tis), reaches
// enf-server on the host's loopback as 10.0.2.2 (QEMU user networking) and reports, on its serial
// console, the agent's state, `xtt-agent status --json` and eth0's IPv6 addresses
// (image/guest/selftest.mjs, parsed by qemu/selftest-report.ts).
import { buildImage } from '../../image/build-image.ts';
import { Device, readImageManifest, type ImageManifest } from '../../qemu/boot.ts';
import type { SelftestReport } from '../../qemu/selftest-report.ts';
import { recipeTreeX86, yoctoMissing } from '../../image/bitbake-env.ts';
import type { Resources } from './resources.ts';

/** Commands --qemu needs beyond the namespace demo, with their Debian packages. */
export const QEMU_COMMANDS: readonly [string, string][] = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['qemu-img', 'qemu-utils'],
  ['debootstrap', 'debootstrap'],
  ['busybox', 'busybox-static'],
  ['cpio', 'cpio'],
  ['mkfs.ext4', 'e2fsprogs'],
];

/** Why the agent tree cannot be made here (BitBake's needs: root, ../shared/yocto, poky's host
 * packages, the en_US.UTF-8 locale), or undefined. */
export function qemuYoctoMissing(): string | undefined {
  const why = yoctoMissing();
  return why === undefined
    ? undefined
    : `--qemu installs the agent as the Yocto layer does (BitBake, image/yocto-layer/README.md): ${why}`;
}

/** Installs the agent as the Yocto recipe does (its BitBake cache: XTT_YOCTO_CACHE, outside the
 * work directory) and builds (or reuses, cached) the image with that tree. */
export async function prepareImage(log: (line: string) => void): Promise<ImageManifest> {
  log('the agent tree of the Yocto recipe (bitbake -b xtt-agent_git.bb: unpack, -e; do_compile, do_install)');
  const tree = recipeTreeX86('demo-qemux86-64');
  const dir = await buildImage({ agentTree: tree, log });
  const image = readImageManifest(dir);
  if (!image.agent) throw new Error(`image ${dir} has no agent installed`);
  return image;
}

/** Powers on a guest with the device's TPM state; registers its power-off. */
export async function bootGuest(
  res: Resources,
  image: ImageManifest,
  dev: { name: string; tpmState: string; runDir: string },
  serverPort: number,
): Promise<Device> {
  const d = await Device.boot(image, {
    name: dev.name,
    tpmStateDir: dev.tpmState,
    runDir: dev.runDir,
    extraCmdline: `systemd.setenv=XTT_AGENT_SERVER_PORT=${serverPort}`,
  });
  res.onRelease(`power off ${dev.name} (QEMU)`, () => d.powerOff(30_000));
  return d;
}

/** Waits for the guest's report; fails unless the agent is active with an identity on eth0. */
export async function waitGuestReady(
  d: Device,
  timeoutMs: number,
): Promise<{ identity: string; report: SelftestReport }> {
  const report = await d.readSelftest(timeoutMs);
  const identity = report.agentStatus?.identity;
  if (report.agentState !== 'active' || typeof identity !== 'string')
    throw new Error(
      `${d.name}: xtt-agent is ${report.agentState ?? 'unknown'} (exit ${report.agentExitStatus ?? '-'}): ` +
        report.agentJournal.slice(-4).join(' | '),
    );
  if (!report.eth0Ipv6.some((a) => a.split('/')[0] === identity))
    throw new Error(`${d.name}: ${identity} not on eth0 (has ${report.eth0Ipv6.join(', ') || 'none'})`);
  return { identity, report };
}
