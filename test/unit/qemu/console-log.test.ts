// qemu/console-log.ts: line splitting across chunks (also inside a UTF-8 sequence), ANSI/CR
// stripping, the timestamped log file, and every way a marker wait ends (already seen, seen later,
// `from` index, timeout, fatal line, guest stopped).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLog, MarkerTimeoutError } from '../../../qemu/console-log.ts';

function makeLog(t: { teardown: (fn: () => void) => void }): ConsoleLog {
  const dir = mkdtempSync(join(tmpdir(), 'xtt-console-'));
  const log = new ConsoleLog(join(dir, 'console.log'), Date.now());
  t.teardown(() => {
    log.end('test over');
    rmSync(dir, { recursive: true, force: true });
  });
  return log;
}

test('splits lines across chunks, strips colours and CRs, keeps UTF-8 intact', (t) => {
  const log = makeLog(t);
  const ok = Buffer.from('\x1b[0;32m  OK  \x1b[0m] Reached target … Multi-User\r\nsecond', 'utf8');
  const cut = ok.indexOf(Buffer.from('…')) + 1; // inside the 3-byte ellipsis
  log.push(ok.subarray(0, cut));
  log.push(ok.subarray(cut));
  t.is(log.lines.length, 1);
  t.is(log.lines[0]?.text, '  OK  ] Reached target … Multi-User');
  log.push(Buffer.from(' line\n'));
  t.is(log.lines[1]?.text, 'second line');
});

test('the log file has one timestamped line per console line', (t) => {
  const log = makeLog(t);
  log.push(Buffer.from('a\nb\n'));
  log.end('done');
  const text = readFileSync(log.path, 'utf8').trimEnd().split('\n');
  t.is(text.length, 2);
  t.regex(text[0] ?? '', /^\[\s*\d+\.\d{3}\] a$/);
  t.regex(text[1] ?? '', /^\[\s*\d+\.\d{3}\] b$/);
});

test('waitFor resolves for a line already seen and for a later one, honouring `from`', async (t) => {
  const log = makeLog(t);
  log.push(Buffer.from('XTT-SELFTEST node=v20.1.0\n'));
  const seen = await log.waitFor('node=', { step: 'node', timeoutMs: 1000 });
  t.is(seen.text, 'XTT-SELFTEST node=v20.1.0');
  const later = log.waitFor(/node=v(\d+)/, { step: 'node again', timeoutMs: 1000, from: 1 });
  log.push(Buffer.from('XTT-SELFTEST node=v20.2.0\n'));
  t.is((await later).text, 'XTT-SELFTEST node=v20.2.0');
});

test('waitFor times out with a MarkerTimeoutError naming step, marker, log and last lines', async (t) => {
  const log = makeLog(t);
  log.push(Buffer.from('booting\n'));
  const err = await t.throwsAsync(log.waitFor('never', { step: 'reach READY', timeoutMs: 20 }), {
    instanceOf: MarkerTimeoutError,
  });
  t.is(err?.step, 'reach READY');
  t.regex(err?.message ?? '', /reach READY: no console line matching never within 20 ms/);
  t.true(err?.message.includes(log.path));
  t.regex(err?.message ?? '', /booting/);
});

test('waitFor fails at once on a fatal line, seen before or after the call', async (t) => {
  const log = makeLog(t);
  const pending = log.waitFor('never', { step: 'boot', timeoutMs: 5000, failOn: /Kernel panic/ });
  log.push(Buffer.from('Kernel panic - not syncing\n'));
  await t.throwsAsync(pending, { message: /boot: console shows "Kernel panic - not syncing"/ });
  await t.throwsAsync(log.waitFor('never', { step: 'again', timeoutMs: 5000, failOn: /panic/ }), {
    message: /again: console shows/,
  });
});

test('waitFor fails when the guest stops, pending or not', async (t) => {
  const log = makeLog(t);
  const pending = log.waitFor('READY', { step: 'ready', timeoutMs: 5000 });
  log.end('QEMU exited (code 1, signal null)');
  await t.throwsAsync(pending, { message: /ready: QEMU exited \(code 1, signal null\) before READY/ });
  await t.throwsAsync(log.waitFor('READY', { step: 'late', timeoutMs: 5000 }), {
    message: /late: QEMU exited/,
  });
});
