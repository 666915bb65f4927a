// Tests for agent/sd-notify.ts with a real AF_UNIX datagram receiver (bound through koffi: Node
// has no unix datagram sockets), on a filesystem path and in the abstract namespace.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SdNotifier, encodeSockaddrUn, sdNotify, watchdogIntervalMs } from '../../../agent/sd-notify.ts';
import { notifyReceiver as receiver } from '../../helpers/notify-receiver.ts';

test('no NOTIFY_SOCKET: nothing is sent and nothing fails', (t) => {
  t.deepEqual(sdNotify('READY=1', {}), { sent: false, reason: 'NOTIFY_SOCKET unset' });
  const failures: string[] = [];
  const n = new SdNotifier({}, (w) => failures.push(w));
  n.ready();
  n.status('x');
  n.stopping();
  t.deepEqual(failures, []);
});

test('READY, STATUS and STOPPING reach a filesystem-path socket', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sdnotify-'));
  const path = join(dir, 'notify');
  const r = receiver(path);
  try {
    const n = new SdNotifier({ NOTIFY_SOCKET: path });
    n.status('provisioning: handshake\nwith server');
    n.ready('identity fd00::1 on eth0');
    n.stopping();
    t.deepEqual(r.drain(), [
      'STATUS=provisioning: handshake with server',
      'READY=1\nSTATUS=identity fd00::1 on eth0',
      'STOPPING=1',
    ]);
  } finally {
    r.close();
    rmSync(dir, { recursive: true });
  }
});

test('abstract-namespace socket (@name)', (t) => {
  const name = `@xtt-agent-test-${process.pid}`;
  const r = receiver(name);
  try {
    t.deepEqual(sdNotify('READY=1', { NOTIFY_SOCKET: name }), { sent: true });
    t.deepEqual(r.drain(), ['READY=1']);
  } finally {
    r.close();
  }
});

test('a socket nobody listens on is reported as a failure, not thrown', (t) => {
  const failures: [string, string][] = [];
  const n = new SdNotifier({ NOTIFY_SOCKET: '/nonexistent/notify' }, (w, why) => failures.push([w, why]));
  n.ready();
  t.deepEqual(failures, [['READY', 'ENOENT']]);
});

test('watchdog: interval from WATCHDOG_USEC, only for our pid; first ping at start', (t) => {
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '20000000' }), 20000);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid) }), 20000);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }), undefined);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '0' }), undefined);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: 'abc' }), undefined);
  t.is(watchdogIntervalMs({}), undefined);

  const name = `@xtt-agent-wd-${process.pid}`;
  const r = receiver(name);
  try {
    const n = new SdNotifier({ NOTIFY_SOCKET: name, WATCHDOG_USEC: '60000000' });
    n.startWatchdog();
    n.startWatchdog(); // idempotent
    n.stopping();
    t.deepEqual(r.drain(), ['WATCHDOG=1', 'STOPPING=1']);
    const off = new SdNotifier({ NOTIFY_SOCKET: name });
    off.startWatchdog();
    t.deepEqual(r.drain(), []);
  } finally {
    r.close();
  }
});

test('extendWatchdog: one ping with the new WATCHDOG_USEC, and the pings stop; nothing without a watchdog', (t) => {
  const name = `@xtt-agent-wd3-${process.pid}`;
  const r = receiver(name);
  try {
    const n = new SdNotifier({ NOTIFY_SOCKET: name, WATCHDOG_USEC: '60000000' });
    n.startWatchdog();
    n.extendWatchdog(600_000);
    t.deepEqual(r.drain(), ['WATCHDOG=1', 'WATCHDOG=1\nWATCHDOG_USEC=600000000']);
    const off = new SdNotifier({ NOTIFY_SOCKET: name });
    off.extendWatchdog(600_000);
    t.deepEqual(r.drain(), []);
  } finally {
    r.close();
  }
});

test('watchdog pings repeat at half the interval', async (t) => {
  const name = `@xtt-agent-wd2-${process.pid}`;
  const r = receiver(name);
  try {
    const n = new SdNotifier({ NOTIFY_SOCKET: name, WATCHDOG_USEC: '40000' }); // 40 ms: pings every 20 ms
    n.startWatchdog();
    await new Promise((res) => setTimeout(res, 200));
    n.stopWatchdog();
    t.true(r.drain().filter((m) => m === 'WATCHDOG=1').length >= 3);
  } finally {
    r.close();
  }
});

test('sockaddr_un encoding: path has a NUL and counts it, abstract does not; bad values rejected', (t) => {
  const p = encodeSockaddrUn('/run/x');
  t.is(p.length, 2 + 7);
  t.deepEqual([...p.addr.subarray(0, 9)], [1, 0, 47, 114, 117, 110, 47, 120, 0]);
  const a = encodeSockaddrUn('@ab');
  t.is(a.length, 2 + 3);
  t.deepEqual([...a.addr.subarray(0, 5)], [1, 0, 0, 97, 98]);
  t.throws(() => encodeSockaddrUn('relative'));
  t.throws(() => encodeSockaddrUn('@'));
  t.throws(() => encodeSockaddrUn('/' + 'x'.repeat(108)));
  t.throws(() => sdNotify('A=\0', { NOTIFY_SOCKET: '@x' }));
});
