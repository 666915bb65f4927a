// The documented exit codes of `enf-server` (../shared/STYLE.md "Errors": main.ts maps error codes to
// an exit-code table). The same table is in server-stub/README.md; a unit test keeps them in step.
// Codes are stable: operators' scripts branch on them.
import { ZtpError } from '../protocol/errors.ts';

export const EXIT = {
  OK: 0,
  /** Unexpected failure (a bug, or an error without a documented code). */
  INTERNAL: 1,
  /** Bad command line or an invalid value (the message names the field). */
  USAGE: 2,
  /** The named network, batch or device does not exist. */
  NOT_FOUND: 3,
  /** The name, prefix, GPK or identity is already taken, or the key files already exist. */
  CONFLICT: 4,
  /** The registry is missing, empty or damaged, cannot be opened or written, or its schema is newer. */
  REGISTRY: 5,
  /** An input (GPK file, QR text or image, certificate, key, API token or TLS file) is malformed. */
  BAD_INPUT: 6,
  /** Key material missing or unusable (run `enf-server init`). */
  KEYS: 7,
  /** The endpoint could not listen (address in use, permission). */
  LISTEN: 8,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Record<string, ExitCode> = {
  USAGE: EXIT.USAGE,
  VALIDATION: EXIT.USAGE,
  NOT_FOUND: EXIT.NOT_FOUND,
  CONFLICT: EXIT.CONFLICT,
  KEYS_EXIST: EXIT.CONFLICT,
  STORAGE: EXIT.REGISTRY,
  SCHEMA: EXIT.REGISTRY,
  DECODE: EXIT.BAD_INPUT,
  INPUT_FILE: EXIT.BAD_INPUT,
  KEYS_INVALID: EXIT.KEYS,
  KEYS_MISSING: EXIT.KEYS,
  LISTEN: EXIT.LISTEN,
};

/** The exit code for an error thrown by a subcommand. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof ZtpError) return BY_CODE[err.code] ?? EXIT.INTERNAL;
  return EXIT.INTERNAL;
}
