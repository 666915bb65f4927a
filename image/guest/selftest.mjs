// Test image self-test (runs in the guest as xtt-image-selftest.service, after multi-user.target):
// prints XTT-SELFTEST markers on the serial console for qemu/boot.ts and test/e2e/boot.test.ts.
// It proves that the guest's Node runs and that /dev/tpmrm0 answers a real TPM2_GetRandom
// (TPM 2.0 Library Part 3, 16.1) through the kernel resource manager.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';

const say = (line) => process.stdout.write(`XTT-SELFTEST ${line}\n`);

const uptime = readFileSync('/proc/uptime', 'utf8').split(' ')[0];
say(`multi-user uptime=${uptime}`);
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

say(`agent=${existsSync('/usr/lib/xtt-agent/xtt-agent.js') ? 'installed' : 'absent'}`);
say('done');
