// The documented exit codes of `enf-server` (../shared/STYLE.md "Errors": main.ts maps error codes to
// an exit-code table). --help prints this table (common/cli.ts); server-stub/README.md has the same
// lines, and a unit test keeps them in step.
// Codes are stable: operators' scripts branch on them. The rule (common/cli.ts): 2 only for a
// malformed command line, 3 for a named object or file that does not exist, 6 for a wrong value or
// file content.
import { exitCodes, type ExitTable } from '../common/cli.ts';
import { ZtpError } from '../protocol/errors.ts';

export const EXIT_TABLE = {
  OK: { code: 0, meaning: 'done' },
  INTERNAL: { code: 1, meaning: 'unexpected failure (a bug)' },
  USAGE: {
    code: 2,
    meaning:
      'malformed command line: unknown command or option, missing or conflicting options, a non-number',
  },
  NOT_FOUND: {
    code: 3,
    meaning: 'the named organization, network, batch, device or CA, or a named input file, does not exist',
  },
  CONFLICT: { code: 4, meaning: 'name, prefix, GPK or identity already taken, or key files already exist' },
  REGISTRY: {
    code: 5,
    meaning:
      'registry (or its state directory) missing, empty, damaged, cannot be opened or written, or its schema is newer than this program',
  },
  BAD_INPUT: {
    code: 6,
    meaning:
      'bad value (name, prefix, identity, time, number, URL) or malformed file (GPK, QR text or image, certificate, key, CRL, API token, GeoIP, TLS); the message names which',
  },
  KEYS: { code: 7, meaning: 'key material missing or inconsistent (run `enf-server init`)' },
  LISTEN: { code: 8, meaning: 'the XTT endpoint or the management listener could not listen' },
} as const satisfies ExitTable;
export const EXIT = exitCodes(EXIT_TABLE);
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Record<string, ExitCode> = {
  USAGE: EXIT.USAGE,
  VALIDATION: EXIT.BAD_INPUT,
  BAD_VALUE: EXIT.BAD_INPUT,
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
