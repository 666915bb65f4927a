// common/cli.ts: the exit-code epilog generated from a table, --json detection, the JSON error
// document, the version, and each program's README table agreeing with its EXIT_TABLE.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_TABLE as AGENT } from '../../../agent/exit-codes.ts';
import {
  errorDocument,
  exitCodeEpilog,
  UsageError,
  VERSION,
  wantsJson,
  type ExitTable,
} from '../../../common/cli.ts';
import { EXIT_TABLE as FACTORY } from '../../../factory/exit-codes.ts';
import { FactoryError } from '../../../factory/errors.ts';
import { EXIT_TABLE as SERVER } from '../../../server-stub/exit-codes.ts';

const REPO = join(import.meta.dirname, '../../..');

test('the epilog lists every code of the table in order, then the README', (t) => {
  const text = exitCodeEpilog({
    exitTable: {
      USAGE: { code: 2, meaning: 'usage' },
      OK: { code: 0, meaning: 'ok' },
      X: { code: 10, meaning: 'ten' },
    },
    readme: 'x/README.md',
    epilogNote: 'Configuration: here.',
  });
  t.is(
    text,
    'Exit codes:\n   0  ok\n   2  usage\n  10  ten\nConfiguration: here.\nDocumentation: x/README.md',
  );
});

test('wantsJson: --json and --json=true before `--`; the last spelling wins', (t) => {
  t.true(wantsJson(['batch', 'list', '--json']));
  t.true(wantsJson(['--json=true', 'x']));
  t.false(wantsJson(['--json', '--no-json']));
  t.false(wantsJson(['run', '--', '--json']));
  t.false(wantsJson(['status']));
});

test('the JSON error document: code, message, exit code, and field/file when named', (t) => {
  t.deepEqual(errorDocument(new UsageError('Unknown argument: x'), 2), {
    error: { code: 'USAGE', message: 'Unknown argument: x', exitCode: 2 },
  });
  const e = new FactoryError('BATCH_CORRUPT', 'bad', { file: 'b/manifest.json', field: 'gid' });
  t.deepEqual(errorDocument(e, 4), {
    error: { code: 'BATCH_CORRUPT', message: 'bad', exitCode: 4, field: 'gid', file: 'b/manifest.json' },
  });
  t.deepEqual(errorDocument(new TypeError('bug'), 1), {
    error: { code: 'INTERNAL', message: 'bug', exitCode: 1 },
  });
});

test('VERSION is package.json "version"', (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  t.is(VERSION, pkg.version);
});

/** The rows `| code | ... |` of the README's "Exit codes" section, as cell lists. */
function readmeRows(file: string): string[][] {
  const text = readFileSync(join(REPO, file), 'utf8');
  const section = text.split(/^#+ Exit codes$/m)[1]!.split(/\n#+ /)[0]!;
  return [...section.matchAll(/^\| (\d+) \|(.*)\|$/gm)].map((m) => [
    m[1]!,
    ...m[2]!.split(' | ').map((c) => c.trim()),
  ]);
}

for (const [file, table] of [
  ['server-stub/README.md', SERVER],
  ['factory/README.md', FACTORY],
  ['agent/README.md', AGENT],
] as [string, ExitTable][]) {
  test(`${file} documents exactly the exit codes --help prints, with the same meanings`, (t) => {
    const rows = readmeRows(file);
    const entries = Object.values(table).sort((a, b) => a.code - b.code);
    t.deepEqual(
      rows.map((r) => Number(r[0])),
      entries.map((e) => e.code),
    );
    for (const e of entries) {
      const row = rows.find((r) => Number(r[0]) === e.code)!;
      t.true(row.includes(e.meaning), `${file} code ${e.code}: "${e.meaning}" not in ${JSON.stringify(row)}`);
    }
  });
}
