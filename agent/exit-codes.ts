// The documented exit-code table of `xtt-agent`: --help prints it (common/cli.ts); agent/README.md
// has the same lines (a unit test keeps them in step) and the root README a summary.
// systemd/xtt-agent.service lists the permanent failures in RestartPreventExitStatus= so that a
// revoked device or a broken configuration does not restart in a loop.
import { exitCodes, type ExitTable } from '../common/cli.ts';
import { ZtpError } from '../protocol/errors.ts';

export const EXIT_TABLE = {
  OK: { code: 0, meaning: 'ok (stopped by SIGTERM)' },
  INTERNAL: { code: 1, meaning: 'internal error' },
  USAGE: { code: 2, meaning: 'usage error' },
  CONFIG: { code: 3, meaning: 'configuration error (message names the setting)' },
  NO_TPM: { code: 4, meaning: 'no TPM (device or swtpm socket cannot be opened)' },
  TPM_NOT_PROVISIONED: { code: 5, meaning: 'TPM not provisioned (NV objects or ECDAA key missing)' },
  // `run` retries refusals instead of exiting (run-agent.ts); the number keeps its meaning and
  // classifies refusals.
  SERVER_REFUSED: { code: 6, meaning: 'reserved: server refusals are retried, never an exit' },
  SERVER_UNTRUSTED: { code: 7, meaning: 'server certificate does not chain to the root' },
  INTERFACE_MISSING: { code: 8, meaning: 'network interface missing' },
  STATE_CORRUPT: { code: 9, meaning: 'state file corrupt (left in place)' },
  NOT_PROVISIONED: { code: 10, meaning: '`status`: not provisioned yet' },
  DAD_FAILED: { code: 11, meaning: 'duplicate address detected' },
  NETWORK: { code: 12, meaning: 'netlink refused the address (e.g. EPERM), or DAD did not finish in time' },
  TPM_FAILURE: { code: 13, meaning: 'TPM command failed' },
  NETWORK_MANAGER: {
    code: 14,
    meaning:
      '`handoff`: the network manager did not take the address (not running when forced, a command failed, address not there after it)',
  },
} as const satisfies ExitTable;
export const EXIT = exitCodes(EXIT_TABLE);
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Codes that retrying cannot fix (systemd RestartPreventExitStatus=). */
export const PERMANENT_EXIT_CODES: readonly ExitCode[] = [
  EXIT.USAGE,
  EXIT.CONFIG,
  EXIT.TPM_NOT_PROVISIONED,
  EXIT.SERVER_UNTRUSTED,
  EXIT.STATE_CORRUPT,
  EXIT.DAD_FAILED,
];

/** Error `code` (ZtpError.code of any layer) -> exit code. */
const BY_CODE: Record<string, ExitCode> = {
  USAGE: EXIT.USAGE,
  CONFIG: EXIT.CONFIG,
  TPM_SPEC: EXIT.CONFIG,
  TPM_TRANSPORT: EXIT.NO_TPM,
  NO_TPM: EXIT.NO_TPM,
  TPM_NV_LAYOUT: EXIT.TPM_NOT_PROVISIONED,
  TPM_NOT_PROVISIONED: EXIT.TPM_NOT_PROVISIONED,
  TPM_RC: EXIT.TPM_FAILURE,
  SERVER_REFUSED: EXIT.SERVER_REFUSED,
  RECEIVED_ERROR: EXIT.SERVER_REFUSED,
  /** The server assigned an identity that cannot be a unicast address (agent/identity-check.ts). */
  IDENTITY_UNUSABLE: EXIT.SERVER_REFUSED,
  UNKNOWN_ROOT: EXIT.SERVER_UNTRUSTED,
  BAD_ROOT_SIGNATURE: EXIT.SERVER_UNTRUSTED,
  BAD_SERVER_CERTIFICATE: EXIT.SERVER_UNTRUSTED,
  BAD_SERVER_SIGNATURE: EXIT.SERVER_UNTRUSTED,
  INTERFACE_MISSING: EXIT.INTERFACE_MISSING,
  STATE_CORRUPT: EXIT.STATE_CORRUPT,
  /** A save refused because an identity is stored (run-agent.ts handles it; not expected here). */
  STATE_EXISTS: EXIT.STATE_CORRUPT,
  DAD_FAILED: EXIT.DAD_FAILED,
  NOT_PROVISIONED: EXIT.NOT_PROVISIONED,
  NETLINK: EXIT.NETWORK,
  NETWORK_MANAGER: EXIT.NETWORK_MANAGER,
  /** Duplicate address detection did not finish in time (link down, no carrier). */
  TIMEOUT: EXIT.NETWORK,
};

export function exitCodeFor(e: unknown): ExitCode {
  // The handshake wraps a failing signer (the TPM's DAA or long-term key); what failed is the cause.
  if (e instanceof ZtpError && e.code === 'SIGNER_FAILED' && e.cause instanceof ZtpError)
    return exitCodeFor(e.cause);
  if (e instanceof ZtpError) return BY_CODE[e.code] ?? EXIT.INTERNAL;
  return EXIT.INTERNAL;
}
