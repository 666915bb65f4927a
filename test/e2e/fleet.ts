// Shared setup for the QEMU end-to-end tests: the real programs as a customer and a
// factory would run them. enf-server (init, network, batch add/assign/revoke, start) and
// xtt-factory (create-batch, provision over TCP into a swtpm state directory that QEMU's swtpm
// then serves to the guest). The guests carry the agent tree the Yocto recipe installs
// (image/bitbake-env.ts recipeTreeX86), not a bundle of their own.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Device, type DeviceSpec, type ImageManifest } from '../../qemu/boot.ts';
import { waitForExit } from '../../qemu/process-util.ts';
import type { SelftestReport } from '../../qemu/selftest-report.ts';
import { startSwtpm } from '../helpers/swtpm.ts';
import { freePort } from '../../qemu/ports.ts';

export { freePort };

const repo = join(import.meta.dirname, '..', '..');

/** Runs a project CLI (TypeScript entry under tsx) and returns its parsed --json output. */
export function runJson(entry: 'server-stub/main.ts' | 'factory/main.ts', args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import=tsx', join(repo, entry), ...args, '--json'],
      { timeout: 180_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`${entry} ${args.join(' ')} failed: ${stderr.trim() || err.message}`, { cause: err }),
          );
          return;
        }
        try {
          resolve(JSON.parse(stdout));
        } catch (e) {
          reject(new Error(`${entry} ${args[0]}: output is not JSON: ${stdout.slice(0, 200)}`, { cause: e }));
        }
      },
    );
  });
}

export const enf = (dir: string, args: string[]): Promise<unknown> =>
  runJson('server-stub/main.ts', [...args, '--dir', dir]);
export const factory = (args: string[]): Promise<unknown> => runJson('factory/main.ts', args);

/**
 * Provisions a TPM the way the factory station does, over TCP into `stateDir`, then shuts it
 * down cleanly (TPM2_Shutdown) so QEMU's swtpm can take the same state directory.
 */
export async function provisionTpm(stateDir: string, batchDir: string, rootCert: string): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  const sw = await startSwtpm({ stateDir });
  try {
    await factory(['provision', '--batch', batchDir, '--tpm', sw.spec, '--root-cert', rootCert]);
  } finally {
    await sw.stop();
  }
}

export interface RunningServer {
  readonly port: number;
  /** The PKI enrollment port when started with `pki`. */
  readonly pkiPort?: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `enf-server start` on 127.0.0.1 (the guests reach it as 10.0.2.2); stopped by pid. With `pki`
 * (the TLS certificate and key files) it also serves PKI enrollment on a port of its own.
 */
export async function startServer(
  dir: string,
  logPath: string,
  pki?: { certFile: string; keyFile: string },
): Promise<RunningServer> {
  const port = await freePort();
  const pkiPort = pki ? await freePort() : undefined;
  const pkiArgs = pki
    ? ['--pki-port', String(pkiPort), '--pki-tls-cert', pki.certFile, '--pki-tls-key', pki.keyFile]
    : [];
  const child = spawn(
    process.execPath,
    ['--import=tsx', join(repo, 'server-stub/main.ts'), 'start', '--dir', dir, '--bind', '127.0.0.1', '--port', String(port), '--workers', '1', ...pkiArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  ); // prettier-ignore
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const deadline = Date.now() + 180_000; // a bound, not a speed check (CI may be loaded)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`enf-server exited with ${child.exitCode}, see ${logPath}`);
    const listens = (p: number) =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: p });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
    if ((await listens(port)) && (pkiPort === undefined || (await listens(pkiPort)))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`enf-server did not listen on ${port} within 180 s, see ${logPath}`);
    }
    await sleep(200);
  }
  return {
    port,
    ...(pkiPort === undefined ? {} : { pkiPort }),
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    },
  };
}

export interface DeviceRow {
  readonly identity: string;
  readonly batch: string | null;
  readonly pseudonym: string;
  readonly status: string;
  readonly handshakeCount: number;
}

export interface AuditRow {
  readonly pseudonym: string | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly identity: string | null;
}

function rows<T>(json: unknown, key: string): T[] {
  if (Array.isArray(json)) return json as T[];
  const inner = (json as Record<string, unknown> | null)?.[key];
  if (Array.isArray(inner)) return inner as T[];
  throw new Error(`unexpected enf-server ${key} output: ${JSON.stringify(json).slice(0, 200)}`);
}

export const listDevices = async (dir: string): Promise<DeviceRow[]> =>
  rows<DeviceRow>(await enf(dir, ['device', 'list']), 'devices');
export const listAudit = async (dir: string): Promise<AuditRow[]> =>
  rows<AuditRow>(await enf(dir, ['audit']), 'entries');

/**
 * An e2e test's work directory under test/artifacts/e2e: cleanups run in reverse order at teardown;
 * the directory is removed if the test called `pass()` and kept with its logs (path printed) if not.
 */
export function e2eWork(t: ExecutionContext, name: string): E2eWork {
  const work = join(import.meta.dirname, '..', 'artifacts', 'e2e', `${name}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  let passed = false;
  const cleanups: (() => Promise<void>)[] = [];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await c();
    if (passed) rmSync(work, { recursive: true, force: true });
    else console.log(`e2e ${name}: logs kept in ${work}`);
  });
  return { work, cleanups, pass: () => (passed = true) };
}

export interface E2eWork {
  work: string;
  cleanups: (() => Promise<void>)[];
  /** Marks the test passed: its work directory goes at teardown. */
  pass(): void;
}

/** Boots a device and reads its self-test report (multi-user waits for the agent's READY or failure). */
export async function bootAndReport(
  image: ImageManifest,
  spec: DeviceSpec,
): Promise<{ device: Device; report: SelftestReport }> {
  const device = await Device.boot(image, spec);
  try {
    return { device, report: await device.readSelftest(600_000) };
  } catch (err) {
    await device.stop();
    throw err;
  }
}

/** The identity the agent reported in the guest's self-test, if any. */
export const identityOf = (r: SelftestReport): string | undefined =>
  typeof r.agentStatus?.identity === 'string' ? r.agentStatus.identity : undefined;
