#!/usr/bin/env node
// `npm run clean`: removes what builds and tests leave in the repository and can make again:
// .cache/ (the QEMU test image: debootstrap rootfs, Debian kernel, built images; 1-2 GB),
// dist/ (the agent bundle, `npm run build`) and test/artifacts/ (screenshots, logs of failed
// e2e steps). Prints each with its size. node_modules/ stays (`npm ci` owns it).
//   node scripts/clean.mjs [--dry-run]
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const TARGETS = ['.cache', 'dist', 'test/artifacts'];

/** Bytes on disk under `path` (allocated blocks: the images are sparse), without following links. */
function diskUsage(path) {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  let bytes = st.blocks * 512;
  if (st.isDirectory()) for (const e of readdirSync(path)) bytes += diskUsage(join(path, e));
  return bytes;
}

function human(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

let options;
try {
  options = parseArgs({
    options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  }).values;
} catch (e) {
  process.stderr.write(`npm run clean: ${e.message}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(
    `npm run clean [-- --dry-run]\n\nRemoves ${TARGETS.join(', ')} (image cache, agent bundle, test ` +
      `artifacts), printing each size.\n--dry-run only prints them.\nExit codes: 0 ok, 1 a removal ` +
      `failed, 2 usage. See README.md "Disk use".\n`,
  );
  process.exit(0);
}
let total = 0;
for (const t of TARGETS) {
  const path = join(root, t);
  const bytes = diskUsage(path);
  if (bytes === 0) continue;
  total += bytes;
  if (!options['dry-run'])
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      process.stderr.write(`npm run clean: cannot remove ${t}/: ${e.message}\n`);
      process.exit(1);
    }
  process.stdout.write(`${options['dry-run'] ? 'would remove' : 'removed'} ${t}/ (${human(bytes)})\n`);
}
process.stdout.write(`${options['dry-run'] ? 'would free' : 'freed'} ${human(total)}\n`);
