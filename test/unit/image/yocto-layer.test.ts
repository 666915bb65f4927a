// image/yocto-layer (meta-xtt-agent), checked without BitBake: the layer's structure and
// layer.conf, every file:// a recipe or bbappend references exists on its FILESPATH, the kernel
// feature and its gate, the recipe's classes and variables, and the npm inputs generated from
// package-lock.json (files/npm-shrinkwrap.json, xtt-agent-npm.inc) are current. BitBake itself
// runs in test/yocto (npm run test:yocto): parse, graphs, fetch, licences, do_compile/do_install.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const repo = join(import.meta.dirname, '..', '..', '..');
const layer = join(repo, 'image', 'yocto-layer');
const recipeDir = join(layer, 'recipes-provisioning', 'xtt-agent');
const recipePath = join(recipeDir, 'xtt-agent_git.bb');
const recipe = readFileSync(recipePath, 'utf8');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Joins BitBake continuation lines so each assignment is one line. */
function logicalLines(text: string): string[] {
  return text.replace(/\\\n/g, ' ').split('\n');
}

/** The value of `NAME = "..."` (also ?=, ??=, +=, :append); undefined if absent. */
function assignment(text: string, name: string): string | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${escaped}\\s*(?:\\?\\?=|\\?=|\\+=|\\.=|=)\\s*"(.*)"\\s*$`);
  for (const line of logicalLines(text)) {
    const m = re.exec(line.trim());
    if (m) return (m[1] ?? '').replace(/\s+/g, ' ').trim();
  }
  return undefined;
}

test('layer structure: layer.conf, README, recipes by purpose, oeqa case', (t) => {
  for (const f of [
    'conf/layer.conf',
    'README.md',
    'recipes-provisioning/xtt-agent/xtt-agent_git.bb',
    'recipes-provisioning/xtt-agent/xtt-agent-npm.inc',
    'recipes-provisioning/xtt-agent/files/npm-shrinkwrap.json',
    'recipes-provisioning/packagegroups/packagegroup-xtt-agent.bb',
    'recipes-core/images/xtt-agent-image.bb',
    'recipes-kernel/linux/linux-yocto_%.bbappend',
    'recipes-kernel/linux/linux-yocto-xtt-tpm2.inc',
    'recipes-kernel/linux/files/xtt-tpm2.scc',
    'recipes-kernel/linux/files/xtt-tpm2.cfg',
    'lib/oeqa/runtime/cases/xtt_agent.py',
  ]) {
    t.true(existsSync(join(layer, f)), f);
  }
  const oeqa = readFileSync(join(layer, 'lib/oeqa/runtime/cases/xtt_agent.py'), 'utf8');
  t.regex(oeqa, /class XttAgentTest\(OERuntimeTestCase\)/);
  t.regex(oeqa, /def test_provisioning\(self\)/);
});

test('layer.conf: own collection, priority, pattern, series compat, dependencies, oeqa lib', (t) => {
  const conf = readFileSync(join(layer, 'conf', 'layer.conf'), 'utf8');
  const collection = assignment(conf, 'BBFILE_COLLECTIONS');
  t.is(collection, 'xtt-agent-layer');
  t.is(assignment(conf, `BBFILE_PATTERN_${collection}`), '^${LAYERDIR}/');
  t.regex(assignment(conf, `BBFILE_PRIORITY_${collection}`) ?? '', /^\d+$/);
  const compat = (assignment(conf, `LAYERSERIES_COMPAT_${collection}`) ?? '').split(' ');
  t.deepEqual(compat, ['scarthgap'], 'only the series test:yocto validates');
  t.deepEqual((assignment(conf, `LAYERDEPENDS_${collection}`) ?? '').split(' ').sort(), [
    'core',
    'openembedded-layer',
  ]);
  t.regex(conf, /^addpylib \$\{LAYERDIR\}\/lib oeqa$/m);
  t.regex(conf, /^BBPATH \.= ":\$\{LAYERDIR\}"$/m);
});

test('every file:// a recipe or bbappend references exists on its FILESPATH', (t) => {
  const recipes = walk(layer).filter((p) => /\.(bb|bbappend|inc)$/.test(p));
  t.true(recipes.length >= 5);
  let checked = 0;
  for (const path of recipes) {
    const text = readFileSync(path, 'utf8');
    const dir = dirname(path);
    const pn = basename(path).replace(/(_[^_]*)?\.(bb|bbappend|inc)$/, '');
    const searchDirs = [join(dir, pn), join(dir, 'files'), dir];
    for (const m of text.matchAll(/FILESEXTRAPATHS:prepend := "\$\{THISDIR\}\/([^:"]+):"/g)) {
      searchDirs.unshift(join(dir, m[1] ?? ''));
    }
    const srcUri = logicalLines(text).filter((l) => /^SRC_URI\b/.test(l.trim()));
    for (const line of srcUri) {
      for (const m of line.matchAll(/(?<![a-z])file:\/\/([^;\s"']+)/g)) {
        const name = m[1] ?? '';
        t.false(name.includes('${'), `${relative(layer, path)}: file://${name} must be a plain name`);
        t.true(
          searchDirs.some((d) => existsSync(join(d, name))),
          `${relative(layer, path)}: file://${name} not found in ${searchDirs.map((d) => relative(layer, d))}`,
        );
        checked++;
      }
    }
    for (const m of text.matchAll(/^require (\S+)$/gm)) {
      const req = m[1] ?? '';
      t.true(
        req === 'recipes-core/images/core-image-minimal.bb' || existsSync(join(dir, req)),
        `${relative(layer, path)}: require ${req} is neither poky's core image nor beside the recipe`,
      );
    }
  }
  t.true(checked >= 2, 'the recipe and the kernel include both reference files');
});

