// image/yocto-layer checked by real BitBake (poky + meta-oe scarthgap, offline; see image/bitbake-env.ts):
// the layer parses, the dependency graphs of the recipe, the packagegroup and the image resolve for
// every architecture the recipe claims, the sources (this repository by git, npm packages through
// npmsw://) fetch and unpack, the licences populate, and the machines and settings the recipe
// cannot serve are refused at parse time with the reason. Tasks from do_compile on need native
// tools built from source, which is impossible offline: the recipe's own do_compile and
// do_install, as `bitbake -e` expands them, run on the unpacked sources with the host's node, and
// the installed tree is checked per machine (unit paths, koffi's ELF machine, config.json). The
// same code (installRecipeTree) makes the x86-64 tree the QEMU e2e tests boot
// (test/e2e/provisioning.test.ts). `devtool modify` is checked as far as it runs offline (last).
import anyTest, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  asBitbakeUser,
  bbShellFunction,
  bbVar,
  bitbake,
  buildDir,
  git,
  installRecipeTree,
  type BitbakeResult,
  type Configuration,
  prepareYocto,
  REPO,
  yoctoMissing,
  type YoctoEnv,
} from '../../image/bitbake-env.ts';

interface Machine extends Configuration {
  /** readelf -h "Machine:" of koffi.node for this target. */
  elfMachine: RegExp;
  elfClass: 'ELF64' | 'ELF32';
  koffiDir: string;
}

/**
 * meta-oe has ~970 of the ~1900 recipes, and the image needs four of its directories (nodejs and
 * what nodejs-native builds with). The x86-64 configuration parses all of meta-oe (`bitbake -p`
 * above is the full parse an ODM does); the arm ones mask the rest, which halves their cold parse.
 */
const META_OE_MASK =
  'BBMASK += "meta-openembedded/meta-oe/recipes-(?!devtools/nodejs/|extended/brotli/|support/c-ares/|test/googletest/)"';

const MACHINES: Machine[] = [
  { name: 'qemux86-64', machine: 'qemux86-64', elfMachine: /X86-64/, elfClass: 'ELF64', koffiDir: 'koffi-linux-x64/linux_x64' },
  { name: 'qemuarm64', machine: 'qemuarm64', extra: META_OE_MASK, elfMachine: /AArch64/, elfClass: 'ELF64', koffiDir: 'koffi-linux-arm64/linux_arm64' },
  { name: 'qemuarm', machine: 'qemuarm', extra: META_OE_MASK, elfMachine: /ARM$/m, elfClass: 'ELF32', koffiDir: 'koffi-linux-arm/linux_armhf' },
]; // prettier-ignore
const X86 = MACHINES[0]!;

const test = anyTest as TestFn<{ env: YoctoEnv; recipe: string; envs: Map<string, string> }>;
const missing = yoctoMissing();
if (missing) {
  if (process.env.CI)
    throw new Error(`test:yocto cannot run: ${missing} (.ci/run installs the requirements)`);
  console.log(`SKIP test:yocto: ${missing}`);
}
const yoctoTest = missing ? test.skip : test.serial;

test.before((t) => {
  if (missing) return;
  const env = prepareYocto();
  t.context = {
    env,
    recipe: join(env.layer, 'recipes-provisioning', 'xtt-agent', 'xtt-agent_git.bb'),
    envs: new Map(),
  };
});

function ok(t: { is: (a: unknown, b: unknown, m?: string) => void }, what: string, r: BitbakeResult): void {
  t.is(r.code, 0, `${what} exited ${r.code}:\n${r.output.slice(-6000)}`);
}

function refused(
  t: { not: (a: unknown, b: unknown, m?: string) => void; regex: (s: string, r: RegExp, m?: string) => void },
  what: string,
  r: BitbakeResult,
  reason: RegExp,
): void {
  t.not(r.code, 0, `${what} should fail at parse time:\n${r.output.slice(-3000)}`);
  t.regex(r.output, reason, `${what}: the refusal does not give the reason:\n${r.output.slice(-3000)}`);
}

