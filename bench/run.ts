// Benchmark runner: `npm run bench -- NAME` runs every bench/*.bench.ts whose name starts with NAME
// (all of them without NAME). Each benchmark prints one JSON object per line and figure, e.g.
// {"bench":"ecdaa.verify","unit":"ms","median":17.2,"n":50}. Figures only: nothing here passes or fails.
// `--reference-dir PREFIX` (a build of the C reference, test/interop/README.md) adds the reference
// server's figures to the `server` bench; as root the run then moves into a fresh network namespace
// with only loopback (the reference server binds 0.0.0.0).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { reexecInNetns } from '../test/interop/interop-env.ts';
import { referenceDir } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const wanted = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--reference-dir');
if (referenceDir() !== undefined) {
  const status = reexecInNetns();
  if (status !== undefined) process.exit(status);
}
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (files.length === 0) {
  const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts'));
  console.error(
    `no benchmark matches ${wanted.join(' ')}; available: ${all.map((f) => f.replace('.bench.ts', '')).join(', ')}`,
  );
  process.exit(2);
}
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`${f} exports no run()`);
  await mod.run();
}
