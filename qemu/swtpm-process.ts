// One swtpm per QEMU guest (issue 10, qemu/): `swtpm socket --tpm2 --tpmstate dir=D
// --ctrl type=unixio,path=S`, the control socket QEMU's `-tpmdev emulator` connects to (see
// ../../shared/reference/ENVIRONMENT-NOTES.md, QEMU section). The state directory may have been
// provisioned beforehand over TCP by the factory tools; it is used as is and never wiped here.
// Stopped by pid only. QEMU sends CMD_SHUTDOWN on the control channel when it exits normally, and
// the guest kernel sends TPM2_Shutdown on power-off, so a clean guest power-off leaves the TPM
// state orderly; stop() waits for that before it signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForExit } from './process-util.ts';

export interface SwtpmOptions {
  /** TPM state directory (created when missing; pre-provisioned state is kept). */
  stateDir: string;
  /** Directory for the control socket and swtpm's log. */
  runDir: string;
}

export class SwtpmProcess {
  readonly socketPath: string;
  readonly logPath: string;
  private readonly child: ChildProcess;
  private signalled = false;

  private constructor(child: ChildProcess, socketPath: string, logPath: string) {
    this.child = child;
    this.socketPath = socketPath;
    this.logPath = logPath;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once swtpm has exited by itself with status 0 (QEMU's CMD_SHUTDOWN), not by our signal. */
  get exitedCleanly(): boolean {
    return this.child.exitCode === 0 && !this.signalled;
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Starts swtpm and waits until its control socket exists. */
  static async start(opts: SwtpmOptions, timeoutMs = 10_000): Promise<SwtpmProcess> {
    mkdirSync(opts.stateDir, { recursive: true });
    mkdirSync(opts.runDir, { recursive: true });
    const socketPath = join(opts.runDir, 'swtpm.sock');
    const logPath = join(opts.runDir, 'swtpm.log');
    const args = [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${opts.stateDir}`,
      '--ctrl',
      `type=unixio,path=${socketPath}`,
      '--log',
      `file=${logPath},level=1`,
    ];
    const child = spawn('swtpm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(join(opts.runDir, 'swtpm.stdio.log'));
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const proc = new SwtpmProcess(child, socketPath, logPath);
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(socketPath)) {
      if (proc.hasExited) throw new Error(`swtpm exited early (code ${child.exitCode}), see ${logPath}`);
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`swtpm control socket ${socketPath} did not appear within ${timeoutMs} ms`);
      }
      await Promise.race([sleep(20), spawnError]);
    }
    return proc;
  }

  /**
   * Waits up to graceMs for swtpm to exit on its own (QEMU's CMD_SHUTDOWN), then sends SIGTERM
   * to its pid, then SIGKILL. Resolves once it is gone.
   */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.hasExited) return;
    if (await waitForExit(this.child, graceMs)) return;
    this.signalled = true;
    this.child.kill('SIGTERM');
    if (await waitForExit(this.child, 3_000)) return;
    this.child.kill('SIGKILL');
    await waitForExit(this.child, 3_000);
  }
}
