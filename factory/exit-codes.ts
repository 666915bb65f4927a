// The documented exit codes of `xtt-factory` (../shared/STYLE.md "Errors": main.ts maps error codes
// to an exit-code table). --help prints this table (common/cli.ts); factory/README.md has the same
// lines, and a unit test keeps the two in step. Codes are stable: scripts on the production line branch on them.
// The rule shared with enf-server and xtt-agent (common/cli.ts): 2 only for a malformed command line,
// NOT_FOUND (11: 3 was taken by EXISTS long before) for a named directory or file that does not
// exist, BAD_INPUT (4) for a wrong value or file content.
import { exitCodes, type ExitTable } from '../common/cli.ts';
import { CryptoError, ZtpError } from '../protocol/errors.ts';
import { TpmLayerError } from '../tpm/errors.ts';
import { FactoryErrorCode, PartialProvisionError } from './errors.ts';

export const EXIT_TABLE = {
  OK: { code: 0, meaning: 'success' },
  INTERNAL: { code: 1, meaning: 'internal error (a bug)' },
  USAGE: {
    code: 2,
    meaning: 'malformed command line: unknown command or option, missing options, a non-number',
  },
  EXISTS: { code: 3, meaning: 'refused to overwrite an existing batch, root or server certificate' },
  BAD_INPUT: {
    code: 4,
    meaning:
      'bad input: a wrong option value, or a file of the batch or root malformed, missing or inconsistent (message names the option, or file and field)',
  },
  BATCH_UNAVAILABLE: { code: 5, meaning: 'batch locked by another provisioning, or batch full' },
  TPM_ERROR: { code: 6, meaning: 'TPM unreachable or a TPM command failed' },
  TPM_UNSUITABLE: { code: 7, meaning: 'TPM unsuitable: preflight failed or no NV room; nothing changed' },
  ALREADY_PROVISIONED: { code: 8, meaning: 'TPM already provisioned; nothing changed (use --force)' },
  TPM_FOREIGN_STATE: {
    code: 9,
    meaning:
      'TPM holds objects at the reference handles this batch did not write; nothing changed (use --force)',
  },
  VERIFY_FAILED: { code: 10, meaning: 'a credential, join proof or certificate signature did not verify' },
  NOT_FOUND: { code: 11, meaning: 'the named batch directory, root directory or file does not exist' },
} as const satisfies ExitTable;
export const EXIT = exitCodes(EXIT_TABLE);
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Record<string, ExitCode> = {
  [FactoryErrorCode.USAGE]: EXIT.USAGE,
  [FactoryErrorCode.BAD_VALUE]: EXIT.BAD_INPUT,
  [FactoryErrorCode.NOT_FOUND]: EXIT.NOT_FOUND,
  [FactoryErrorCode.EXISTS]: EXIT.EXISTS,
  [FactoryErrorCode.BATCH_CORRUPT]: EXIT.BAD_INPUT,
  [FactoryErrorCode.BATCH_LOCKED]: EXIT.BATCH_UNAVAILABLE,
  [FactoryErrorCode.BATCH_FULL]: EXIT.BATCH_UNAVAILABLE,
  [FactoryErrorCode.TPM_UNSUITABLE]: EXIT.TPM_UNSUITABLE,
  [FactoryErrorCode.ALREADY_PROVISIONED]: EXIT.ALREADY_PROVISIONED,
  [FactoryErrorCode.TPM_FOREIGN_STATE]: EXIT.TPM_FOREIGN_STATE,
  [FactoryErrorCode.VERIFY_FAILED]: EXIT.VERIFY_FAILED,
  // Codes of other layers that reach the factory.
  DECODE: EXIT.BAD_INPUT,
  /** --tpm that is neither a device path nor swtpm:HOST:PORT: a bad value, not a TPM failure. */
  TPM_SPEC: EXIT.BAD_INPUT,
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
