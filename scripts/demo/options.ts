// Command line and exit codes of `npm run demo` (scripts/demo.ts). Parsed by hand (five flags) so
// the demo's usage errors are its own and not yargs' exit code 1.

/** The demo's documented exit codes (README "Exit codes"). */
export const DEMO_EXIT = {
  ok: 0,
  /** A step failed; the message names the step and why. Everything started was cleaned up. */
  stepFailed: 1,
  usage: 2,
  /** Not root: network namespaces, veth links and swtpm inside namespaces need root. */
  notRoot: 3,
  /** A system command is missing (the message names the apt package), or with --qemu what BitBake
   * needs to install the agent as the Yocto layer does (the message says what). */
  missingCommand: 4,
  /** Interrupted (SIGINT/SIGTERM) before the devices were up; cleaned up. */
  interrupted: 130,
} as const;

export interface DemoOptions {
  /** Boot the devices under QEMU (qemu/) instead of network namespaces. */
  isQemu: boolean;
  /** Clean up and exit after showing the results instead of waiting for Ctrl-C. */
  shouldExit: boolean;
  /** Progress on stderr, one JSON summary on stdout. */
  isJson: boolean;
  devices: number;
  /** Keep the work directory (logs, batch, registry) instead of removing it. */
  keepWorkdir: boolean;
}

export class UsageError extends Error {}

export const USAGE = `npm run demo [-- OPTIONS]

Zero-touch provisioning end to end on this machine: enf-server, a batch of devices made by
xtt-factory with swtpm TPMs, a network associated through the management API, and devices that
provision their IPv6 identity at first power-on. Needs root (network namespaces). Runs until
Ctrl-C (or q) on a terminal, or SIGTERM; the last line says how it ended and what is left.

Options:
  --exit        clean up and exit after showing the results (default when stdin is not a TTY)
  --wait        keep running until SIGINT/SIGTERM even when stdin is not a TTY
  --json        progress on stderr, one JSON summary on stdout (npm run -s demo -- --json:
                without -s npm prints its banner on stdout first)
  --devices N   how many devices (1-20, default 3)
  --keep        keep the work directory (logs, batch, registry) after exit; the last line names it
  --qemu        boot the devices as QEMU virtual machines (qemu/) instead of namespaces
  -h, --help    this text

Exit codes: 0 ok, 1 a step failed (the message names the step), 2 usage, 3 not root,
4 system command missing (the message names the apt package; with --qemu also what BitBake
needs: ../shared/yocto, poky's host packages, the en_US.UTF-8 locale), 130 interrupted before
the devices were up.`;

/** Parses argv (without node and script). `isTty` is whether stdin is a terminal. */
export function parseDemoArgs(argv: readonly string[], isTty: boolean): DemoOptions | 'help' {
  const o: DemoOptions = { isQemu: false, shouldExit: !isTty, isJson: false, devices: 3, keepWorkdir: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--qemu') o.isQemu = true;
    else if (a === '--exit') o.shouldExit = true;
    else if (a === '--wait') o.shouldExit = false;
    else if (a === '--json') o.isJson = true;
    else if (a === '--keep') o.keepWorkdir = true;
    else if (a === '--devices' || a.startsWith('--devices=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 20)
        throw new UsageError('--devices: a number from 1 to 20');
      o.devices = Number(v);
    } else throw new UsageError(`unknown argument '${a}'`);
  }
  return o;
}
