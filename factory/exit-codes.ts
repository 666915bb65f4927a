// The documented exit codes of `xtt-factory` (../shared/STYLE.md "Errors": main.ts maps error codes
// to an exit-code table). The same table is printed in factory/README.md; a unit test keeps the two in
// step. Codes are stable: scripts on the production line branch on them.
import { CryptoError, ZtpError } from '../protocol/errors.ts';
import { TpmLayerError } from '../tpm/errors.ts';
import { FactoryErrorCode, PartialProvisionError } from './errors.ts';

export const EXIT = {
  OK: 0,
  /** Unexpected failure (a bug, or an error without a documented code). */
  INTERNAL: 1,
  USAGE: 2,
  /** Refused to overwrite an existing batch, root or server certificate. */
  EXISTS: 3,
  /** Batch directory or key file missing, malformed or inconsistent (the message names file and field). */
  BATCH_CORRUPT: 4,
  /** The batch is locked by another provisioning, or has issued its declared size. */
  BATCH_UNAVAILABLE: 5,
  /** TPM unreachable or a TPM command failed. */
  TPM_ERROR: 6,
  /** Preflight failed: the TPM cannot hold this provisioning (no ECDAA/BN_P256, no NV room). */
  TPM_UNSUITABLE: 7,
  /** The TPM is already provisioned; nothing was changed (use --force to replace). */
  ALREADY_PROVISIONED: 8,
  /** The TPM holds objects at the reference handles that this batch did not write (use --force). */
  TPM_FOREIGN_STATE: 9,
  /** A credential, join proof or certificate signature failed to verify. */
  VERIFY_FAILED: 10,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Record<string, ExitCode> = {
  [FactoryErrorCode.USAGE]: EXIT.USAGE,
  [FactoryErrorCode.EXISTS]: EXIT.EXISTS,
  [FactoryErrorCode.BATCH_CORRUPT]: EXIT.BATCH_CORRUPT,
  [FactoryErrorCode.BATCH_LOCKED]: EXIT.BATCH_UNAVAILABLE,
  [FactoryErrorCode.BATCH_FULL]: EXIT.BATCH_UNAVAILABLE,
  [FactoryErrorCode.TPM_UNSUITABLE]: EXIT.TPM_UNSUITABLE,
  [FactoryErrorCode.ALREADY_PROVISIONED]: EXIT.ALREADY_PROVISIONED,
  [FactoryErrorCode.TPM_FOREIGN_STATE]: EXIT.TPM_FOREIGN_STATE,
  [FactoryErrorCode.VERIFY_FAILED]: EXIT.VERIFY_FAILED,
  // Codes of other layers that reach the factory.
  DECODE: EXIT.BATCH_CORRUPT,
};

/** The exit code for an error thrown by a subcommand. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof PartialProvisionError) return exitCodeFor(err.cause);
  if (err instanceof ZtpError) {
    const mapped = BY_CODE[err.code];
    if (mapped !== undefined) return mapped;
    // Every error of the tpm/ layer: response codes, transport, NV layout, keys.
    if (err instanceof TpmLayerError) return EXIT.TPM_ERROR;
    if (err instanceof CryptoError) return EXIT.VERIFY_FAILED;
  }
  return EXIT.INTERNAL;
}
