// QEMU boot harness for the test image (issue 10, qemu/): boots N devices, each with its own swtpm
// (tpm-tis on a socket chardev), its own copy-on-write overlay of the image (qemu-img create -b),
// user networking (the host's loopback services at 10.0.2.2), TCG only (KVM does not boot here,
// ../../shared/reference/ENVIRONMENT-NOTES.md), the serial console captured with timestamps.
// Every process is stopped by its pid; a clean power-off goes through ACPI (QMP system_powerdown)
// so systemd stops the agent and the kernel sends TPM2_Shutdown before swtpm goes away.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConsoleLog, type ConsoleLine } from './console-log.ts';
import { waitForExit } from './process-util.ts';
import { qmpExecute } from './qmp.ts';
import { parseSelftest, SELFTEST_DONE, SELFTEST_MULTI_USER, type SelftestReport } from './selftest-report.ts';
import { SwtpmProcess } from './swtpm-process.ts';
import { CONTROL_SOCKET, GuestControl } from './guest-control.ts';

/** The image directory written by image/build-image.sh (its manifest.json). */
export interface ImageManifest {
  readonly dir: string;
  readonly kernel: string;
  readonly node: string;
  readonly agent: boolean;
  /** The network manager on eth0: networkd or networkmanager (build-image.sh --network). */
  readonly network: 'networkd' | 'networkmanager';
  readonly server: string;
  readonly rootfs: string;
  readonly vmlinuz: string;
  readonly initrd: string;
  readonly cmdline: string;
}

export function readImageManifest(dir: string): ImageManifest {
  const path = join(dir, 'manifest.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const str = (k: string): string => {
    const v = raw[k];
    if (typeof v !== 'string' || v.length === 0)
      throw new Error(`${path}: field ${k} missing or not a string`);
    return v;
  };
  if (typeof raw.agent !== 'boolean') throw new Error(`${path}: field agent missing or not a boolean`);
  // Images built before --network existed ran networkd.
  const network = raw.network ?? 'networkd';
  if (network !== 'networkd' && network !== 'networkmanager')
    throw new Error(`${path}: field network must be networkd or networkmanager`);
  const abs = (k: string): string => resolve(dir, str(k));
  return {
    dir: resolve(dir),
    kernel: str('kernel'),
    node: str('node'),
    agent: raw.agent,
    network,
    server: str('server'),
    rootfs: abs('rootfs'),
    vmlinuz: abs('vmlinuz'),
    initrd: abs('initrd'),
    cmdline: str('cmdline'),
  };
}

export interface DeviceSpec {
  /** Used as the guest hostname and for the run directory. */
  readonly name: string;
  /** swtpm state directory, possibly provisioned by the factory beforehand. */
  readonly tpmStateDir: string;
  /** Holds the disk overlay, the sockets and the logs of this device. */
  readonly runDir: string;
  readonly memoryMiB?: number;
  readonly smp?: number;
  /** Appended to the image's kernel command line. */
  readonly extraCmdline?: string;
  /** Keep an existing overlay (a reboot keeps the disk); default false: a fresh overlay. */
  readonly keepDisk?: boolean;
  /**
   * Files of this device only (its certificate, its config.json): the tree is made into a small
   * ext4 disk the test image's initramfs copies over the root filesystem at boot (`xtt.seed=`),
   * as a factory would write them into the device's storage.
   */
  readonly seedDir?: string;
}

export const CONSOLE_LOG = 'console.log';

/** Console lines after which no marker can come: waits fail at once instead of timing out. */
export const FATAL_CONSOLE =
  /Kernel panic|initramfs: cannot mount|Failed to execute \/sbin\/init|emergency mode/;

/** A running guest. */
export class Device {
  readonly console: ConsoleLog;
  /** Root shell commands in the guest (test image's control channel on ttyS1). */
  readonly control: GuestControl;
  private readonly exited: Promise<void>;

  private constructor(
    readonly spec: DeviceSpec,
    private readonly qemu: ChildProcess,
    private readonly swtpm: SwtpmProcess,
    private readonly qmpPath: string,
    readonly startedAt: number,
    consoleLog: ConsoleLog,
  ) {
    this.console = consoleLog;
    this.exited = new Promise((resolveExit) => qemu.once('close', () => resolveExit()));
    this.control = new GuestControl(join(spec.runDir, CONTROL_SOCKET), spec.name);
  }

  get name(): string {
    return this.spec.name;
  }

  /** swtpm stopped by itself after QEMU's clean exit (meaningful once powerOff()/stop() resolved). */
  get tpmStoppedCleanly(): boolean {
    return this.swtpm.exitedCleanly;
  }

  get isRunning(): boolean {
    return this.qemu.exitCode === null && this.qemu.signalCode === null;
  }

