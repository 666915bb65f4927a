// CLI of the QEMU boot harness (issue 10, qemu/): boots N devices of an image built by
// image/build-image.sh, each with its own swtpm, waits for a console marker on each, prints the
// figures as JSON lines, then powers them off (--poweroff) or keeps them running until Ctrl-C.
//
//   tsx qemu/main.ts --image DIR [--devices N] [--tpm-state DIR]... [--run-dir DIR]
//                    [--until REGEX] [--timeout SECONDS] [--smp N] [--memory MIB] [--poweroff]
//
// --tpm-state may be repeated, one per device (e.g. state dirs provisioned by xtt-factory);
// devices without one get a fresh TPM under the run directory. Exit codes: 0 every device reached
// the marker, 1 one did not (logs kept in the run directory), 64 bad usage.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bootDevices, readImageManifest, type Device, type DeviceSpec } from './boot.ts';
import { SELFTEST_MULTI_USER } from './selftest-report.ts';

export interface BootCliOptions {
  readonly image: string;
  readonly devices: number;
  readonly tpmStates: readonly string[];
  readonly runDir: string | undefined;
  readonly until: RegExp;
  readonly timeoutMs: number;
  readonly smp: number;
  readonly memoryMiB: number;
  readonly powerOff: boolean;
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value))
    throw new UsageError(`--${name} must be a positive integer, got ${value}`);
  return Number(value);
}

export function parseBootArgs(argv: readonly string[]): BootCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        image: { type: 'string' },
        devices: { type: 'string' },
        'tpm-state': { type: 'string', multiple: true },
        'run-dir': { type: 'string' },
        until: { type: 'string' },
        timeout: { type: 'string' },
        smp: { type: 'string' },
        memory: { type: 'string' },
        poweroff: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  if (values.image === undefined) throw new UsageError('--image DIR is required (see image/build-image.sh)');
  const devices = positiveInt('devices', values.devices, 1);
  const tpmStates = values['tpm-state'] ?? [];
  if (tpmStates.length > devices) {
    throw new UsageError(`${tpmStates.length} --tpm-state given for ${devices} device(s)`);
  }
  let until: RegExp = SELFTEST_MULTI_USER;
  if (values.until !== undefined) {
    try {
      until = new RegExp(values.until);
    } catch (err) {
      throw new UsageError(`--until is not a valid regular expression: ${values.until}`, { cause: err });
    }
  }
  return {
    image: resolve(values.image),
    devices,
    tpmStates: tpmStates.map((s) => resolve(s)),
    runDir: values['run-dir'] === undefined ? undefined : resolve(values['run-dir']),
    until,
    timeoutMs: positiveInt('timeout', values.timeout, 300) * 1000,
    smp: positiveInt('smp', values.smp, 1),
    memoryMiB: positiveInt('memory', values.memory, 512),
    powerOff: values.poweroff,
  };
}

export function deviceSpecs(opts: BootCliOptions, runDir: string): DeviceSpec[] {
  return Array.from({ length: opts.devices }, (_, i) => {
    const name = `xtt-dev-${i + 1}`;
    const deviceDir = join(runDir, name);
    return {
      name,
      runDir: deviceDir,
      tpmStateDir: opts.tpmStates[i] ?? join(deviceDir, 'tpm'),
      smp: opts.smp,
      memoryMiB: opts.memoryMiB,
    };
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: BootCliOptions;
  try {
    opts = parseBootArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`qemu/main.ts: ${err.message}`);
      return 64;
    }
    throw err;
  }
  const image = readImageManifest(opts.image);
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'xtt-qemu-'));
  const devices: Device[] = await bootDevices(image, deviceSpecs(opts, runDir));
  const stopAll = (): Promise<unknown> => Promise.all(devices.map((d) => d.powerOff()));
  console.error(`booted ${devices.length} device(s); logs in ${runDir}`);
  const results = await Promise.allSettled(
    devices.map(async (d) => {
      const line = await d.waitFor(opts.until, 'marker', opts.timeoutMs);
      console.log(
        JSON.stringify({ figure: 'qemu.boot', device: d.name, marker: String(opts.until), ms: line.atMs }),
      );
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const f of failed) console.error((f.reason as Error).message);
  if (opts.powerOff || failed.length > 0) {
    await stopAll();
    return failed.length > 0 ? 1 : 0;
  }
  console.error('running; Ctrl-C powers the devices off');
  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal());
    process.once('SIGTERM', () => resolveSignal());
  });
  await stopAll();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === `file://${resolve(process.argv[1])}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
