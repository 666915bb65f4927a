// Crash-safe file writes for every program: create-only files (O_EXCL, so nothing is ever
// overwritten by accident: the factory's batch and root files, the server's key files), atomic
// replacement (temp file in the same directory, fsync, rename, fsync of the directory: after a crash
// the old or the new content is there, never a torn file), and atomic creation through link(2) for
// the agent's state (readers see no file or the complete one; an existing file is never replaced).
import { closeSync, constants as fsc, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rm, unlink } from 'node:fs/promises';
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

const TEMP_MARK = '.tmp-';

/** Thrown (as the `cause` of callers' errors) when the final name already exists. */
export class AlreadyExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists`);
  }
}

/**
 * Creates `dir/name` (and `dir`, mode 0750) from a fsynced temporary linked to the final name;
 * AlreadyExistsError if it exists.
 */
export async function createFileAtomically(dir: string, name: string, data: Uint8Array, mode: number) {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  // Temporaries left by a crash before link() are never the real file: remove them.
  for (const f of await readdir(dir)) {
    if (f.startsWith(`.${name}${TEMP_MARK}`)) await rm(join(dir, f), { force: true });
  }
  const temp = join(dir, `.${name}${TEMP_MARK}${process.pid}`);
  const final = join(dir, name);
  const fh = await open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(temp, final);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(final);
    throw e;
  } finally {
    await unlink(temp);
  }
  const dh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** The file's bytes, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
