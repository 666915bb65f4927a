// image/install.sh, the install path shared by the QEMU test image and the Yocto recipe: run with
// a bundle and systemd files laid out like the real ones in a temp dir, then every missing-input
// branch (each must exit 2, name what is missing and leave DESTDIR untouched).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const script = join(import.meta.dirname, '..', '..', '..', 'image', 'install.sh');

interface Fixture {
  readonly dir: string;
  readonly bundle: string;
  readonly systemd: string;
  readonly dest: string;
}

function fixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'xtt-install-'));
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'node_modules', 'koffi'), { recursive: true });
  mkdirSync(join(bundle, 'node_modules', '@koromix', 'koffi-linux-x64', 'linux_x64'), { recursive: true });
  writeFileSync(join(bundle, 'xtt-agent.js'), '#!/usr/bin/env node\nconsole.log("agent")\n');
  writeFileSync(join(bundle, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(bundle, 'node_modules', 'koffi', 'index.js'), 'export default {}\n');
  writeFileSync(
    join(bundle, 'node_modules', '@koromix', 'koffi-linux-x64', 'linux_x64', 'koffi.node'),
    'ELF',
  );
  const systemd = join(dir, 'systemd');
  mkdirSync(systemd);
  writeFileSync(
    join(systemd, 'xtt-agent.service'),
    '[Service]\nExecStart=/usr/bin/node /usr/lib/xtt-agent/xtt-agent.js\n',
  );
  writeFileSync(join(systemd, 'xtt-agent.sysusers.conf'), 'u xtt-agent - "XTT agent"\n');
  writeFileSync(
    join(systemd, 'xtt-agent.tmpfiles.conf'),
    'd /var/lib/xtt-agent 0700 xtt-agent xtt-agent -\n',
  );
  return { dir, bundle, systemd, dest: join(dir, 'dest') };
}

function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('installs bundle, launcher, unit, sysusers, tmpfiles and a default config', (t) => {
  const f = fixture();
  t.teardown(() => rmSync(f.dir, { recursive: true, force: true }));
  const r = run([f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd]);
  t.is(r.status, 0, r.stderr);
  const same = (installed: string, source: string): void => {
    t.is(readFileSync(join(f.dest, installed), 'utf8'), readFileSync(source, 'utf8'), installed);
  };
  same('usr/lib/xtt-agent/xtt-agent.js', join(f.bundle, 'xtt-agent.js'));
  same('usr/lib/xtt-agent/node_modules/koffi/index.js', join(f.bundle, 'node_modules', 'koffi', 'index.js'));
  t.true(
    existsSync(join(f.dest, 'usr/lib/xtt-agent/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node')),
  );
  same('usr/lib/systemd/system/xtt-agent.service', join(f.systemd, 'xtt-agent.service'));
  same('usr/lib/sysusers.d/xtt-agent.conf', join(f.systemd, 'xtt-agent.sysusers.conf'));
  same('usr/lib/tmpfiles.d/xtt-agent.conf', join(f.systemd, 'xtt-agent.tmpfiles.conf'));
  const launcher = join(f.dest, 'usr/bin/xtt-agent');
  t.is(statSync(launcher).mode & 0o777, 0o755);
  t.regex(
    readFileSync(launcher, 'utf8'),
    /^exec \/usr\/bin\/node \/usr\/lib\/xtt-agent\/xtt-agent\.js "\$@"$/m,
  );
  const config = JSON.parse(readFileSync(join(f.dest, 'etc/xtt-agent/config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  t.is(config.tpm, '/dev/tpmrm0');
  t.is(statSync(join(f.dest, 'usr/lib/xtt-agent/xtt-agent.js')).mode & 0o022, 0, 'not group/world writable');
});

test('honours the directory options (Yocto paths) and --config', (t) => {
  const f = fixture();
  t.teardown(() => rmSync(f.dir, { recursive: true, force: true }));
  const config = join(f.dir, 'config.json');
  writeFileSync(config, '{"server":{"host":"10.0.2.2","port":4444}}\n');
  const r = run([
    f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd, '--config', config,
    '--unitdir', '/lib/systemd/system', '--libdir', '/usr/lib64', '--bindir', '/usr/sbin',
    '--sysconfdir', '/etc', '--node', '/opt/node/bin/node',
  ]); // prettier-ignore
  t.is(r.status, 0, r.stderr);
  t.true(existsSync(join(f.dest, 'lib/systemd/system/xtt-agent.service')));
  t.false(existsSync(join(f.dest, 'usr/lib/systemd/system/xtt-agent.service')));
  t.regex(
    readFileSync(join(f.dest, 'usr/sbin/xtt-agent'), 'utf8'),
    /^exec \/opt\/node\/bin\/node \/usr\/lib64\/xtt-agent\/xtt-agent\.js /m,
  );
  t.true(existsSync(join(f.dest, 'usr/lib64/xtt-agent/xtt-agent.js')));
  // The unit runs what was installed: the node and library paths of this install.
  t.is(
    readFileSync(join(f.dest, 'lib/systemd/system/xtt-agent.service'), 'utf8'),
    '[Service]\nExecStart=/opt/node/bin/node /usr/lib64/xtt-agent/xtt-agent.js\n',
  );
  t.is(readFileSync(join(f.dest, 'etc/xtt-agent/config.json'), 'utf8'), readFileSync(config, 'utf8'));
});

const failures: [string, (f: Fixture) => string[], RegExp][] = [
  ['no bundle directory', (f) => [f.dest, '--bundle', join(f.dir, 'nope'), '--systemd-dir', f.systemd], /agent bundle directory not found: .*nope/],
  ['no xtt-agent.js', (f) => (rmSync(join(f.bundle, 'xtt-agent.js')), [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd]), /no xtt-agent\.js/],
  ['no koffi', (f) => (rmSync(join(f.bundle, 'node_modules'), { recursive: true }), [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd]), /no koffi/],
  ['no unit', (f) => (rmSync(join(f.systemd, 'xtt-agent.service')), [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd]), /systemd file not found: .*xtt-agent\.service/],
  ['no tmpfiles', (f) => (rmSync(join(f.systemd, 'xtt-agent.tmpfiles.conf')), [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd]), /xtt-agent\.tmpfiles\.conf/],
  ['no config file', (f) => [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd, '--config', join(f.dir, 'none.json')], /config file not found/],
  ['relative unitdir', (f) => [f.dest, '--bundle', f.bundle, '--systemd-dir', f.systemd, '--unitdir', 'lib/systemd'], /must be absolute/],
  ['unknown option', (f) => [f.dest, '--bundel', f.bundle], /unknown option --bundel/],
  ['option without value', (f) => [f.dest, '--bundle'], /--bundle needs a value/],
]; // prettier-ignore

for (const [name, args, message] of failures) {
  test(`fails clearly with exit 2 and no DESTDIR: ${name}`, (t) => {
    const f = fixture();
    t.teardown(() => rmSync(f.dir, { recursive: true, force: true }));
    const r = run(args(f));
    t.is(r.status, 2);
    t.regex(r.stderr, message);
    t.false(existsSync(f.dest), 'nothing written');
  });
}

test('usage without arguments', (t) => {
  const r = run([]);
  t.is(r.status, 64);
  t.regex(r.stderr, /install\.sh DESTDIR/);
});
