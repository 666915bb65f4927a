// Shared by the e2e tests that act inside a guest through the test image's control channel
// (qemu/guest-control.ts): run a command that must succeed, read eth0's global IPv6 addresses, and
// wait (with a generous bound, never a speed assertion) until the identity is back on eth0.
import type { ExecutionContext } from 'ava';
import type { Device } from '../../qemu/boot.ts';

/** Per-command bound: a loaded 2-core machine under TCG can take minutes for a restart. */
const COMMAND_MS = 300_000;
/** How long a manager may take to put the identity back after a reconfiguration. */
const RESTORE_MS = 300_000;

/** Runs one line of shell as root in the guest; the test fails unless it exits 0. */
export async function guestSh(t: ExecutionContext, device: Device, cmd: string): Promise<string> {
  const r = await device.control.exec(cmd, COMMAND_MS);
  t.is(r.status, 0, `${device.name}: \`${cmd}\`: ${r.output}`);
  return r.output;
}

export async function hasIdentityOnEth0(device: Device, identity: string): Promise<boolean> {
  const r = await device.control.exec('ip -6 -o addr show dev eth0 scope global', COMMAND_MS);
  return r.output.split('\n').some((l) => l.includes(` ${identity}/`));
}

/** Polls until `identity` is on eth0 again; fails the test naming the step after RESTORE_MS. */
export async function waitForIdentity(
  t: ExecutionContext,
  device: Device,
  identity: string,
  step: string,
): Promise<void> {
  const deadline = Date.now() + RESTORE_MS;
  while (!(await hasIdentityOnEth0(device, identity))) {
    if (Date.now() > deadline) {
      t.fail(`${device.name}: ${step}: ${identity} not back on eth0 within ${RESTORE_MS / 1000} s`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  t.pass(`${device.name}: ${step}: ${identity} on eth0`);
}

/** Number of processes left in xtt-agent.service's cgroup (0: nothing of the agent resident). */
export async function agentProcesses(t: ExecutionContext, device: Device): Promise<number> {
  const out = await guestSh(
    t,
    device,
    'cat /sys/fs/cgroup/system.slice/xtt-agent.service/cgroup.procs 2>/dev/null | wc -l',
  );
  return Number(out.trim());
}
