// factory/batch-lock.ts and factory/fs-atomic.ts: breaking a stale lock never steals a fresh one;
// create-only files refuse to overwrite; an atomic replacement leaves no temp file behind.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakStale, LOCK_FILE, withBatchLock } from '../../../factory/batch-lock.ts';
import { writeAtomic, writeNewFile } from '../../../common/fs-atomic.ts';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'batch-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('breakStale removes the stale lock it read', (t) => {
  const dir = tmp(t);
  const lock = join(dir, LOCK_FILE);
  writeFileSync(lock, '999999999@h\n');
  breakStale(lock, '999999999@h\n');
  t.false(existsSync(lock));
  t.deepEqual(readdirSync(dir), []);
});

test('breakStale puts back a fresh lock another process took after we read the stale one', (t) => {
  const dir = tmp(t);
  const lock = join(dir, LOCK_FILE);
  const fresh = `${process.pid}@${hostname()}\n`;
  writeFileSync(lock, fresh); // the stale one was already replaced
  breakStale(lock, '999999999@h\n');
  t.is(readFileSync(lock, 'utf8'), fresh);
  t.deepEqual(readdirSync(dir), [LOCK_FILE]);
});

test('withBatchLock serialises concurrent critical sections in one process', async (t) => {
  const dir = tmp(t);
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 8 }, () =>
      withBatchLock(dir, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      }),
    ),
  );
  t.is(maxInside, 1);
  t.false(existsSync(join(dir, LOCK_FILE)));
});

test('writeNewFile refuses an existing file; writeAtomic replaces and leaves no temp file', (t) => {
  const dir = tmp(t);
  writeNewFile(join(dir, 'a'), new Uint8Array([1]), 0o600);
  t.throws(() => writeNewFile(join(dir, 'a'), new Uint8Array([2]), 0o600), { code: 'EEXIST' });
  t.deepEqual([...readFileSync(join(dir, 'a'))], [1]);
  writeFileSync(join(dir, `.a.${process.pid}.tmp`), 'left by a crashed process with our pid');
  writeAtomic(dir, 'a', new Uint8Array([3, 4]));
  t.deepEqual([...readFileSync(join(dir, 'a'))], [3, 4]);
  t.throws(() => writeAtomic(join(dir, 'missing'), 'b', new Uint8Array([5])), { code: 'ENOENT' });
  t.deepEqual(readdirSync(dir), ['a']);
});