yoctoTest('bitbake -p parses every recipe with the layer (qemux86-64)', (t) => {
  const r = bitbake(t.context.env, X86, ['-p']);
  ok(t, 'bitbake -p', r);
  t.regex(r.output, / 0 errors\./);
  const layers = bitbake(t.context.env, X86, ['-e']);
  t.regex(layers.output, /^BBFILE_COLLECTIONS=".*\bxtt-agent-layer\b.*"$/m);
});

for (const m of MACHINES) {
  yoctoTest(`${m.machine}: bitbake -g of the recipe, the packagegroup and the image`, (t) => {
    const { env } = t.context;
    const r = bitbake(env, m, ['-g', 'xtt-agent', 'packagegroup-xtt-agent', 'xtt-agent-image']);
    ok(t, 'bitbake -g', r);
    // -g writes into the build directory; the task graph names what the recipe needs.
    const build = join(env.cache, `build-${m.name}`);
    const list = readFileSync(join(build, 'pn-buildlist'), 'utf8').split('\n');
    for (const pn of ['xtt-agent', 'packagegroup-xtt-agent', 'xtt-agent-image', 'nodejs', 'nodejs-native']) {
      t.true(list.includes(pn), `${pn} not in the build list of ${m.machine}`);
    }
    const tasks = readFileSync(join(build, 'task-depends.dot'), 'utf8');
    t.regex(tasks, /"xtt-agent\.do_prepare_recipe_sysroot" -> "nodejs-native\.do_populate_sysroot"/);

    // MACHINE_FEATURES tpm2 (local.conf here): linux-yocto gets the TPM 2.0 kernel features.
    const kernel = bitbake(env, m, ['-e', 'linux-yocto']);
    ok(t, 'bitbake -e linux-yocto', kernel);
    const kernelSrc = bbVar(kernel.output, 'SRC_URI');
    t.regex(kernelSrc, /file:\/\/xtt-tpm2\.scc/, 'xtt-tpm2.scc in linux-yocto SRC_URI');
    if (m.machine === 'qemux86-64') t.notRegex(kernelSrc, /xtt-tpm2-spi\.scc/, 'SPI TIS only on arm');
    else t.regex(kernelSrc, /file:\/\/xtt-tpm2-spi\.scc/, 'SPI TIS on arm');
  });

  yoctoTest(`${m.machine}: fetch and unpack from the premirror (git mirror, npmsw), then bitbake -e`, (t) => {
    const { env } = t.context;
    ok(t, 'bitbake xtt-agent -c fetch', bitbake(env, m, ['xtt-agent', '-c', 'fetch']));
    ok(t, 'bitbake xtt-agent -c unpack', bitbake(env, m, ['xtt-agent', '-c', 'unpack', '-f']));
    const e = bitbake(env, m, ['-e', 'xtt-agent']);
    ok(t, 'bitbake -e xtt-agent', e);
    t.context.envs.set(m.name, e.output);
    const workdir = bbVar(e.output, 'WORKDIR');
    const head = git(['-C', env.src, 'rev-parse', 'HEAD']).trim();
    t.is(bbVar(e.output, 'SRCREV'), head, 'SRCREV is the commit checked out where the layer sits');
    t.true(existsSync(join(workdir, 'git', 'agent', 'main.ts')), 'the git source unpacked into S');
    t.true(existsSync(join(workdir, 'npm', 'node_modules', 'yargs', 'package.json')), 'npmsw unpacked yargs');
    t.true(
      existsSync(join(workdir, 'npm', 'node_modules', 'esbuild-wasm', 'esbuild.wasm')),
      'esbuild-wasm unpacked',
    );
  });

  yoctoTest(`${m.machine}: the recipe's do_compile and do_install (bitbake -e) install the agent`, (t) => {
    const { env } = t.context;
    const e = t.context.envs.get(m.name);
    if (!e) return t.fail('bitbake -e of the previous step missing');
    const bindir = bbVar(e, 'bindir');
    const libdir = bbVar(e, 'nonarch_libdir');
    const unitdir = bbVar(e, 'systemd_system_unitdir');
    // A scratch WORKDIR with the unpacked sources; the expanded task code points into it.
    const { result, image: d } = installRecipeTree(env, e, `scratch-${m.name}`);
    ok(t, 'do_compile + do_install', result);

    const agentDir = join(d, libdir, 'xtt-agent');
    t.true(existsSync(join(agentDir, 'xtt-agent.js')), 'bundle installed');
    const unit = readFileSync(join(d, unitdir, 'xtt-agent.service'), 'utf8');
    const source = readFileSync(join(REPO, 'systemd', 'xtt-agent.service'), 'utf8');
    const expected = source
      .split('/usr/bin/node ')
      .join(`${bindir}/node `)
      .split('/usr/lib/xtt-agent/')
      .join(`${libdir}/xtt-agent/`);
    t.is(unit, expected, 'the unit is systemd/xtt-agent.service with the recipe paths');
    t.regex(unit, new RegExp(`^ExecStart=${bindir}/node .* ${libdir}/xtt-agent/xtt-agent\\.js run$`, 'm'));
    t.regex(
      readFileSync(join(d, bindir, 'xtt-agent'), 'utf8'),
      new RegExp(`exec ${bindir}/node ${libdir}/xtt-agent/xtt-agent\\.js`),
    );

    // koffi: only the target's prebuilt, for the target's machine and ELF class.
    const koromix = join(agentDir, 'node_modules', '@koromix');
    t.deepEqual(readdirSync(koromix), [m.koffiDir.split('/')[0]]);
    const native = join(koromix, m.koffiDir, 'koffi.node');
    const header = execFileSync('readelf', ['-h', native], { encoding: 'utf8' });
    t.regex(header, m.elfMachine, `koffi.node machine:\n${header}`);
    t.regex(header, new RegExp(`Class:\\s+${m.elfClass}`));
    if (m.machine === 'qemuarm') t.regex(header, /hard-float ABI/, 'armhf koffi');

    const config = JSON.parse(readFileSync(join(d, 'etc', 'xtt-agent', 'config.json'), 'utf8'));
    t.deepEqual(config, {
      server: { host: '10.0.2.2', port: 4444 },
      interface: 'eth0',
      tpm: '/dev/tpmrm0',
      suite: 1,
    });
    t.true(existsSync(join(d, bbVar(e, 'nonarch_base_libdir'), 'udev', 'rules.d', '60-xtt-agent-tpm.rules')));
    for (const f of ['sysusers.d', 'tmpfiles.d']) t.true(existsSync(join(d, libdir, f, 'xtt-agent.conf')), f);

    if (m.machine === 'qemux86-64') {
      // The host is x86-64 too: the installed bundle runs with koffi loaded.
      const help = execFileSync('node', [join(agentDir, 'xtt-agent.js'), '--help'], { encoding: 'utf8' });
      t.regex(help, /xtt-agent/);
    }
  });
}

