// The swtpm command line every test, benchmark and the demo use (the form
// ../../shared/reference/ENVIRONMENT-NOTES.md measured): a TPM 2.0 on a TCP data port and a TCP control
// port, bound to one address, state in a directory. Callers spawn it themselves (directly, or with
// `ip netns exec NS` in front) and own the process. qemu/swtpm-process.ts is the exception: QEMU's
// tpm-emulator wants a unix control socket and no data port.
export interface SwtpmSocket {
  stateDir: string;
  port: number;
  /** Default port + 1. */
  ctrlPort?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * A TPM that powers on and runs TPM2_Startup(CLEAR) by itself (`--flags
   * not-need-init,startup-clear`, the default); false leaves both to the client (a cold start).
   */
  isStarted?: boolean;
}

/** The arguments after `swtpm`: `socket --tpm2 --tpmstate dir=... --server ... --ctrl ... [--flags ...]`. */
export function swtpmSocketArgs(o: SwtpmSocket): string[] {
  const host = o.host ?? '127.0.0.1';
  return [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${o.stateDir}`,
    '--server',
    `type=tcp,port=${o.port},bindaddr=${host}`,
    '--ctrl',
    `type=tcp,port=${o.ctrlPort ?? o.port + 1},bindaddr=${host}`,
    ...(o.isStarted === false ? [] : ['--flags', 'not-need-init,startup-clear']),
  ];
}
