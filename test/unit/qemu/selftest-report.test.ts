// qemu/selftest-report.ts: the self-test report as the guest prints it (including a marker that
// shares its line with the getty's login prompt), the guest-to-host time mapping, and fields that
// are missing or malformed (undefined, never guessed).
import test from 'ava';
import type { ConsoleLine } from '../../../qemu/console-log.ts';
import { parseSelftest } from '../../../qemu/selftest-report.ts';

const at = (atMs: number, text: string): ConsoleLine => ({ atMs, text });

const active = [
  at(1000, '[  OK  ] Started something.'),
  at(60_000, 'xtt-dev-1 login: XTT-SELFTEST multi-user uptime-ms=50000 reached-ms=45000'),
  at(60_010, 'XTT-SELFTEST node=v20.20.2'),
  at(60_020, 'XTT-SELFTEST tpmrm0=present mode=660'),
  at(60_030, 'XTT-SELFTEST tpm-getrandom=ok'),
  at(60_040, 'XTT-SELFTEST agent=installed'),
  at(60_050, 'XTT-SELFTEST agent-state=active exit=0 restarts=0'),
  at(60_060, 'XTT-SELFTEST agent-ready-ms=44000'),
  at(60_070, 'XTT-SELFTEST agent-resident-kb=0 procs=0'),
  at(60_075, 'XTT-SELFTEST agent-peak-rss-mb run=61.5 handoff=44'),
  at(60_080, 'XTT-SELFTEST agent-status {"provisioned":true,"identity":"fd00:e2e:1:2::5","prefixLength":64}'),
  at(60_090, 'XTT-SELFTEST eth0-ipv6=fd00:e2e:1:2::5/64'),
  at(60_100, 'XTT-SELFTEST done'),
  at(70_000, 'XTT-SELFTEST node=v18.0.0'),
];

test('parses a full report and maps guest times onto the host power-on clock', (t) => {
  const r = parseSelftest(active);
  t.is(r.multiUserMs, 60_000 - 50_000 + 45_000);
  t.is(r.agentReadyMs, 60_000 - 50_000 + 44_000);
  t.is(r.node, 'v20.20.2', 'stops at done');
  t.is(r.tpmrm0, 'present mode=660');
  t.is(r.tpmGetRandom, 'ok');
  t.true(r.agentInstalled);
  t.is(r.agentState, 'active');
  t.is(r.agentExitStatus, 0);
  t.is(r.agentResidentKb, 0);
  t.is(r.agentResidentProcs, 0);
  t.deepEqual(r.agentPeakRssMb, { run: 61.5, handoff: 44 });
  t.deepEqual(r.agentStatus, { provisioned: true, identity: 'fd00:e2e:1:2::5', prefixLength: 64 });
  t.deepEqual(r.eth0Ipv6, ['fd00:e2e:1:2::5/64']);
  t.deepEqual(r.agentJournal, []);
});

test('a refused agent: failed state, exit status, no address, journal lines kept in order', (t) => {
  const r = parseSelftest([
    at(5, 'XTT-SELFTEST multi-user uptime-ms=40000 reached-ms=39000'),
    at(6, 'XTT-SELFTEST agent=installed'),
    at(7, 'XTT-SELFTEST agent-state=failed exit=6 restarts=0'),
    at(8, 'XTT-SELFTEST agent-ready-ms=none'),
    at(9, 'XTT-SELFTEST agent-status none'),
    at(10, 'XTT-SELFTEST eth0-ipv6=none'),
    at(11, 'XTT-SELFTEST agent-journal server refused: batch revoked'),
    at(12, 'XTT-SELFTEST agent-journal Main process exited, status=6'),
    at(13, 'XTT-SELFTEST done'),
  ]);
  t.is(r.agentState, 'failed');
  t.is(r.agentExitStatus, 6);
  t.is(r.agentReadyMs, undefined);
  t.is(r.agentStatus, undefined);
  t.deepEqual(r.eth0Ipv6, []);
  t.deepEqual(r.agentJournal, ['server refused: batch revoked', 'Main process exited, status=6']);
});

test('missing or malformed fields stay undefined; `from` skips an earlier boot', (t) => {
  const r = parseSelftest(
    [
      at(1, 'XTT-SELFTEST multi-user uptime-ms=abc reached-ms=100'),
      at(2, 'XTT-SELFTEST agent-resident-kb=none procs=0'),
      at(2, 'XTT-SELFTEST agent-peak-rss-mb run=none handoff=4x'),
      at(3, 'XTT-SELFTEST agent-status {not json'),
      at(4, 'XTT-SELFTEST done'),
      ...active,
    ],
    0,
  );
  t.is(r.multiUserMs, undefined, 'no uptime, no mapping');
  t.is(r.agentResidentKb, undefined);
  t.deepEqual(r.agentPeakRssMb, { run: undefined, handoff: undefined });
  t.is(r.agentStatus, undefined);
  t.false(r.agentInstalled);
  t.is(parseSelftest([at(1, 'XTT-SELFTEST done'), ...active], 1).agentResidentKb, 0);
});
