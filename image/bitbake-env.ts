// A real BitBake (poky and meta-oe scarthgap from ../shared/yocto) with image/yocto-layer added, as
// an ODM would set it up, offline: BitBake runs as an unprivileged user (it refuses root), with
// BB_NO_NETWORK and premirrors filled by the ordinary clients only (`npm pack` for the npm
// tarballs of the recipe's npm-shrinkwrap.json, `git clone --mirror` for this repository).
//
// Everything lives outside the repository in one cache directory (XTT_YOCTO_CACHE, default
// /var/tmp/xtt-zero-touch-yocto) that may persist between runs: the unpacked layers (keyed by the
// tarballs' sha256), DL_DIR, the premirror and BitBake's parse cache (one per configuration), so a
// warm run parses in seconds. The repository is copied there as a fresh git repository (tracked
// and untracked, not ignored files of the working tree, one commit), so what BitBake builds is the
// working tree, the recipe's default source (the checkout the layer sits in) is that commit, and
// the bitbake user can read it wherever the clone lives.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BB_USER = 'xtt-bitbake';
const POKY_TARBALL = 'poky-scarthgap-1d54d1c4.tar.xz';
const META_OE_TARBALL = 'meta-openembedded-scarthgap-bec75506-meta-oe.tar.xz';
/** Host tools poky's sanity check insists on (its documented Debian package list, .ci/run). */
const HOST_TOOLS = [
  'gawk',
  'wget',
  'git',
  'diffstat',
  'unzip',
  'makeinfo',
  'gcc',
  'chrpath',
  'socat',
  'cpio',
  'python3',
  'xz',
  'zstd',
  'lz4',
  'file',
  'readelf',
  'runuser',
  'useradd',
  'node',
  'npm',
];

export interface Configuration {
  /** Names the build directory and parse cache. */
  name: string;
  machine: string;
  /** Extra local.conf lines. */
  extra?: string;
  /** Adds the build directory's devtool workspace layer to BBLAYERS once it exists (made by
   * `devtool create-workspace --create-only`), so devtool leaves bblayers.conf and with it
   * BitBake's parse cache as they are. */
  workspace?: boolean;
}

export interface YoctoEnv {
  cache: string;
  poky: string;
  metaOe: string;
  /** The copy of the working tree (a one-commit git repository); the layer is in it. */
  src: string;
  layer: string;
  premirror: string;
  /** The git mirror of src the recipe is pointed at through XTT_AGENT_GIT_URI. */
  gitMirror: string;
  dlDir: string;
  home: string;
}

export interface BitbakeResult {
  code: number;
  output: string;
}

/** Why BitBake cannot run here, or undefined. */
export function yoctoMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (needed to create the unprivileged bitbake user)';
  if (!sharedYoctoDir()) return `../shared/yocto/${POKY_TARBALL} not found beside the repository`;
  const missing = HOST_TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) return `host tools missing: ${missing.join(' ')} (poky's host packages, see .ci/run)`;
  const locales = spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^en_US\.utf-?8$/im.test(locales)) return 'locale en_US.UTF-8 not generated (locale-gen, see .ci/run)';
  return undefined;
}

/** ../shared/yocto beside the clone (CI), or beside the worktree's parent. */
export function sharedYoctoDir(): string | undefined {
  for (const up of ['..', join('..', '..')]) {
    const dir = resolve(REPO, up, 'shared', 'yocto');
    if (existsSync(join(dir, POKY_TARBALL)) && existsSync(join(dir, META_OE_TARBALL))) return dir;
  }
  return undefined;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
    ...opts,
  });
}

/** git as root on trees the bitbake user owns (git refuses other users' repositories otherwise). */
export function git(args: string[]): string {
  return run('git', ['-c', 'safe.directory=*', ...args]);
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Unpacks a tarball into dir once per tarball content (a stamp holds its sha256). */
function unpackOnce(tarball: string, dir: string): void {
  const stamp = join(dir, '.xtt-unpacked');
  const sum = sha256File(tarball);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sum) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xJf', tarball, '-C', dir]);
  writeFileSync(stamp, sum);
}

