// Reads the test image's self-test report (image/guest/selftest.mjs, XTT-SELFTEST lines on the
// serial console) into typed fields, and maps the guest's monotonic timestamps onto the host's
// power-on clock. A marker may share its line with the serial getty's login prompt, so markers
// are searched anywhere in a line. Missing or malformed fields are undefined, never guessed.
import type { ConsoleLine } from './console-log.ts';

export const SELFTEST_MULTI_USER = /XTT-SELFTEST multi-user /;
export const SELFTEST_DONE = 'XTT-SELFTEST done';

export interface SelftestReport {
  /** Host ms since power-on when multi-user.target was reached (from systemd's timestamp). */
  readonly multiUserMs: number | undefined;
  readonly node: string | undefined;
  /** 'present mode=660' or 'missing'. */
  readonly tpmrm0: string | undefined;
  readonly tpmGetRandom: string | undefined;
  readonly agentInstalled: boolean;
  /** systemd ActiveState of xtt-agent.service. */
  readonly agentState: string | undefined;
  readonly agentExitStatus: number | undefined;
  /** Host ms since power-on of the agent's READY=1, when it is active. */
  readonly agentReadyMs: number | undefined;
  /** Sum of VmRSS over the processes left in the agent unit's cgroup (0 once it exited). */
  readonly agentResidentKb: number | undefined;
  readonly agentResidentProcs: number | undefined;
  /** Peak RSS (MB) the agent's `run` and `handoff` processes logged at their end, this boot. */
  readonly agentPeakRssMb: { run: number | undefined; handoff: number | undefined };
  /** `xtt-agent status --json` as printed by the guest, when it printed one. */
  readonly agentStatus: Record<string, unknown> | undefined;
  readonly eth0Ipv6: string[];
  readonly agentJournal: string[];
}

const MARK = 'XTT-SELFTEST ';

function num(v: string | undefined): number | undefined {
  return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

/** Parses the report from console lines (the first complete report at or after `from`). */
export function parseSelftest(lines: readonly ConsoleLine[], from = 0): SelftestReport {
  const fields: { key: string; rest: string; atMs: number }[] = [];
  for (const line of lines.slice(from)) {
    const at = line.text.indexOf(MARK);
    if (at < 0) continue;
    const body = line.text.slice(at + MARK.length);
    const sep = body.search(/[= ]/);
    const key = sep < 0 ? body : body.slice(0, sep);
    fields.push({ key, rest: sep < 0 ? '' : body.slice(sep + 1), atMs: line.atMs });
    if (key === 'done') break;
  }
  const get = (key: string): string | undefined => fields.find((f) => f.key === key)?.rest;
  const mu = fields.find((f) => f.key === 'multi-user');
  const kv = Object.fromEntries(
    (mu?.rest ?? '').split(' ').flatMap((p) => {
      const i = p.indexOf('=');
      return i > 0 ? [[p.slice(0, i), p.slice(i + 1)]] : [];
    }),
  ) as Record<string, string | undefined>;
  const uptimeMs = num(kv['uptime-ms']);
  // The guest's boot clock read at host time mu.atMs was uptimeMs: shift guest times by the difference.
  const toHost = (guestMs: number | undefined): number | undefined =>
    guestMs === undefined || uptimeMs === undefined || mu === undefined
      ? undefined
      : mu.atMs - uptimeMs + guestMs;
  const state = get('agent-state');
  const exit = /exit=([0-9]+)/.exec(state ?? '')?.[1];
  let agentStatus: Record<string, unknown> | undefined;
  const statusText = get('agent-status');
  if (statusText !== undefined && statusText.startsWith('{')) {
    try {
      agentStatus = JSON.parse(statusText) as Record<string, unknown>;
    } catch {
      agentStatus = undefined;
    }
  }
  const addrs = get('eth0-ipv6');
  const resident = /^([0-9]+) procs=([0-9]+)$/.exec(get('agent-resident-kb') ?? '');
  const peak = get('agent-peak-rss-mb') ?? '';
  const mb = (what: string): number | undefined => {
    const v = new RegExp(`${what}=([0-9]+(?:\\.[0-9]+)?)(?:\\s|$)`).exec(peak)?.[1];
    return v === undefined ? undefined : Number(v);
  };
  return {
    multiUserMs: toHost(num(kv['reached-ms'])),
    node: get('node'),
    tpmrm0: get('tpmrm0'),
    tpmGetRandom: get('tpm-getrandom'),
    agentInstalled: get('agent') === 'installed',
    agentState: state?.split(' ')[0],
    agentExitStatus: num(exit),
    agentReadyMs: toHost(num(get('agent-ready-ms'))),
    agentResidentKb: num(resident?.[1]),
    agentResidentProcs: num(resident?.[2]),
    agentPeakRssMb: { run: mb('run'), handoff: mb('handoff') },
    agentStatus,
    eth0Ipv6: addrs === undefined || addrs === 'none' ? [] : addrs.split(','),
    agentJournal: fields.filter((f) => f.key === 'agent-journal').map((f) => f.rest),
  };
}
