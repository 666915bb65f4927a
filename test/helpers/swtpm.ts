// Shared test helper: starts a real swtpm (TPM 2.0, libtpms) on free loopback ports with a temp
// state directory, with the command line of qemu/swtpm-command.ts.
// stop() sends TPM2_Shutdown(CLEAR) first (a disorderly stop counts toward the DA lockout), then
// kills the process by pid (a swtpm that already exited, e.g. after CMD_SHUTDOWN, is just reaped).
// Pass the same stateDir to a second startSwtpm() to restart the TPM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shutdown } from '../../tpm/commands/shutdown.ts';
import { Tpm } from '../../tpm/tpm.ts';
import { SwtpmTransport } from '../../tpm/transport/swtpm.ts';
import { freePort } from '../../qemu/ports.ts';
import { swtpmSocketArgs } from '../../qemu/swtpm-command.ts';

export interface SwtpmInstance {
  /** Spec for tpm/open.ts: "swtpm:127.0.0.1:PORT:CTRLPORT". */
  readonly spec: string;
  readonly port: number;
  readonly ctrlPort: number;
  readonly stateDir: string;
  readonly pid: number;
  /** A fresh transport to this swtpm (callers close what they open). */
  transport(): SwtpmTransport;
  /** TPM2_Shutdown(CLEAR), then SIGTERM by pid (SIGKILL after 5 s); removes a temp state dir. */
  stop(): Promise<void>;
}

export interface StartSwtpmOptions {
  /** Existing state directory to reuse (kept on stop); default: a new temp dir, removed on stop. */
  readonly stateDir?: string;
  /**
   * Start powered off, as a real platform does: no `--flags not-need-init,startup-clear`, so the
   * caller sends CMD_INIT (SwtpmTransport.powerOn) and TPM2_Startup itself. Default false.
   */
  readonly coldStart?: boolean;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function startOnce(
  stateDir: string,
  coldStart: boolean,
): Promise<{ child: ChildProcess; port: number; ctrlPort: number } | string> {
  const port = await freePort();
  let ctrlPort = await freePort();
  while (ctrlPort === port) ctrlPort = await freePort();
  const child = spawn('swtpm', swtpmSocketArgs({ stateDir, port, ctrlPort, isStarted: !coldStart }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // A bound for a hung swtpm, not a speed check: CI may run on a loaded machine.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return `swtpm exited with ${child.exitCode}: ${stderr.trim()}`;
    if (await canConnect(port)) return { child, port, ctrlPort };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return `swtpm did not listen on ${port} within 60 s: ${stderr.trim()}`;
}

export async function startSwtpm(opts: StartSwtpmOptions = {}): Promise<SwtpmInstance> {
  const ownsDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'swtpm-test-'));
  let started: Awaited<ReturnType<typeof startOnce>> = 'not started';
  // A free port can be taken between probing and binding: try a few times.
  for (let i = 0; i < 3 && typeof started === 'string'; i++)
    started = await startOnce(stateDir, opts.coldStart ?? false);
  if (typeof started === 'string') {
    if (ownsDir) rmSync(stateDir, { recursive: true, force: true });
    throw new Error(started);
  }
  const { child, port, ctrlPort } = started;
  const pid = child.pid!;
  const transport = (): SwtpmTransport => new SwtpmTransport({ host: '127.0.0.1', port, ctrlPort });
  let stopped = false;
  return {
    spec: `swtpm:127.0.0.1:${port}:${ctrlPort}`,
    port,
    ctrlPort,
    stateDir,
    pid,
    transport,
    async stop() {
      if (stopped) return;
      stopped = true;
      let shutdownError: unknown;
      const running = child.exitCode === null && child.signalCode === null;
      if (running) {
        try {
          await new Tpm(transport()).run(shutdown());
        } catch (e) {
          shutdownError = e;
        }
        process.kill(pid, 'SIGTERM');
      }
      if (!(await waitExit(child, 5000))) {
        process.kill(pid, 'SIGKILL');
        await waitExit(child, 5000);
      }
      if (ownsDir) rmSync(stateDir, { recursive: true, force: true });
      if (shutdownError)
        throw new Error('TPM2_Shutdown before stopping swtpm failed', { cause: shutdownError });
    },
  };
}
