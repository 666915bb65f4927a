// The exit-code table in server-stub/README.md matches exit-codes.ts, and error codes map to it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { BadValueError, MissingFileError, UsageError } from '../../../common/cli.ts';
import { DecodeError, ZtpError } from '../../../protocol/errors.ts';
import { EXIT, exitCodeFor } from '../../../server-stub/exit-codes.ts';
import { RegistryError, ValidationError } from '../../../server-stub/registry/errors.ts';

test('README table == EXIT', (t) => {
  const readme = readFileSync('server-stub/README.md', 'utf8');
  const rows = [...readme.matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)].map((m) => [m[2]!, Number(m[1])]);
  t.deepEqual(Object.fromEntries(rows), { ...EXIT });
});

test('typed errors map to their documented codes', (t) => {
  t.is(exitCodeFor(new ValidationError('network.prefix', 'bad')), EXIT.BAD_INPUT);
  t.is(exitCodeFor(new BadValueError('port', 'bad')), EXIT.BAD_INPUT);
  t.is(exitCodeFor(new MissingFileError('/x', 'file')), EXIT.NOT_FOUND);
  t.is(exitCodeFor(new UsageError('x')), EXIT.USAGE);
  t.is(exitCodeFor(new RegistryError('NOT_FOUND', 'x')), EXIT.NOT_FOUND);
  t.is(exitCodeFor(new RegistryError('CONFLICT', 'x')), EXIT.CONFLICT);
  t.is(exitCodeFor(new RegistryError('SCHEMA', 'x')), EXIT.REGISTRY);
  t.is(exitCodeFor(new DecodeError('batch.gpk', 0, 'x')), EXIT.BAD_INPUT);
  t.is(exitCodeFor(new ZtpError('KEYS_MISSING', 'x')), EXIT.KEYS);
  t.is(exitCodeFor(new ZtpError('LISTEN', 'x')), EXIT.LISTEN);
  t.is(exitCodeFor(new ZtpError('SOMETHING_ELSE', 'x')), EXIT.INTERNAL);
  t.is(exitCodeFor(new Error('plain')), EXIT.INTERNAL);
});
