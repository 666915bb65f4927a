// scripts/clean.mjs (`npm run clean`), run on a copy of the repository layout in a temp directory:
// removes .cache/, dist/ and test/artifacts/ with their sizes, leaves node_modules/ and sources.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'scripts', 'clean.mjs');

function fakeRepo(t: { teardown: (f: () => void) => void }): string {
  const root = mkdtempSync(join(tmpdir(), 'clean-test-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(SCRIPT, join(root, 'scripts', 'clean.mjs'));
  for (const [dir, bytes] of [
    ['.cache/image/base-1', 3 << 20],
    ['dist/xtt-agent', 64 << 10],
    ['test/artifacts/e2e', 1000],
    ['node_modules/x', 10],
  ] as const) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'f'), Buffer.alloc(bytes, 1));
  }
  return root;
}

test('removes .cache, dist and test/artifacts with their sizes; keeps node_modules and sources', (t) => {
  const root = fakeRepo(t);
  const dry = execFileSync(process.execPath, [join(root, 'scripts', 'clean.mjs'), '--dry-run'], {
    encoding: 'utf8',
  });
  t.regex(dry, /^would remove \.cache\/ \(3\.0 MB\)$/m);
  t.true(existsSync(join(root, '.cache')), '--dry-run removes nothing');
  const out = execFileSync(process.execPath, [join(root, 'scripts', 'clean.mjs')], { encoding: 'utf8' });
  t.regex(out, /^removed \.cache\/ \(3\.0 MB\)$/m);
  t.regex(out, /^removed dist\/ \((6[4-9]|7[0-9])\.0 KB\)$/m);
  t.regex(out, /^removed test\/artifacts\/ \(/m);
  t.regex(out, /^freed 3\.\d MB$/m);
  for (const gone of ['.cache', 'dist', 'test/artifacts']) t.false(existsSync(join(root, gone)), gone);
  t.true(existsSync(join(root, 'node_modules', 'x', 'f')));
  t.true(existsSync(join(root, 'scripts', 'clean.mjs')));
  t.is(
    execFileSync(process.execPath, [join(root, 'scripts', 'clean.mjs')], { encoding: 'utf8' }),
    'freed 0 B\n',
  );
});

test('an unknown option is a usage error (exit 2)', (t) => {
  const r = spawnSync(process.execPath, [SCRIPT, '--all'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /Unknown option '--all'/);
});
