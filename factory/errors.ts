// Errors of the factory tools (../shared/STYLE.md "Errors"): one subclass of ZtpError for this layer.
// `code` is stable and maps to an exit code in exit-codes.ts; `file` and `field` name what was wrong
// so an operator can find it. Messages never contain secret bytes.
import { ZtpError } from '../protocol/errors.ts';

export const FactoryErrorCode = {
  /** Malformed command line (also yargs' own validation failures): unknown or missing options. */
  USAGE: 'USAGE',
  /** A value given on the command line is wrong (out of range, too long, not a handle). */
  BAD_VALUE: 'BAD_VALUE',
  /** A batch directory, root directory or file named on the command line does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** The output directory already holds a batch or a root: never overwritten. */
  EXISTS: 'EXISTS',
  /** A file of an existing batch or root is missing, malformed or inconsistent. */
  BATCH_CORRUPT: 'BATCH_CORRUPT',
  /** Another process holds the batch lock for longer than we wait. */
  BATCH_LOCKED: 'BATCH_LOCKED',
  /** The batch has issued as many credentials as its declared size. */
  BATCH_FULL: 'BATCH_FULL',
  /** The TPM cannot be provisioned (no ECDAA/BN_P256, no NV room, ...): see the preflight report. */
  TPM_UNSUITABLE: 'TPM_UNSUITABLE',
  /** The TPM already holds a complete provisioning; --force replaces it. */
  ALREADY_PROVISIONED: 'ALREADY_PROVISIONED',
  /** The TPM holds objects at our handles that we did not put there (or another batch's). */
  TPM_FOREIGN_STATE: 'TPM_FOREIGN_STATE',
  /** A credential, proof or certificate signature did not verify. */
  VERIFY_FAILED: 'VERIFY_FAILED',
} as const;
export type FactoryErrorCode = (typeof FactoryErrorCode)[keyof typeof FactoryErrorCode];

/**
 * A provisioning step failed after the TPM was changed: `cause` is the step's own error (its class
 * and code decide the exit code); the message adds how to finish (run provision again).
 */
export class PartialProvisionError extends ZtpError {
  declare readonly cause: ZtpError;
  constructor(cause: ZtpError, hint: string) {
    super(cause.code, cause.message + hint, { cause });
  }
}

export class FactoryError extends ZtpError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  constructor(
    code: FactoryErrorCode,
    message: string,
    options?: { cause?: unknown; file?: string; field?: string },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.file = options?.file;
    this.field = options?.field;
  }
}
