// qemu/main.ts argument parsing and device planning, and qemu/boot.ts's image manifest reader:
// defaults, every usage error, per-device TPM state directories, strict manifest fields.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageManifest } from '../../../qemu/boot.ts';
import { deviceSpecs, parseBootArgs, UsageError } from '../../../qemu/main.ts';

test('defaults: one device, multi-user marker, 300 s, smp 1, 512 MiB, stays up', (t) => {
  const o = parseBootArgs(['--image', '/img']);
  t.is(o.image, '/img');
  t.is(o.devices, 1);
  t.true(o.until.test('xtt-dev-1 login: XTT-SELFTEST multi-user uptime-ms=54510 reached-ms=50120'));
  t.is(o.timeoutMs, 300_000);
  t.is(o.smp, 1);
  t.is(o.memoryMiB, 512);
  t.false(o.powerOff);
  t.is(o.runDir, undefined);
});

test('each device gets its own run dir and TPM state; given states are used in order', (t) => {
  const o = parseBootArgs([
    '--image',
    '/img',
    '--devices',
    '3',
    '--tpm-state',
    '/s/a',
    '--tpm-state',
    '/s/b',
  ]);
  const specs = deviceSpecs(o, '/run');
  t.deepEqual(
    specs.map((s) => [s.name, s.runDir, s.tpmStateDir]),
    [
      ['xtt-dev-1', '/run/xtt-dev-1', '/s/a'],
      ['xtt-dev-2', '/run/xtt-dev-2', '/s/b'],
      ['xtt-dev-3', '/run/xtt-dev-3', '/run/xtt-dev-3/tpm'],
    ],
  );
});

const usage: [string, string[], RegExp][] = [
  ['no image', [], /--image DIR is required/],
  ['zero devices', ['--image', '/i', '--devices', '0'], /--devices must be a positive integer/],
  ['non-numeric timeout', ['--image', '/i', '--timeout', '5s'], /--timeout must be a positive integer/],
  ['more states than devices', ['--image', '/i', '--tpm-state', '/a', '--tpm-state', '/b'], /2 --tpm-state given for 1/],
  ['bad regex', ['--image', '/i', '--until', '('], /--until is not a valid regular expression/],
  ['unknown option', ['--image', '/i', '--kvm'], /kvm/],
]; // prettier-ignore

for (const [name, argv, message] of usage) {
  test(`usage error: ${name}`, (t) => {
    t.throws(() => parseBootArgs(argv), { instanceOf: UsageError, message });
  });
}

test('readImageManifest resolves paths and rejects missing or mistyped fields', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xtt-manifest-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = {
    key: 'k', kernel: '6.1.0-1-amd64', node: 'v20.1.0', agent: false, server: '10.0.2.2:4444',
    rootfs: 'rootfs.ext4', vmlinuz: 'vmlinuz', initrd: 'initrd.img', cmdline: 'root=/dev/vda',
  }; // prettier-ignore
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(good));
  const m = readImageManifest(dir);
  t.is(m.rootfs, join(dir, 'rootfs.ext4'));
  t.is(m.agent, false);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...good, initrd: '' }));
  t.throws(() => readImageManifest(dir), { message: /field initrd missing or not a string/ });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...good, agent: 'yes' }));
  t.throws(() => readImageManifest(dir), { message: /field agent missing or not a boolean/ });
});
