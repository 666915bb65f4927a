// The documented exit-code table of `xtt-agent` (also in agent/README.md and the root README).
// systemd/xtt-agent.service lists the permanent failures in RestartPreventExitStatus= so that a
// revoked device or a broken configuration does not restart in a loop.
import { ZtpError } from '../protocol/errors.ts';

export const EXIT = {
  OK: 0,
  /** An unexpected internal error (a bug): the message says what. */
  INTERNAL: 1,
  /** Bad command line (unknown flag, missing argument). */
  USAGE: 2,
  /** Invalid configuration: the message names the setting. */
  CONFIG: 3,
  /** No TPM: the device (e.g. /dev/tpmrm0) or swtpm socket cannot be opened. */
  NO_TPM: 4,
  /** The TPM lacks the factory provisioning (NV objects or the ECDAA key are missing). */
  TPM_NOT_PROVISIONED: 5,
  /**
   * The server refused the device (batch unknown or not associated with a network, revoked). `run`
   * retries refusals instead of exiting (provision.ts), so it no longer exits with 6; the number
   * keeps its meaning and classifies refusals.
   */
  SERVER_REFUSED: 6,
  /** The server's certificate does not chain to the root certificate. */
  SERVER_UNTRUSTED: 7,
  /** The configured network interface does not exist. */
  INTERFACE_MISSING: 8,
  /** The state file exists but is corrupt; it is left in place for inspection. */
  STATE_CORRUPT: 9,
  /** `status`: this device has no identity yet. */
  NOT_PROVISIONED: 10,
  /** Duplicate address detection found the identity in use by another node. */
  DAD_FAILED: 11,
  /** Netlink refused the address (e.g. EPERM without CAP_NET_ADMIN), or DAD did not finish in time. */
  NETWORK: 12,
  /** The TPM failed a command in a way that is not a provisioning gap. */
  TPM_FAILURE: 13,
  /** The network manager (networkd, NetworkManager) did not take the identity address (`handoff`). */
  NETWORK_MANAGER: 14,
} as const;
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
  /** A save refused because an identity is stored (provision.ts handles it; not expected here). */
  STATE_EXISTS: EXIT.STATE_CORRUPT,
  DAD_FAILED: EXIT.DAD_FAILED,
  NETLINK: EXIT.NETWORK,
  NETWORK_MANAGER: EXIT.NETWORK_MANAGER,
  /** Duplicate address detection did not finish in time (link down, no carrier). */
  TIMEOUT: EXIT.NETWORK,
};

export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof ZtpError) return BY_CODE[e.code] ?? EXIT.INTERNAL;
  return EXIT.INTERNAL;
}
