// Bundles the device agent into one file (STYLE.md "Tooling": the agent ships as one bundled JS
// file so a device image carries no node_modules): agent/main.ts -> dist/xtt-agent/xtt-agent.js,
// ESM for Node 20, with koffi left external and copied beside it with only the prebuilt native
// binaries asked for (default: every linux glibc binary installed among x64, arm64, arm, riscv64).
//   node scripts/build.mjs [--out DIR] [--arch x64,arm64] [--musl] [--no-minify] [--wasm]
// --wasm compiles with esbuild-wasm (same version as esbuild, WebAssembly run by the node that
// runs this script): the Yocto recipe's do_compile uses it with nodejs-native, so no build-host
// binary from npm is involved. The bundle options live in agent-bundle.mjs (one copy).
// Install on a device: copy DIR to /usr/lib/xtt-agent (systemd/xtt-agent.service runs
// /usr/bin/node /usr/lib/xtt-agent/xtt-agent.js).
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agentBundleOptions } from './agent-bundle.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'dist', 'xtt-agent') },
    arch: { type: 'string' },
    musl: { type: 'boolean', default: false },
    'no-minify': { type: 'boolean', default: false },
    wasm: { type: 'boolean', default: false },
  },
});
const out = resolve(values.out);
const SUPPORTED = ['x64', 'arm64', 'arm', 'riscv64'];
const koromix = join(root, 'node_modules', '@koromix');
const arches = values.arch
  ? values.arch.split(',')
  : SUPPORTED.filter((a) => existsSync(join(koromix, `koffi-linux-${a}`)));
for (const a of arches) {
  if (!SUPPORTED.includes(a)) throw new Error(`unsupported arch ${a} (supported: ${SUPPORTED.join(', ')})`);
  if (!existsSync(join(koromix, `koffi-linux-${a}`))) {
    throw new Error(`@koromix/koffi-linux-${a} is not installed (npm install --no-save --force it first)`);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const { build } = await import(values.wasm ? 'esbuild-wasm' : 'esbuild');
const result = await build({
  ...agentBundleOptions(root, { minify: !values['no-minify'] }),
  outfile: join(out, 'xtt-agent.js'),
  legalComments: 'linked',
  logLevel: 'warning',
});
chmodSync(join(out, 'xtt-agent.js'), 0o755);
// The unit's Documentation= points here.
cpSync(join(root, 'agent', 'README.md'), join(out, 'README.md'));
writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');

// koffi: only what its ESM entry loads, plus licence; then the native packages.
const koffiSrc = join(root, 'node_modules', 'koffi');
const koffiDst = join(out, 'node_modules', 'koffi');
for (const f of [
  'package.json',
  'index.js',
  'LICENSE.txt',
  'src/koffi/index.js',
  'src/koffi/src/static.js',
]) {
  mkdirSync(dirname(join(koffiDst, f)), { recursive: true });
  cpSync(join(koffiSrc, f), join(koffiDst, f));
}
for (const a of arches) {
  const src = join(koromix, `koffi-linux-${a}`);
  const dst = join(out, 'node_modules', '@koromix', `koffi-linux-${a}`);
  mkdirSync(dst, { recursive: true });
  for (const f of ['package.json', 'index.js']) cpSync(join(src, f), join(dst, f));
  const libcs = values.musl ? ['linux', 'musl'] : ['linux'];
  for (const libc of libcs) {
    const dir = `${libc}_${a === 'arm' ? 'armhf' : a}`;
    if (existsSync(join(src, dir))) cpSync(join(src, dir), join(dst, dir), { recursive: true });
  }
}

const size = statSync(join(out, 'xtt-agent.js')).size;
console.log(
  JSON.stringify({
    bundle: join(out, 'xtt-agent.js'),
    bytes: size,
    arches,
    inputs: Object.keys(result.metafile.inputs).length,
  }),
);
