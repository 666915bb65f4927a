// image/yocto-layer (meta-xtt-agent): the layer's structure and layer.conf, every file:// a recipe
// or bbappend references exists on its FILESPATH, the recipe's classes and variables, and the
// recipe's do_install run for real: the release artefact made by image/make-release.sh from a
// fresh bundle, koffi laid out as the npm tarballs unpack, the do_install body with BitBake's
// variables expanded, then checks that it went through image/install.sh, that the unit it
// installed is systemd/'s byte for byte, that FILES covers everything, and that the installed
// agent starts with the koffi the recipe assembled. BitBake itself is run by hand (README).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';

const repo = join(import.meta.dirname, '..', '..', '..');
const layer = join(repo, 'image', 'yocto-layer');
const recipeDir = join(layer, 'recipes-provisioning', 'xtt-agent');
const recipePath = join(recipeDir, 'xtt-agent_0.1.0.bb');
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
    'recipes-provisioning/xtt-agent/xtt-agent_0.1.0.bb',
    'recipes-provisioning/packagegroups/packagegroup-xtt-agent.bb',
    'recipes-core/images/xtt-agent-image.bb',
    'recipes-kernel/linux/linux-yocto_%.bbappend',
    'recipes-kernel/linux/linux-yocto-xtt-tpm2.inc',
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
  t.true(compat.includes('scarthgap'), 'scarthgap (5.0 LTS) supported');
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
      for (const m of line.matchAll(/file:\/\/([^;\s"']+)/g)) {
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
      t.is(m[1], 'recipes-core/images/core-image-minimal.bb', 'only poky core requires');
    }
  }
  t.true(checked >= 2, 'the recipe and the kernel include both reference files');
});

test('kernel fragment turns on TPM 2.0 TIS and CRB, only with DISTRO_FEATURES tpm2', (t) => {
  const cfg = readFileSync(join(layer, 'recipes-kernel/linux/files/xtt-tpm2.cfg'), 'utf8');
  for (const opt of ['CONFIG_TCG_TPM', 'CONFIG_TCG_TIS', 'CONFIG_TCG_CRB'])
    t.regex(cfg, new RegExp(`^${opt}=y$`, 'm'));
  // The include, not SRC_URI, is conditional: without tpm2 the kernel's signatures stay unchanged.
  const append = readFileSync(join(layer, 'recipes-kernel/linux/linux-yocto_%.bbappend'), 'utf8');
  t.regex(
    append,
    /^include \$\{@bb\.utils\.contains\('DISTRO_FEATURES', 'tpm2', 'linux-yocto-xtt-tpm2\.inc', '', d\)\}$/m,
  );
  t.notRegex(append, /^(SRC_URI|FILESEXTRAPATHS)/m);
  const inc = readFileSync(join(layer, 'recipes-kernel/linux/linux-yocto-xtt-tpm2.inc'), 'utf8');
  t.regex(inc, /^SRC_URI:append = " file:\/\/xtt-tpm2\.cfg"$/m);
});

test('recipe: systemd and useradd classes, explicit service, nodejs, checksummed sources', (t) => {
  t.regex(recipe, /^inherit systemd useradd$/m);
  t.is(assignment(recipe, 'SYSTEMD_SERVICE:${PN}'), 'xtt-agent.service');
  t.is(assignment(recipe, 'SYSTEMD_AUTO_ENABLE:${PN}'), 'enable');
  t.is(assignment(recipe, 'RDEPENDS:${PN}'), 'nodejs');
  const unit = readFileSync(join(repo, 'systemd', 'xtt-agent.service'), 'utf8');
  const user = /^User=(\S+)$/m.exec(unit)?.[1];
  const groups = /^SupplementaryGroups=(.+)$/m.exec(unit)?.[1]?.split(' ') ?? [];
  t.truthy(user);
  const useradd = assignment(recipe, 'USERADD_PARAM:${PN}') ?? '';
  t.regex(useradd, new RegExp(` ${user}$`), "useradd creates the unit's User=");
  for (const g of groups) t.regex(useradd, new RegExp(`--groups ${g}\\b`), `useradd puts it in ${g}`);
  t.regex(
    assignment(recipe, 'LIC_FILES_CHKSUM') ?? '',
    /Apache-2\.0;md5=[0-9a-f]{32}.*LICENSE\.txt;md5=[0-9a-f]{32}/,
  );
  const srcUri = assignment(recipe, 'SRC_URI') ?? '';
  const names = [...srcUri.matchAll(/;name=([^;\s]+)/g)].map((m) => m[1] ?? '');
  t.deepEqual(names, ['bundle', 'koffi', 'koffi-${KOFFI_ARCH}']);
  for (const name of ['bundle', 'koffi', 'koffi-x64', 'koffi-arm64', 'koffi-arm', 'koffi-riscv64']) {
    t.regex(assignment(recipe, `SRC_URI[${name}.sha256sum]`) ?? '', /^[0-9a-f]{64}$/, name);
  }
  for (const [arch, koffi] of [['x86-64', 'x64'], ['aarch64', 'arm64'], ['arm', 'arm'], ['riscv64', 'riscv64']]) {
    t.is(assignment(recipe, `KOFFI_ARCH:${arch}`), koffi);
  } // prettier-ignore
});

