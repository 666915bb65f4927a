// factory/exit-codes.ts: the mapping from error codes to exit codes, and the table in factory/README.md
// lists exactly the codes the program uses.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, exitCodeFor, type ExitCode } from '../../../factory/exit-codes.ts';
import { FactoryError, FactoryErrorCode } from '../../../factory/errors.ts';
import { CryptoError, DecodeError } from '../../../protocol/errors.ts';
import { TpmError, TpmTransportError } from '../../../tpm/errors.ts';
import { TpmSpecError } from '../../../tpm/open.ts';

test('every factory error code maps to a documented exit code', (t) => {
  const expected: Record<FactoryErrorCode, ExitCode> = {
    USAGE: EXIT.USAGE,
    BAD_VALUE: EXIT.BAD_INPUT,
    NOT_FOUND: EXIT.NOT_FOUND,
    EXISTS: EXIT.EXISTS,
    BATCH_CORRUPT: EXIT.BAD_INPUT,
    BATCH_LOCKED: EXIT.BATCH_UNAVAILABLE,
    BATCH_FULL: EXIT.BATCH_UNAVAILABLE,
    TPM_UNSUITABLE: EXIT.TPM_UNSUITABLE,
    ALREADY_PROVISIONED: EXIT.ALREADY_PROVISIONED,
    TPM_FOREIGN_STATE: EXIT.TPM_FOREIGN_STATE,
    VERIFY_FAILED: EXIT.VERIFY_FAILED,
  };
  for (const code of Object.values(FactoryErrorCode)) {
    t.is(exitCodeFor(new FactoryError(code, 'x')), expected[code], code);
  }
});

test('errors of other layers: decode and a bad --tpm 4, TPM 6, crypto 10, anything else 1', (t) => {
  t.is(exitCodeFor(new DecodeError('f', 0, 'r')), EXIT.BAD_INPUT);
  t.is(exitCodeFor(new TpmSpecError('tpm0', 'expected a /dev path or swtpm:HOST:PORT')), EXIT.BAD_INPUT);
  t.is(exitCodeFor(new TpmError('TPM_CC_Sign', 0x18b)), EXIT.TPM_ERROR);
  t.is(exitCodeFor(new TpmTransportError('refused')), EXIT.TPM_ERROR);
  t.is(exitCodeFor(new CryptoError('ECDAA_JOIN_PROOF', 'x')), EXIT.VERIFY_FAILED);
  t.is(exitCodeFor(new Error('boom')), EXIT.INTERNAL);
  t.is(exitCodeFor('string'), EXIT.INTERNAL);
});

test('factory/README.md documents exactly the exit codes in EXIT', (t) => {
  const readme = readFileSync(join(import.meta.dirname, '../../../factory/README.md'), 'utf8');
  const section = readme.split('## Exit codes')[1]!.split('\n## ')[0]!;
  const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  t.deepEqual(
    documented,
    [...new Set(Object.values(EXIT))].sort((a, b) => a - b),
  );
});