yoctoTest('populate_lic: the agent licence and every shipped npm package licence', (t) => {
  const { env, recipe } = t.context;
  const r = bitbake(env, X86, ['-b', recipe, '-c', 'populate_lic', '-f']);
  ok(t, 'bitbake -b xtt-agent_git.bb -c populate_lic', r);
  const e = t.context.envs.get(X86.name);
  if (!e) return t.fail('bitbake -e missing');
  // The licence directory the image's manifest is made from (populate_lic's sstate output).
  const licdir = join(bbVar(e, 'LICENSE_DIRECTORY'), bbVar(e, 'SSTATE_PKGARCH'), 'xtt-agent');
  const files = readdirSync(licdir);
  const md5s = new Set(
    files.map((f) =>
      createHash('md5')
        .update(readFileSync(join(licdir, f)))
        .digest('hex'),
    ),
  );
  const wanted = [...bbVar(e, 'LIC_FILES_CHKSUM').matchAll(/file:\/\/(\S+);md5=([0-9a-f]{32})/g)];
  t.true(wanted.length > 10, 'LIC_FILES_CHKSUM lists the npm packages');
  // BitBake keeps one copy of identical texts, so compare by content.
  for (const [, path, md5] of wanted)
    t.true(md5s.has(md5 ?? ''), `${path} (md5 ${md5}) not among ${files.join(', ')}`);
  t.true(
    files.includes('generic_ISC') && files.includes('generic_MIT') && files.includes('generic_Apache-2.0'),
    files.join(', '),
  );
  t.is(
    readFileSync(join(licdir, 'recipeinfo'), 'utf8').match(/^LICENSE: (.*)$/m)?.[1],
    'Apache-2.0 & ISC & MIT',
  );
});