test('kernel feature: TPM 2.0 TIS and CRB (+ SPI TIS on arm), only with MACHINE_FEATURES tpm2', (t) => {
  const files = join(layer, 'recipes-kernel/linux/files');
  const cfg = readFileSync(join(files, 'xtt-tpm2.cfg'), 'utf8');
  for (const opt of ['CONFIG_TCG_TPM', 'CONFIG_TCG_TIS', 'CONFIG_TCG_CRB'])
    t.regex(cfg, new RegExp(`^${opt}=y$`, 'm'));
  t.regex(readFileSync(join(files, 'xtt-tpm2-spi.cfg'), 'utf8'), /^CONFIG_TCG_TIS_SPI=y$/m);
  t.regex(readFileSync(join(files, 'xtt-tpm2.scc'), 'utf8'), /^kconf hardware xtt-tpm2\.cfg$/m);
  t.regex(readFileSync(join(files, 'xtt-tpm2-spi.scc'), 'utf8'), /^kconf hardware xtt-tpm2-spi\.cfg$/m);
  // The include, not SRC_URI, is conditional: without tpm2 the kernel's signatures stay unchanged.
  const append = readFileSync(join(layer, 'recipes-kernel/linux/linux-yocto_%.bbappend'), 'utf8');
  t.regex(
    append,
    /^include \$\{@bb\.utils\.contains\('MACHINE_FEATURES', 'tpm2', 'linux-yocto-xtt-tpm2\.inc', '', d\)\}$/m,
  );
  t.notRegex(append, /^(SRC_URI|FILESEXTRAPATHS)/m);
  const inc = readFileSync(join(layer, 'recipes-kernel/linux/linux-yocto-xtt-tpm2.inc'), 'utf8');
  t.regex(inc, /^SRC_URI:append = " file:\/\/xtt-tpm2\.scc file:\/\/xtt-tpm2\.cfg"$/m);
  t.regex(inc, /^SRC_URI:append:aarch64 = " file:\/\/xtt-tpm2-spi\.scc file:\/\/xtt-tpm2-spi\.cfg"$/m);
});

