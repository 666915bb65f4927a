// The batch manifest lock (the batch manifest counts issued credentials, atomically):
// `manifest.lock` created with O_EXCL holds "pid@host". Stations on several hosts may share the batch
// directory (a network file system with O_EXCL semantics); a lock left by a dead process on this host
// is broken, a lock held by another host is waited for and then reported with its holder.
//
// Breaking a stale lock renames it to a private name first and checks that what it moved is still the
// stale content it read: if another process had meanwhile broken it and taken a fresh lock, that lock
// is put back with link() (which never overwrites) and we wait like everybody else.
import { linkSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FactoryError, FactoryErrorCode } from './errors.ts';
import { writeNewFile } from '../common/fs-atomic.ts';

export const LOCK_FILE = 'manifest.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lock: string): string | undefined {
  try {
    return readFileSync(lock, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Moves a stale lock out of the way; puts back what it moved if that was someone's fresh lock. */
export function breakStale(lock: string, stale: string): void {
  const aside = `${lock}.stale.${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // somebody else broke it
    throw err;
  }
  if (readHolder(aside) !== stale) {
    try {
      linkSync(aside, lock); // restore the fresh lock we moved, unless a new one exists already
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  unlinkSync(aside);
}

/**
 * Runs `fn` holding `dir/manifest.lock`. Waits up to `timeoutMs` for a live holder, then fails with
 * BATCH_LOCKED naming it.
 */
export async function withBatchLock<T>(
  dir: string,
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const owner = `${process.pid}@${hostname()}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeNewFile(lock, new TextEncoder().encode(owner), 0o644);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(lock);
    if (holder === undefined) continue; // released between our open and our read
    const m = /^(\d+)@(.*)\n$/.exec(holder);
    if (m && m[2] === hostname() && !isAlive(Number(m[1]))) {
      breakStale(lock, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new FactoryError(
        FactoryErrorCode.BATCH_LOCKED,
        `${lock} is held by ${holder.trim() || 'an unknown process'} (if no provisioning is running there, remove the file)`,
        {
          file: lock,
        },
      );
    }
    await sleep(25 + Math.floor(Math.random() * 25));
  }
  try {
    return await fn();
  } finally {
    unlinkSync(lock);
  }
}
