// scripts/demo/options.ts: the demo's command line (defaults follow whether stdin is a terminal)
// and its usage errors.
import test from 'ava';
import { DEMO_EXIT, USAGE, UsageError, parseDemoArgs } from '../../../../scripts/demo/options.ts';

test('defaults: 3 devices, namespaces, wait on a terminal, exit without one', (t) => {
  t.deepEqual(parseDemoArgs([], true), {
    isQemu: false,
    shouldExit: false,
    isJson: false,
    devices: 3,
    keepWorkdir: false,
  });
  t.is((parseDemoArgs([], false) as { shouldExit: boolean }).shouldExit, true);
});

test('flags', (t) => {
  const o = parseDemoArgs(['--qemu', '--json', '--keep', '--devices', '5'], true);
  t.deepEqual(o, { isQemu: true, shouldExit: false, isJson: true, devices: 5, keepWorkdir: true });
  t.is((parseDemoArgs(['--devices=2'], true) as { devices: number }).devices, 2);
  t.is((parseDemoArgs(['--exit'], true) as { shouldExit: boolean }).shouldExit, true);
  t.is((parseDemoArgs(['--wait'], false) as { shouldExit: boolean }).shouldExit, false);
  t.is((parseDemoArgs(['--exit', '--wait'], true) as { shouldExit: boolean }).shouldExit, false);
  t.is(parseDemoArgs(['--json', '-h'], true), 'help');
});

test('usage errors name the argument', (t) => {
  for (const bad of [
    ['--devices'],
    ['--devices', '0'],
    ['--devices', '21'],
    ['--devices=x'],
    ['--devices', '-1'],
  ])
    t.throws(() => parseDemoArgs(bad, true), { instanceOf: UsageError, message: /--devices/ }, bad.join(' '));
  t.throws(() => parseDemoArgs(['--frob'], true), { instanceOf: UsageError, message: /'--frob'/ });
});

test('the usage text lists every exit code of the table', (t) => {
  for (const code of Object.values(DEMO_EXIT)) t.regex(USAGE, new RegExp(`\\b${code} `), `exit code ${code}`);
});
