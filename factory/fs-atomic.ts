// Crash-safe file writes for the factory's files (batch directory, roots, labels): create-only files
// (O_EXCL, so nothing is ever overwritten by accident) and atomic replacement (temp file in the same
// directory, fsync, rename, fsync of the directory: after a crash the old or the new content is there,
// never a torn file).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Creates a file that must not exist yet (EEXIST otherwise), writes it completely and fsyncs it. */
export function writeNewFile(path: string, data: Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Replaces `dir/name` atomically with `data`. */
export function writeAtomic(dir: string, name: string, data: Uint8Array, mode = 0o644): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  removeIfPresent(tmp); // left by a crashed process that had our pid
  try {
    writeNewFile(tmp, data, mode);
    renameSync(tmp, join(dir, name));
  } catch (err) {
    try {
      removeIfPresent(tmp);
    } catch (cleanup) {
      throw new AggregateError([err, cleanup], `writing ${join(dir, name)} failed`);
    }
    throw err;
  }
  fsyncDir(dir);
}