test('recipe: systemd and useradd classes, explicit service, nodejs, sources from git and npmsw', (t) => {
  t.regex(recipe, /^inherit systemd useradd$/m);
  t.is(assignment(recipe, 'SYSTEMD_SERVICE:${PN}'), 'xtt-agent.service');
  t.is(assignment(recipe, 'SYSTEMD_AUTO_ENABLE:${PN}'), 'enable');
  t.is(assignment(recipe, 'RDEPENDS:${PN}'), 'nodejs');
  // What each network manager path needs at run time (agent/network-manager/), by PACKAGECONFIG.
  t.is(
    assignment(recipe, 'PACKAGECONFIG'),
    "${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'networkd', '', d)}",
  );
  t.is(assignment(recipe, 'PACKAGECONFIG[networkd]'), ',,,systemd-conf');
  t.is(assignment(recipe, 'PACKAGECONFIG[networkmanager]'), ',,,networkmanager networkmanager-nmcli');
  t.is(assignment(recipe, 'DEPENDS'), 'nodejs-native');
  const unit = readFileSync(join(repo, 'systemd', 'xtt-agent.service'), 'utf8');
  const user = /^User=(\S+)$/m.exec(unit)?.[1];
  const groups = /^SupplementaryGroups=(.+)$/m.exec(unit)?.[1]?.split(' ') ?? [];
  t.truthy(user);
  const useradd = assignment(recipe, 'USERADD_PARAM:${PN}') ?? '';
  t.regex(useradd, new RegExp(` ${user}$`), "useradd creates the unit's User=");
  for (const g of groups) t.regex(useradd, new RegExp(`--groups ${g}\\b`), `useradd puts it in ${g}`);
  t.is(
    assignment(recipe, 'SRC_URI'),
    '${XTT_AGENT_GIT_URI} npmsw://${THISDIR}/files/npm-shrinkwrap.json;destsuffix=npm file://60-xtt-agent-tpm.rules',
  );
  t.regex(recipe, /^require xtt-agent-npm\.inc$/m);
  t.is(assignment(recipe, 'COMPATIBLE_HOST'), '(x86_64|aarch64|arm).*-linux(-gnueabi)?$');
  for (const [arch, koffi] of [['x86-64', 'x64'], ['aarch64', 'arm64'], ['arm', 'arm']]) {
    t.is(assignment(recipe, `KOFFI_ARCH:${arch}`), koffi);
  } // prettier-ignore
  // do_compile builds with esbuild-wasm on nodejs-native; no prebuilt agent is fetched.
  t.regex(
    recipe,
    /^\s+node \$\{B\}\/src\/scripts\/build\.mjs --wasm --arch \$\{KOFFI_ARCH\} --out \$\{B\}\/xtt-agent$/m,
  );
  t.notRegex(recipe, /https?:\/\//, 'no URL in the recipe');
});

test('the npm inputs of the recipe are those package-lock.json gives (yocto-shrinkwrap --check)', (t) => {
  const r = spawnSync('node', [join(repo, 'scripts', 'yocto-shrinkwrap.mjs'), '--check'], {
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  const inc = readFileSync(join(recipeDir, 'xtt-agent-npm.inc'), 'utf8');
  t.is(assignment(inc, 'LICENSE'), 'Apache-2.0 & ISC & MIT');
  t.regex(
    inc,
    /file:\/\/LICENSE;md5=89aea4e17d99a7cacdbeed46a0096b10/,
    'the repository LICENSE (Apache-2.0)',
  );
  for (const isc of ['yargs-parser', 'cliui', 'y18n', 'get-caller-file'])
    t.regex(inc, new RegExp(`node_modules/${isc}/`));
  const shrinkwrap = JSON.parse(readFileSync(join(recipeDir, 'files', 'npm-shrinkwrap.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string; integrity?: string }>;
  };
  for (const [key, p] of Object.entries(shrinkwrap.packages)) {
    if (!key) continue;
    t.regex(p.resolved ?? '', /^https:\/\/registry\.npmjs\.org\/.+\.tgz$/, key);
    t.regex(p.integrity ?? '', /^sha512-/, key);
  }
  t.truthy(shrinkwrap.packages['node_modules/esbuild-wasm'], 'the compiler is an npm input too');
  t.falsy(shrinkwrap.packages['node_modules/esbuild'], 'no build-host binary from npm');
  t.falsy(
    shrinkwrap.packages['node_modules/better-sqlite3'],
    "the server's dependencies are not the agent's",
  );
});

test('the layer holds no copy of systemd/ files: do_install runs image/install.sh on the checkout', (t) => {
  const copies = walk(layer).filter((p) => /xtt-agent\.(service|sysusers\.conf|tmpfiles\.conf)$/.test(p));
  t.deepEqual(copies, []);
  t.regex(recipe, /^\s+sh \$\{S\}\/image\/install\.sh \$\{D\} \\$/m, 'do_install runs the shared script');
  t.regex(recipe, /--systemd-dir \$\{S\}\/systemd \\/);
  t.regex(recipe, /--bindir \$\{bindir\} \\/);
  t.regex(recipe, /--libdir \$\{nonarch_libdir\} \\/);
  execFileSync('sh', ['-n', join(repo, 'image', 'install.sh')]);
});