  /** Boots one device: swtpm first, then QEMU with a fresh (or kept) overlay of the image. */
  static async boot(image: ImageManifest, spec: DeviceSpec): Promise<Device> {
    mkdirSync(spec.runDir, { recursive: true });
    const overlay = join(spec.runDir, 'disk.qcow2');
    if (!spec.keepDisk || !existsSync(overlay)) {
      rmSync(overlay, { force: true });
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootfs, overlay], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    }
    const swtpm = await SwtpmProcess.start({ stateDir: spec.tpmStateDir, runDir: spec.runDir });
    const qmpPath = join(spec.runDir, 'qmp.sock');
    rmSync(qmpPath, { force: true });
    const controlPath = join(spec.runDir, CONTROL_SOCKET);
    rmSync(controlPath, { force: true });
    const seedDrive: string[] = [];
    if (spec.seedDir) {
      const seed = join(spec.runDir, 'seed.ext4');
      rmSync(seed, { force: true });
      execFileSync('mkfs.ext4', ['-q', '-d', spec.seedDir, seed, '16M'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      seedDrive.push('-drive', `file=${seed},if=virtio,format=raw,readonly=on`); // the second disk: /dev/vdb
    }
    const cmdline = [
      image.cmdline,
      `systemd.hostname=${spec.name}`,
      spec.seedDir ? 'xtt.seed=/dev/vdb' : '',
      spec.extraCmdline ?? '',
    ]
      .filter((a) => a !== '')
      .join(' ')
      .trim();
    const args = [
      '-machine', 'q35,accel=tcg',
      '-cpu', 'max',
      '-smp', String(spec.smp ?? 1),
      '-m', String(spec.memoryMiB ?? 512),
      '-nodefaults', '-no-user-config', '-display', 'none',
      '-kernel', image.vmlinuz,
      '-initrd', image.initrd,
      '-append', cmdline,
      '-drive', `file=${overlay},if=virtio,format=qcow2`,
      ...seedDrive,
      '-netdev', 'user,id=n0',
      '-device', 'virtio-net-pci,netdev=n0,romfile=',
      '-chardev', `socket,id=chrtpm,path=${swtpm.socketPath}`,
      '-tpmdev', 'emulator,id=tpm0,chardev=chrtpm',
      '-device', 'tpm-tis,tpmdev=tpm0',
      '-chardev', 'stdio,id=ser0,signal=off',
      '-serial', 'chardev:ser0',
      // ttyS1: the test image's command channel (image/guest/control.sh, qemu/guest-control.ts).
      '-chardev', `socket,id=ctl0,path=${controlPath},server=on,wait=off`,
      '-serial', 'chardev:ctl0',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
      '-no-reboot',
    ]; // prettier-ignore
    const startedAt = Date.now();
    const consoleLog = new ConsoleLog(join(spec.runDir, CONSOLE_LOG), startedAt);
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr = createWriteStream(join(spec.runDir, 'qemu.stderr.log'));
    qemu.stderr?.pipe(stderr);
    qemu.stdout?.on('data', (chunk: Buffer) => consoleLog.push(chunk));
    qemu.once('close', (code, signal) => consoleLog.end(`QEMU exited (code ${code}, signal ${signal})`));
    qemu.once('error', (err) => consoleLog.end(`QEMU failed to start: ${err.message}`));
    return new Device(spec, qemu, swtpm, qmpPath, startedAt, consoleLog);
  }

  /** Waits for a console line matching marker (per-step timeout; fails early if the guest stops). */
  waitFor(marker: string | RegExp, step: string, timeoutMs: number, from = 0): Promise<ConsoleLine> {
    return this.console.waitFor(marker, {
      step: `${this.name}: ${step}`,
      timeoutMs,
      from,
      failOn: FATAL_CONSOLE,
    });
  }

  /**
   * Waits for the test image's self-test report (printed once multi-user is reached, which with
   * the agent installed means xtt-agent is READY or failed) and parses it. Only lines from index
   * `from` on count, so after a reboot pass the console length from before.
   */
  async readSelftest(timeoutMs: number, from = 0): Promise<SelftestReport> {
    const start = await this.waitFor(
      SELFTEST_MULTI_USER,
      'reach multi-user (self-test starts)',
      timeoutMs,
      from,
    );
    const index = this.console.lines.indexOf(start);
    // A bound against a hung guest, not a speed check: under TCG on a loaded 2-core machine the
    // report took over 120 s after multi-user.
    await this.waitFor(SELFTEST_DONE, 'self-test report', Math.max(timeoutMs, 600_000), index);
    return parseSelftest(this.console.lines, index);
  }

  /**
   * Clean power-off: ACPI power button through QMP, wait for QEMU to exit (the guest runs its
   * shutdown), then for swtpm. Falls back to stop() if the guest does not go down in time.
   */
  async powerOff(timeoutMs = 60_000): Promise<void> {
    if (this.isRunning) {
      try {
        await qmpExecute(this.qmpPath, 'system_powerdown');
      } catch (err) {
        console.error(`${this.name}: QMP system_powerdown failed: ${(err as Error).message}`);
      }
      if (!(await waitForExit(this.qemu, timeoutMs))) {
        console.error(`${this.name}: guest did not power off within ${timeoutMs} ms, stopping QEMU`);
      }
    }
    await this.stop();
  }

  /** Power cut: SIGTERM then SIGKILL to QEMU's pid, then swtpm's pid. Idempotent. */
  async stop(): Promise<void> {
    this.control.close();
    if (this.isRunning) {
      this.qemu.kill('SIGTERM');
      if (!(await waitForExit(this.qemu, 5_000))) {
        this.qemu.kill('SIGKILL');
        await waitForExit(this.qemu, 5_000);
      }
    }
    await this.exited;
    await this.swtpm.stop();
  }

  /** Removes the run directory (overlay, sockets, logs); call only when the logs are not needed. */
  removeRunDir(): void {
    rmSync(this.spec.runDir, { recursive: true, force: true });
  }
}

/** Boots several devices in parallel; if one fails to start, the others are stopped. */
export async function bootDevices(image: ImageManifest, specs: readonly DeviceSpec[]): Promise<Device[]> {
  const results = await Promise.allSettled(specs.map((s) => Device.boot(image, s)));
  const devices = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(devices.map((d) => d.stop()));
    throw failed.reason;
  }
  return devices;
}