const REFUSALS: Array<{ conf: Configuration; reason: RegExp }> = [
  {
    conf: { name: 'qemuriscv64', machine: 'qemuriscv64' },
    reason: /riscv64-poky-linux.*not in COMPATIBLE_HOST/,
  },
  {
    conf: { name: 'qemuarmv5', machine: 'qemuarmv5' },
    reason: /32-bit arm needs ARMv7 or later with hard float/,
  },
  {
    conf: { name: 'production', machine: 'genericx86-64' },
    reason: /XTT_AGENT_SERVER is not set: set XTT_AGENT_SERVER = "host:port"/,
  },
  {
    conf: { name: 'production', machine: 'genericx86-64', extra: 'XTT_AGENT_SERVER = "enf.example.com"' },
    reason: /XTT_AGENT_SERVER must be HOST:PORT/,
  },
  {
    conf: {
      name: 'production',
      machine: 'genericx86-64',
      extra: 'XTT_AGENT_SERVER = "enf.example.com:4444"\nXTT_AGENT_SUITE = "5"',
    },
    reason: /XTT_AGENT_SUITE must be 1, 2, 3 or 4, got "5"/,
  },
];
// A production machine with the ODM's settings (local.conf, as the README shows): the recipe parses,
// the settings reach config.json through do_compile, and XTT_AGENT_SRCREV pins the commit.
yoctoTest('a production machine with the ODM settings and a pinned commit', (t) => {
  const pinned = 'c0ffee00'.repeat(5);
  const conf: Configuration = {
    name: 'production',
    machine: 'genericx86-64',
    extra: [
      'XTT_AGENT_SERVER = "enf.example.com:4444"',
      'XTT_AGENT_INTERFACE = "end0"',
      'XTT_AGENT_SUITE = "3"',
      'XTT_AGENT_TPM = "/dev/tpmrm1"',
      `XTT_AGENT_SRCREV = "${pinned}"`,
    ].join('\n'),
  };
  const e = bitbake(t.context.env, conf, ['-b', t.context.recipe, '-e']);
  ok(t, 'bitbake -b xtt-agent_git.bb -e (genericx86-64)', e);
  t.is(bbVar(e.output, 'SRCREV'), pinned);
  // do_compile writes config.json with one printf of the JSON the recipe's Python made.
  const line = /^\s*printf '%s\\n' '(\{.*\})' > \S+\/config\.json$/m.exec(
    bbShellFunction(e.output, 'do_compile'),
  );
  t.truthy(line, 'do_compile writes config.json');
  t.deepEqual(
    JSON.parse(line![1]!),
    { server: { host: 'enf.example.com', port: 4444 }, interface: 'end0', tpm: '/dev/tpmrm1', suite: 3 },
    'the ODM settings, and nothing else, in config.json',
  );
});

for (const { conf, reason } of REFUSALS) {
  yoctoTest(`refused at parse time: ${conf.machine}${conf.extra ? ` with ${conf.extra}` : ''}`, (t) => {
    // -b parses the base configuration and this one recipe only: the refusal is a parse-time
    // SkipRecipe, so a full parse of every recipe for this machine would show nothing more.
    refused(t, conf.name, bitbake(t.context.env, conf, ['-b', t.context.recipe, '-c', 'fetch']), reason);
  });
}