/** Copies the working tree's files (tracked, and untracked not ignored) into dst, keeping mtimes
 * of files whose content did not change so BitBake's parse cache stays valid for them. */
function syncWorkingTree(dst: string): void {
  const listed = git(['-C', REPO, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((f) => f && existsSync(join(REPO, f)));
  const wanted = new Set(listed);
  for (const f of listed) {
    const from = join(REPO, f);
    const to = join(dst, f);
    const data = readFileSync(from);
    if (existsSync(to) && readFileSync(to).equals(data)) continue;
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, data);
    chmodSync(
      to,
      execFileSync('stat', ['-c', '%a', from], { encoding: 'utf8' }).trim() === '755' ? 0o755 : 0o644,
    );
  }
  // Files deleted from the working tree go from the copy too.
  const present = git(['-C', dst, 'ls-files', '-z']).split('\0').filter(Boolean);
  for (const f of present) if (!wanted.has(f)) rmSync(join(dst, f), { force: true });
}

/** The tarballs of the recipe's npm-shrinkwrap.json in premirror/npm, by `npm pack`. */
function fillNpmPremirror(layer: string, dir: string): void {
  const shrinkwrap = JSON.parse(
    readFileSync(join(layer, 'recipes-provisioning', 'xtt-agent', 'files', 'npm-shrinkwrap.json'), 'utf8'),
  ) as { packages: Record<string, { version?: string }> };
  mkdirSync(dir, { recursive: true });
  const specs: string[] = [];
  for (const [key, p] of Object.entries(shrinkwrap.packages)) {
    if (!key || !p.version) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    // npm pack's file name, which is also BitBake's npm2/ name (npm_filename in fetch2/npm.py).
    const file = `${name.replace(/^@/, '').replace('/', '-')}-${p.version}.tgz`;
    if (!existsSync(join(dir, file)) && !specs.includes(`${name}@${p.version}`))
      specs.push(`${name}@${p.version}`);
  }
  if (specs.length) run('npm', ['pack', '--silent', '--pack-destination', dir, ...specs]);
}

export function prepareYocto(): YoctoEnv {
  const shared = sharedYoctoDir();
  if (!shared) throw new Error('../shared/yocto not found');
  const cache = resolve(process.env.XTT_YOCTO_CACHE ?? '/var/tmp/xtt-zero-touch-yocto');
  const env: YoctoEnv = {
    cache,
    poky: join(cache, 'poky'),
    metaOe: join(cache, 'meta-openembedded'),
    src: join(cache, 'src'),
    layer: join(cache, 'src', 'image', 'yocto-layer'),
    premirror: join(cache, 'premirror'),
    gitMirror: join(cache, 'premirror', 'xtt-zero-touch.git'),
    dlDir: join(cache, 'downloads'),
    home: join(cache, 'home'),
  };
  mkdirSync(cache, { recursive: true });
  if (spawnSync('id', ['-u', BB_USER]).status !== 0) {
    run('useradd', ['--system', '--home-dir', env.home, '--shell', '/bin/sh', BB_USER]);
  }
  mkdirSync(env.home, { recursive: true });
  unpackOnce(join(shared, POKY_TARBALL), env.poky);
  unpackOnce(join(shared, META_OE_TARBALL), env.metaOe);

  mkdirSync(env.src, { recursive: true });
  if (!existsSync(join(env.src, '.git'))) git(['-C', env.src, 'init', '-q', '-b', 'main']);
  syncWorkingTree(env.src);
  const commit = ['-C', env.src, '-c', 'user.name=test:yocto', '-c', 'user.email=test-yocto@localhost'];
  git([...commit, 'add', '-A']);
  git([...commit, 'commit', '-q', '--allow-empty', '-m', 'working tree for test:yocto']);

  fillNpmPremirror(env.layer, join(env.premirror, 'npm'));
  rmSync(env.gitMirror, { recursive: true, force: true });
  mkdirSync(env.dlDir, { recursive: true });
  for (const d of [env.src, env.premirror, env.home, env.dlDir]) run('chown', ['-R', `${BB_USER}:`, d]);
  // As the bitbake user, who owns src (git serves no other user's repository).
  run('runuser', ['-u', BB_USER, '--', 'git', 'clone', '-q', '--mirror', env.src, env.gitMirror]);
  for (const d of [env.poky, env.metaOe]) {
    // Once per unpack: the bitbake user writes bitbake's own caches under the layers.
    if (
      readdirSync(d).length &&
      execFileSync('stat', ['-c', '%U', d], { encoding: 'utf8' }).trim() !== BB_USER
    ) {
      run('chown', ['-R', `${BB_USER}:`, d]);
    }
  }
  run('chown', [`${BB_USER}:`, cache]);
  return env;
}

/** The build directory of a configuration, with its conf/ written. */
export function buildDir(env: YoctoEnv, conf: Configuration): string {
  const dir = join(env.cache, `build-${conf.name}`);
  mkdirSync(join(dir, 'conf'), { recursive: true });
  const layers = [
    join(env.poky, 'meta'),
    join(env.poky, 'meta-poky'),
    join(env.poky, 'meta-yocto-bsp'),
    join(env.metaOe, 'meta-oe'),
    env.layer,
  ];
  if (conf.workspace && existsSync(join(dir, 'workspace', 'conf', 'layer.conf')))
    layers.push(join(dir, 'workspace'));
  writeIfChanged(
    join(dir, 'conf', 'bblayers.conf'),
    `POKY_BBLAYERS_CONF_VERSION = "2"\nBBPATH = "\${TOPDIR}"\nBBFILES ?= ""\nBBLAYERS ?= "${layers.join(' ')}"\n`,
  );
  writeIfChanged(
    join(dir, 'conf', 'local.conf'),
    [
      `MACHINE = "${conf.machine}"`,
      'DISTRO = "poky"',
      'CONF_VERSION = "2"',
      'INIT_MANAGER = "systemd"',
      'MACHINE_FEATURES:append = " tpm2"',
      `DL_DIR = "${env.dlDir}"`,
      `SSTATE_DIR = "${env.cache}/sstate"`,
      'BB_NO_NETWORK = "1"',
      'BB_DEFAULT_EVENTLOG = ""',
      'BB_NUMBER_THREADS = "2"',
      // npm tarballs from the premirror npm pack filled; this repository from its git mirror.
      `PREMIRRORS:prepend = "https://registry.npmjs.org/.* file://${env.premirror}/npm/ "`,
      `XTT_AGENT_GIT_URI = "git://${env.gitMirror};protocol=file;nobranch=1"`,
      conf.extra ?? '',
      '',
    ].join('\n'),
  );
  chownTree(dir);
  return dir;
}

/**
 * Gives the build directory to the BitBake user. A BitBake server of the previous call may still be
 * shutting down there and remove its sockets (hashserve.sock) while chown walks the tree: files
 * that vanish are no error, anything else is.
 */
function chownTree(dir: string): void {
  try {
    run('chown', ['-R', `${BB_USER}:`, dir]);
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '');
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0 || !lines.every((l) => l.endsWith(': No such file or directory'))) throw e;
  }
}

