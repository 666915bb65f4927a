// The esbuild options that turn agent/main.ts into the one-file agent bundle, shared by
// scripts/build.mjs (writes dist/xtt-agent) and scripts/yocto-shrinkwrap.mjs (reads the metafile to
// learn which npm packages end up in the bundle). ESM for Node 20 with koffi left external: its
// loader and the target's prebuilt native binary are copied beside the bundle.
import { join } from 'node:path';

/**
 * @param {string} root repository root
 * @param {{ minify?: boolean }} [opts]
 * @returns {import('esbuild').BuildOptions & { metafile: true }}
 */
export function agentBundleOptions(root, opts = {}) {
  return {
    entryPoints: [join(root, 'agent', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['koffi'],
    minify: opts.minify ?? true,
    metafile: true,
    // Some bundled CommonJS-era code calls require(); give the ESM bundle one.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __xttCreateRequire } from 'node:module';\nconst require = __xttCreateRequire(import.meta.url);",
    },
  };
}
