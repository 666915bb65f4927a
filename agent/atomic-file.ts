// Crash-safe creation of a small file in the state directory: write a temporary file, fsync it,
// link(2) it to the final name (atomic, and refuses to replace an existing file), unlink the
// temporary, fsync the directory. Readers see either no file or the complete one. Used for the
// stored identity (state-store.ts) and the long-term key (longterm-key-files.ts).
import { constants as fsc } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_MARK = '.tmp-';

/** Thrown (as the `cause` of callers' errors) when the final name already exists. */
export class AlreadyExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists`);
  }
}

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
