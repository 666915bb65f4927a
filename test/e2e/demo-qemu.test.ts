// `npm run demo -- --qemu` for real: the same flow as the namespace demo with the devices booted as
// QEMU guests of the test image (image/, qemu/boot.ts) with their factory-provisioned swtpm TPMs.
// Asserts the JSON summary (3 devices READY with distinct identities inside the network's /64, each
// on the guest's eth0 per its self-test report, the server listing exactly those) and that nothing
// is left: no process naming the work directory (QEMU, swtpm, enf-server), no work directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { suiteRequires } from '../helpers/requirements.ts';

const test = suiteRequires('demo --qemu', ['root', 'swtpm', 'qemu', 'debootstrap', 'yocto']);
const REPO = join(import.meta.dirname, '..', '..');

interface Summary {
  ok: boolean;
  mode: string;
  workdir: string;
  network: { prefix: string };
  devices: { name: string; identity: string; addresses: string[] }[];
  serverDevices: { identity: string; pseudonym: string }[];
}

function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) out.push(`${pid}: ${cmd}`);
    } catch {
      // the process ended while we looked: nothing to report
    }
  }
  return out;
}

test('npm run demo -- --qemu --exit --json: 3 QEMU devices provision; nothing is left', (t) => {
  t.timeout(40 * 60_000, 'image build (cached after the first), factory provisioning, 3 TCG boots');
  const r = spawnSync('npm', ['run', '--silent', 'demo', '--', '--qemu', '--exit', '--json'], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 39 * 60_000,
    maxBuffer: 64 << 20,
  });
  t.is(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
  const s = JSON.parse(r.stdout.trim()) as Summary;
  t.true(s.ok);
  t.is(s.mode, 'qemu');
  t.is(s.devices.length, 3);
  const ids = s.devices.map((d) => d.identity);
  t.is(new Set(ids).size, 3, `distinct identities: ${ids.join(', ')}`);
  const prefix = s.network.prefix.replace(/::\/64$/, ':');
  for (const d of s.devices) {
    t.true(d.identity.startsWith(prefix), `${d.identity} in ${s.network.prefix}`);
    t.true(
      d.addresses.includes(`${d.identity}/64`),
      `${d.name}: on the guest's eth0 (${d.addresses.join(', ')})`,
    );
  }
  t.deepEqual(s.serverDevices.map((d) => d.identity).sort(), [...ids].sort());
  t.deepEqual(processesMentioning(s.workdir), []);
  t.false(existsSync(s.workdir));
});