function writeIfChanged(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

/** Runs a shell command line as the bitbake user with BitBake's environment for conf set up. */
export function asBitbakeUser(env: YoctoEnv, script: string, cwd = env.home): BitbakeResult {
  const r = spawnSync(
    'runuser',
    [
      '-u',
      BB_USER,
      '--',
      'env',
      '-i',
      `HOME=${env.home}`,
      `PATH=${process.env.PATH}`,
      'LANG=en_US.UTF-8',
      'LC_ALL=en_US.UTF-8',
      'bash',
      '-c',
      script,
    ],
    { cwd, encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `bitbake ARGS` in the configuration's build directory, as the unprivileged user. */
export function bitbake(env: YoctoEnv, conf: Configuration, args: string[]): BitbakeResult {
  const dir = buildDir(env, conf);
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return asBitbakeUser(
    env,
    `cd '${env.poky}' && . ./oe-init-build-env '${dir}' >/dev/null && bitbake ${quoted}`,
  );
}

/** A variable's value from `bitbake -e` output (VAR="value" or export VAR="value" lines). */
export function bbVar(envOutput: string, name: string): string {
  const m = new RegExp(`^(?:export )?${name}="(.*)"$`, 'm').exec(envOutput);
  if (!m || m[1] === undefined) throw new Error(`bitbake -e printed no ${name}`);
  return m[1];
}

/** A shell function's expanded body from `bitbake -e` output. */
export function bbShellFunction(envOutput: string, name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{\\n([\\s\\S]*?)\\n\\}$`, 'm').exec(envOutput);
  if (!m || m[1] === undefined) throw new Error(`bitbake -e printed no shell function ${name}`);
  return m[1];
}

export interface InstalledTree {
  /** The task code's exit status and output. */
  result: BitbakeResult;
  /** The scratch WORKDIR. */
  scratch: string;
  /** Its image/ directory: what do_install put into ${D}. */
  image: string;
}

/**
 * Runs the recipe's own do_compile and do_install, as `bitbake -e xtt-agent` (envOutput) expands
 * them, as the bitbake user in a scratch copy of WORKDIR (the unpacked git and npm sources and the
 * udev rule), with the host's node standing in for nodejs-native. S is copied only when it lies
 * in WORKDIR: under `devtool modify` it is the workspace's source tree (externalsrc), which the
 * task code then reads in place, as BitBake would.
 */
export function installRecipeTree(env: YoctoEnv, envOutput: string, scratchName: string): InstalledTree {
  const workdir = bbVar(envOutput, 'WORKDIR');
  const s = bbVar(envOutput, 'S');
  const scratch = join(env.cache, scratchName);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  for (const f of readdirSync(workdir)) {
    // The sources and files of SRC_URI; not BitBake's own temp/, build/, image/ or package dirs.
    if (['npm', '60-xtt-agent-tpm.rules'].includes(f) || join(workdir, f) === s)
      cpSync(join(workdir, f), join(scratch, f), { recursive: true });
  }
  const body = (name: string): string => bbShellFunction(envOutput, name).split(workdir).join(scratch);
  const script = [
    'set -e',
    `mkdir -p '${scratch}/build' '${scratch}/image'`,
    `cd '${scratch}/build'`,
    `do_compile() {\n${body('do_compile')}\n}`,
    `do_install() {\n${body('do_install')}\n}`,
    'do_compile',
    'do_install',
  ].join('\n');
  writeFileSync(join(scratch, 'tasks.sh'), script);
  run('chown', ['-R', `${BB_USER}:`, scratch]);
  const result = asBitbakeUser(env, `sh '${scratch}/tasks.sh'`, scratch);
  return { result, scratch, image: join(scratch, 'image') };
}

/**
 * The x86-64 tree the layer installs, for the QEMU e2e tests: `bitbake -b` of the recipe (the base
 * configuration and this recipe only, so no full parse) unpacks the sources from the premirror,
 * `bitbake -b -e` expands the tasks, and installRecipeTree runs them. Throws with BitBake's output
 * when a step fails.
 */
export function recipeTreeX86(scratchName: string): string {
  const env = prepareYocto();
  const conf: Configuration = { name: 'qemux86-64', machine: 'qemux86-64' };
  const recipe = join(env.layer, 'recipes-provisioning', 'xtt-agent', 'xtt-agent_git.bb');
  const step = (args: string[]): string => {
    const r = bitbake(env, conf, args);
    if (r.code !== 0)
      throw new Error(`bitbake ${args.join(' ')} exited ${r.code}:\n${r.output.slice(-4000)}`);
    return r.output;
  };
  step(['-b', recipe, '-c', 'unpack', '-f']);
  const tree = installRecipeTree(env, step(['-b', recipe, '-e']), scratchName);
  if (tree.result.code !== 0)
    throw new Error(
      `do_compile + do_install exited ${tree.result.code}:\n${tree.result.output.slice(-4000)}`,
    );
  return tree.image;
}
