// TypeScript entry to image/build-image.sh for tests and the demo: runs the builder (cached under
// .cache/image) and returns the image directory. The builder's progress goes to `log`; its last
// stdout line is the image directory.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface BuildImageOptions {
  /** Install the agent bundle (dist/xtt-agent) and systemd/ units; default true. */
  readonly withAgent?: boolean;
  readonly bundleDir?: string;
  /** A root filesystem tree holding the installed agent (the Yocto recipe's do_install output),
   * copied into the image as is instead of install.sh with bundleDir. */
  readonly agentTree?: string;
  readonly systemdDir?: string;
  /** The enf-server as the guest sees it, HOST:PORT (default 10.0.2.2:4444). */
  readonly server?: string;
  readonly cacheDir?: string;
  /** The network manager the guest runs on eth0 (default networkd). */
  readonly network?: 'networkd' | 'networkmanager';
  readonly log?: (line: string) => void;
}

export function buildImageArgs(opts: BuildImageOptions): string[] {
  const args: string[] = [];
  if (opts.withAgent === false) args.push('--no-agent');
  if (opts.bundleDir !== undefined) args.push('--bundle', opts.bundleDir);
  if (opts.agentTree !== undefined) args.push('--agent-tree', opts.agentTree);
  if (opts.systemdDir !== undefined) args.push('--systemd-dir', opts.systemdDir);
  if (opts.server !== undefined) args.push('--server', opts.server);
  if (opts.cacheDir !== undefined) args.push('--cache', opts.cacheDir);
  if (opts.network !== undefined) args.push('--network', opts.network);
  return args;
}

/** Builds (or reuses) the image; resolves with its directory. */
export function buildImage(opts: BuildImageOptions = {}): Promise<string> {
  const log = opts.log ?? ((line: string) => console.error(line));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(here, 'build-image.sh'), ...buildImageArgs(opts)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      stderrTail = (stderrTail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim().length > 0) log(line);
    });
    child.once('error', (err) => reject(new Error(`build-image.sh: ${err.message}`, { cause: err })));
    child.once('exit', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir.length > 0) resolve(dir);
      else reject(new Error(`build-image.sh exited with ${code}:\n${stderrTail}`));
    });
  });
}
