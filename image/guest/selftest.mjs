// Test image self-test (runs in the guest as xtt-image-selftest.service, after multi-user.target):
// prints XTT-SELFTEST markers on the serial console for qemu/boot.ts and test/e2e/boot.test.ts.
// It proves that the guest's Node runs and that /dev/tpmrm0 answers a real TPM2_GetRandom
// (TPM 2.0 Library Part 3, 16.1) through the kernel resource manager. When the agent is installed
// it reports the service's state (multi-user is only reached once xtt-agent is READY or failed),
// `xtt-agent status --json` (the identity, never key material), the global IPv6 addresses on eth0,
// the agent's resident memory, and on failure the last lines of its journal.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';

// Each line opens the serial port afresh with O_NOCTTY: the serial getty's vhangup() at start
// would otherwise hang up (EIO) or SIGHUP a writer that holds ttyS0 as its terminal. A line hit
// by the hangup in the short open window is written again. The journal gets a copy (stdout).
function say(line) {
  const text = `XTT-SELFTEST ${line}\n`;
  process.stdout.write(text);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd;
    try {
      fd = openSync('/dev/ttyS0', constants.O_WRONLY | constants.O_NOCTTY);
      writeSync(fd, text);
      return;
    } catch (err) {
      if (attempt === 2) process.stderr.write(`selftest: cannot write to ttyS0: ${err.message}\n`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
process.on('SIGHUP', () => process.stderr.write('selftest: SIGHUP ignored\n'));

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return (err.stdout ?? '').trim();
  }
}

// systemd's own monotonic timestamps (µs since boot) of reaching multi-user and of the agent's
// READY=1; with the uptime now, the host maps them onto its power-on clock.
const enteredMs = (unit) => {
  const v = run('systemctl', ['show', unit, '-p', 'ActiveEnterTimestampMonotonic', '--value']);
  return /^[1-9][0-9]*$/.test(v) ? Math.round(Number(v) / 1000) : 'none';
};
const multiUserMs = enteredMs('multi-user.target');
const uptimeMs = Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000);
say(`multi-user uptime-ms=${uptimeMs} reached-ms=${multiUserMs}`);
say(`node=${process.version}`);

const tpm = '/dev/tpmrm0';
if (!existsSync(tpm)) {
  say('tpmrm0=missing');
} else {
  say(`tpmrm0=present mode=${(statSync(tpm).mode & 0o777).toString(8)}`);
  // TPM2_GetRandom: tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom, bytesRequested 8.
  const cmd = Uint8Array.from([0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8]);
  const fd = openSync(tpm, 'r+');
  try {
    writeSync(fd, cmd);
    const rsp = new Uint8Array(4096);
    const n = readSync(fd, rsp);
    const view = new DataView(rsp.buffer, 0, n);
    const ok =
      n >= 12 && view.getUint32(2) === n && view.getUint32(6) === 0 && view.getUint16(10) === 8 && n === 20;
    say(
      ok
        ? 'tpm-getrandom=ok'
        : `tpm-getrandom=bad length=${n} rc=${n >= 10 ? view.getUint32(6).toString(16) : '?'}`,
    );
  } finally {
    closeSync(fd);
  }
}

const hasAgent = existsSync('/usr/lib/xtt-agent/xtt-agent.js');
say(`agent=${hasAgent ? 'installed' : 'absent'}`);
if (hasAgent) {
  const show = run('systemctl', [
    'show',
    'xtt-agent.service',
    '-p',
    'ActiveState,ExecMainStatus,MainPID,NRestarts',
  ]);
  const props = Object.fromEntries(show.split('\n').map((l) => l.split('=', 2)));
  say(`agent-state=${props.ActiveState} exit=${props.ExecMainStatus} restarts=${props.NRestarts}`);
  say(`agent-ready-ms=${props.ActiveState === 'active' ? enteredMs('xtt-agent.service') : 'none'}`);
  // What the agent leaves resident: every process still in its unit's cgroup (none after READY=1
  // unless the watcher was asked for), and the peak RSS each agent process logged at its end.
  const cgroup = run('systemctl', ['show', 'xtt-agent.service', '-p', 'ControlGroup', '--value']);
  const procs = cgroup
    ? run('cat', [`/sys/fs/cgroup${cgroup}/cgroup.procs`])
        .split('\n')
        .filter(Boolean)
    : [];
  const residentKb = procs.reduce((sum, pid) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(run('cat', [`/proc/${pid}/status`]));
    return sum + (m ? Number(m[1]) : 0);
  }, 0);
  say(`agent-resident-kb=${residentKb} procs=${procs.length}`);
  const journal = run('journalctl', ['-b', '-u', 'xtt-agent.service', '-o', 'cat', '--no-pager']);
  const peak = (what) => new RegExp(`${what} done \\(peak RSS ([0-9.]+) MB\\)`).exec(journal)?.[1] ?? 'none';
  say(`agent-peak-rss-mb run=${peak('run')} handoff=${peak('handoff')}`);
  say(`agent-status ${run('/usr/bin/xtt-agent', ['status', '--json']).replace(/\n/g, ' ') || 'none'}`);
  const addrs = run('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
  const globals = addrs.split('\n').flatMap((l) => /inet6 (\S+)/.exec(l)?.[1] ?? []);
  say(`eth0-ipv6=${globals.join(',') || 'none'}`);
  if (props.ActiveState !== 'active') {
    for (const line of run('journalctl', [
      '-b',
      '-u',
      'xtt-agent.service',
      '-n',
      '8',
      '-o',
      'cat',
      '--no-pager',
    ]).split('\n')) {
      say(`agent-journal ${line}`);
    }
  }
}
say('done');