// devtool, as the layer README describes it: `devtool modify` makes the source tree the recipe's
// (externalsrc); the git entry leaves SRC_URI and the npmsw one stays, so the npm packages
// (licences, the compiler) still unpack. Offline, devtool cannot extract the source itself (its
// do_patch needs quilt-native built from source downloads), so the tree is a clone given with -n;
// `devtool build` needs nodejs-native, equally impossible: the recipe's do_compile and do_install
// as `bitbake -e` expands them under devtool run instead, on the workspace tree with an edit in it.
const DEVTOOL: Configuration = {
  name: 'devtool',
  machine: 'qemux86-64',
  extra: META_OE_MASK,
  workspace: true,
};

yoctoTest(
  'devtool modify: the workspace tree is the source, npmsw stays, an edit reaches the bundle',
  (t) => {
    const { env } = t.context;
    const build = buildDir(env, DEVTOOL);
    const workspace = join(build, 'workspace');
    const inBuild = (cmd: string): BitbakeResult =>
      asBitbakeUser(env, `cd '${env.poky}' && . ./oe-init-build-env '${build}' >/dev/null && ${cmd}`);
    if (!existsSync(join(workspace, 'conf', 'layer.conf'))) {
      ok(t, 'devtool create-workspace', inBuild(`devtool create-workspace --create-only '${workspace}'`));
      buildDir(env, DEVTOOL);
    }
    // A previous run's modify (what `devtool reset` would remove, without its full parse).
    rmSync(join(workspace, 'sources', 'xtt-agent'), { recursive: true, force: true });
    if (existsSync(join(workspace, 'appends')))
      for (const f of readdirSync(join(workspace, 'appends')))
        if (f.startsWith('xtt-agent')) rmSync(join(workspace, 'appends', f));

    // The developer's clone (of the mirror the recipe fetches from) given to devtool with -n:
    // devtool's own extraction runs do_patch, whose quilt-native needs source downloads.
    const srctree = join(workspace, 'sources', 'xtt-agent');
    ok(t, 'git clone', inBuild(`git clone -q '${env.gitMirror}' '${srctree}'`));
    ok(t, 'devtool modify -n xtt-agent', inBuild(`devtool modify -n xtt-agent '${srctree}'`));
    t.true(existsSync(join(srctree, 'agent', 'main.ts')), 'the source is in the workspace');
    const marker = `xtt-devtool-edit-${Date.now()}`;
    writeFileSync(
      join(srctree, 'agent', 'main.ts'),
      `${readFileSync(join(srctree, 'agent', 'main.ts'), 'utf8')}(globalThis as Record<string, unknown>).xttDevtoolEdit = '${marker}';\n`,
    );

    const e = bitbake(env, DEVTOOL, ['-e', 'xtt-agent']);
    ok(t, 'bitbake -e xtt-agent (devtool workspace)', e);
    t.is(bbVar(e.output, 'EXTERNALSRC'), srctree);
    t.is(bbVar(e.output, 'S'), srctree);
    const srcUri = bbVar(e.output, 'SRC_URI');
    t.notRegex(srcUri, /git:\/\//, 'the git source left SRC_URI');
    t.regex(srcUri, /npmsw:\/\/\S+npm-shrinkwrap\.json/, 'the npm packages stay in SRC_URI');
    ok(
      t,
      'bitbake xtt-agent -c unpack (devtool)',
      bitbake(env, DEVTOOL, ['xtt-agent', '-c', 'unpack', '-f']),
    );
    ok(
      t,
      'bitbake xtt-agent -c populate_lic (devtool)',
      bitbake(env, DEVTOOL, ['xtt-agent', '-c', 'populate_lic', '-f']),
    );

    const { result, image } = installRecipeTree(env, e.output, 'scratch-devtool');
    ok(t, 'do_compile + do_install on the workspace tree', result);
    const bundle = readFileSync(
      join(image, bbVar(e.output, 'nonarch_libdir'), 'xtt-agent', 'xtt-agent.js'),
      'utf8',
    );
    t.true(bundle.includes(marker), 'the edit in the workspace is in the installed bundle');
    t.false(existsSync(join(srctree, 'node_modules')), 'nothing written into the source tree');
  },
);
