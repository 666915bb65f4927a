// End-to-end, first step: build the test image (image/build-image.sh), boot one guest
// under QEMU (TCG) with its own swtpm, and assert on serial-console markers that it reaches
// multi-user, that the guest kernel exposes /dev/tpmrm0 and answers TPM2_GetRandom through it, and
// that the guest's Node 20 runs (xtt-image-selftest.service). Then power it off through ACPI and
// check that QEMU and swtpm stopped on their own. Figures are printed, never asserted.
// Logs are kept under test/artifacts/e2e/ when a step fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../image/build-image.ts';
import { Device, readImageManifest } from '../../qemu/boot.ts';
import { suiteRequires } from '../helpers/requirements.ts';

const test = suiteRequires('e2e boot', ['root', 'qemu', 'swtpm', 'debootstrap']);

const artifacts = join(import.meta.dirname, '..', 'artifacts', 'e2e');

test('a guest boots to multi-user with a TPM at /dev/tpmrm0 and Node 20 running', async (t) => {
  t.timeout(15 * 60_000, 'image build (first run: debootstrap and kernel download) and TCG boot');
  const built = Date.now();
  const imageDir = await buildImage({ withAgent: false, log: (l) => t.log(l) });
  t.log(`image ready in ${((Date.now() - built) / 1000).toFixed(1)} s: ${imageDir}`);
  const image = readImageManifest(imageDir);

  const runDir = join(artifacts, `boot-${Date.now()}`);
  const tpmState = mkdtempSync(join(tmpdir(), 'xtt-e2e-tpm-'));
  const device = await Device.boot(image, { name: 'xtt-dev-1', tpmStateDir: tpmState, runDir, smp: 2 });
  let passed = false;
  try {
    const report = await device.readSelftest(300_000);
    t.is(report.tpmrm0, 'present mode=660', 'tpm-udev gives /dev/tpmrm0 to group tss, mode 0660');
    t.is(report.tpmGetRandom, 'ok', 'TPM2_GetRandom through /dev/tpmrm0');
    t.regex(report.node ?? '', /^v20\.\d+\.\d+$/);
    t.is(report.node, image.node, "the guest runs the host's Node binary");
    t.false(report.agentInstalled);
    t.true(report.multiUserMs !== undefined && report.multiUserMs > 0, 'systemd reached multi-user');

    const poweredAt = Date.now();
    const powerOffMarker = device.waitFor(/reboot: Power down/, 'power off', 60_000);
    await device.powerOff(60_000);
    await powerOffMarker;
    t.true(device.tpmStoppedCleanly, 'swtpm exited by itself after QEMU shut down (no signal)');
    console.log(
      JSON.stringify({
        figure: 'e2e.boot',
        kernel: image.kernel,
        powerOnToMultiUserMs: report.multiUserMs,
        powerOffMs: Date.now() - poweredAt,
      }),
    );
    passed = true;
  } finally {
    await device.stop();
    rmSync(tpmState, { recursive: true, force: true });
    if (passed) device.removeRunDir();
    else t.log(`logs kept in ${runDir}`);
  }
});