test('the layer holds no copy of systemd/ files: the unit comes from the release artefact', (t) => {
  const copies = walk(layer).filter((p) => /xtt-agent\.(service|sysusers\.conf|tmpfiles\.conf)$/.test(p));
  t.deepEqual(copies, []);
  t.regex(recipe, /^\s+sh \$\{S\}\/image\/install\.sh \$\{D\} \\$/m, 'do_install runs the shared script');
  t.regex(recipe, /--systemd-dir \$\{S\}\/systemd \\/);
});

/** The body of do_install() from the recipe, with the BitBake variables a target build would set. */
function expandDoInstall(vars: Record<string, string>): string {
  const m = /^do_install\(\) \{\n([\s\S]*?)^\}$/m.exec(recipe);
  if (!m?.[1]) throw new Error('no do_install() in the recipe');
  return m[1].replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`do_install uses \${${name}}, which the test does not define`);
    return v;
  });
}

test("do_install installs through image/install.sh: systemd/'s unit, koffi for the target, a running agent", (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'xtt-yocto-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const bundle = join(tmp, 'bundle');
  execFileSync('node', [join(repo, 'scripts', 'build.mjs'), '--out', bundle], { stdio: 'pipe' });
  // The release artefact exactly as the recipe fetches it.
  const unpack = join(tmp, 'unpack');
  mkdirSync(unpack);
  const sumLine = execFileSync(
    'sh',
    [join(repo, 'image', 'make-release.sh'), '--bundle', bundle, '--out', tmp],
    {
      encoding: 'utf8',
    },
  );
  t.regex(sumLine, /^SRC_URI\[bundle\.sha256sum\] = "[0-9a-f]{64}"$/m);
  execFileSync('tar', ['-xzf', join(tmp, 'xtt-agent-0.1.0.tar.gz'), '-C', unpack]);
  const s = join(unpack, 'xtt-agent-0.1.0');
  t.is(
    readFileSync(join(s, 'image', 'install.sh'), 'utf8'),
    readFileSync(join(repo, 'image', 'install.sh'), 'utf8'),
  );
  // npm tarballs unpack to package/; the recipe's subdir= puts them under npm/.
  cpSync(join(repo, 'node_modules', 'koffi'), join(unpack, 'npm', 'koffi', 'package'), { recursive: true });
  const arch = join(repo, 'node_modules', '@koromix', 'koffi-linux-x64');
  cpSync(arch, join(unpack, 'npm', 'koffi-arch', 'package'), { recursive: true });
  cpSync(join(recipeDir, 'files', '60-xtt-agent-tpm.rules'), join(unpack, '60-xtt-agent-tpm.rules'));

  const d = join(tmp, 'image');
  const vars = {
    S: s, D: d, B: join(tmp, 'build'), UNPACKDIR: unpack,
    KOFFI_ARCH: 'x64', KOFFI_BINARCH: 'x64', KOFFI_LIBC: 'linux',
    systemd_system_unitdir: '/lib/systemd/system', nonarch_libdir: '/usr/lib', nonarch_base_libdir: '/lib',
    bindir: '/usr/bin', sysconfdir: '/etc',
  }; // prettier-ignore
  mkdirSync(vars.B);
  const r = spawnSync('sh', ['-e', '-c', expandDoInstall(vars)], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /install\.sh: xtt-agent installed into /, 'went through image/install.sh');

  const unit = join(d, 'lib/systemd/system/xtt-agent.service');
  t.is(readFileSync(unit, 'utf8'), readFileSync(join(repo, 'systemd', 'xtt-agent.service'), 'utf8'));
  for (const [installed, source] of [
    ['usr/lib/sysusers.d/xtt-agent.conf', 'xtt-agent.sysusers.conf'],
    ['usr/lib/tmpfiles.d/xtt-agent.conf', 'xtt-agent.tmpfiles.conf'],
  ] as const) {
    t.is(readFileSync(join(d, installed), 'utf8'), readFileSync(join(repo, 'systemd', source), 'utf8'));
  }
  const native = join(d, 'usr/lib/xtt-agent/node_modules/@koromix/koffi-linux-x64');
  t.true(existsSync(join(native, 'linux_x64', 'koffi.node')));
  t.false(existsSync(join(native, 'musl_x64')), 'only the libc of the target');
  t.true(existsSync(join(d, 'lib/udev/rules.d/60-xtt-agent-tpm.rules')));

  // FILES:${PN} (plus the unit dir, which the systemd class adds) covers every installed file.
  const files = (assignment(recipe, 'FILES:${PN}') ?? '')
    .split(' ')
    .map((p) =>
      p.replace(/\$\{([a-z_]+)\}/g, (_, n: string) => (vars as Record<string, string>)[n] ?? `?${n}`),
    );
  files.push(vars.systemd_system_unitdir, vars.bindir);
  for (const f of walk(d).map((p) => '/' + relative(d, p))) {
    t.true(
      files.some((prefix) => f === prefix || f.startsWith(prefix + '/')),
      `${f} not in FILES`,
    );
  }

  // The agent as installed starts on this Node with the koffi the recipe assembled.
  const help = spawnSync('node', [join(d, 'usr/lib/xtt-agent/xtt-agent.js'), '--help'], { encoding: 'utf8' });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /xtt-agent/);
});
