// sd_notify(3) without libsystemd: one AF_UNIX datagram per notification to $NOTIFY_SOCKET
// (a filesystem path, or '@name' for the abstract namespace), sent through koffi's libc binding.
// Protocol: newline-separated KEY=VALUE assignments (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1).
// The service runs with NotifyAccess=main, so it must be this (the main) process that sends.
// Notifications are best effort, as in libsystemd: a failure is reported to the caller, not thrown.
import { errnoName } from './netlink/constants.ts';
import { HOST_LE } from './netlink/codec.ts';
import { errno, libc } from './libc.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

/** The Notifier port the provisioning flow talks to (tests use test/fakes/notifier.ts). */
export interface Notifier {
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
  /** Starts WATCHDOG=1 pings at half the interval systemd asked for; no-op without a watchdog. */
  startWatchdog(): void;
  stopWatchdog(): void;
  /**
   * Last words of a process that exits while the unit is still starting: one WATCHDOG=1 and
   * WATCHDOG_USEC= (systemd >= 236) so that the watchdog, which keeps running through
   * ExecStartPost=, gives the next step `ms` instead of the interval meant for this event loop.
   * No-op without a watchdog.
   */
  extendWatchdog(ms: number): void;
}

export interface SendResult {
  sent: boolean;
  /** Why not, when not sent (errno name or "NOTIFY_SOCKET unset"). */
  reason?: string;
}

/** struct sockaddr_un for `$NOTIFY_SOCKET`, and the length to pass (abstract names have no NUL). */
export function encodeSockaddrUn(socketPath: string): { addr: Uint8Array; length: number } {
  const isAbstract = socketPath.startsWith('@');
  const name = new TextEncoder().encode(isAbstract ? socketPath.slice(1) : socketPath);
  if (!isAbstract && !socketPath.startsWith('/'))
    throw new RangeError('NOTIFY_SOCKET must be absolute or @abstract');
  const pathLen = isAbstract ? 1 + name.length : name.length + 1;
  if (name.length === 0 || pathLen > SUN_PATH_MAX)
    throw new RangeError(`NOTIFY_SOCKET length ${pathLen} invalid`);
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, HOST_LE);
  addr.set(name, isAbstract ? 3 : 2); // abstract: sun_path[0] = NUL, then the name
  return { addr, length: 2 + pathLen };
}

/** Watchdog interval in ms from WATCHDOG_USEC, honouring WATCHDOG_PID (sd_watchdog_enabled(3)). */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (!usec || !/^[1-9][0-9]*$/.test(usec)) return undefined;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== String(pid)) return undefined;
  return Number(usec) / 1000;
}

/** Sends one raw notification; the state text must not contain NUL. */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): SendResult {
  const target = env.NOTIFY_SOCKET;
  if (!target) return { sent: false, reason: 'NOTIFY_SOCKET unset' };
  if (state.includes('\0')) throw new RangeError('notification text contains NUL');
  const { addr, length } = encodeSockaddrUn(target);
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return { sent: false, reason: errnoName(errno()) };
  try {
    const msg = new TextEncoder().encode(state);
    const n = c.sendto(fd, msg, msg.length, MSG_NOSIGNAL, addr, length);
    if (n < 0) return { sent: false, reason: errnoName(errno()) };
    return { sent: true };
  } finally {
    c.close(fd);
  }
}

/** STATUS= text is one line: newlines would start new assignments. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ');
}

/** The real Notifier. `onFailure` hears each failed send (the flow logs it). */
export class SdNotifier implements Notifier {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly onFailure: (what: string, reason: string) => void = () => undefined,
  ) {}

  private send(state: string): void {
    const r = sdNotify(state, this.env);
    if (!r.sent && r.reason !== 'NOTIFY_SOCKET unset') this.onFailure(state.split('=')[0]!, r.reason ?? '');
  }

  ready(status?: string): void {
    this.send(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${oneLine(status)}`);
  }
  status(text: string): void {
    this.send(`STATUS=${oneLine(text)}`);
  }
  stopping(): void {
    this.stopWatchdog();
    this.send('STOPPING=1');
  }
  startWatchdog(): void {
    const ms = watchdogIntervalMs(this.env);
    if (ms === undefined || this.timer) return;
    this.send('WATCHDOG=1');
    this.timer = setInterval(() => this.send('WATCHDOG=1'), Math.max(1, Math.floor(ms / 2)));
    this.timer.unref();
  }
  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  extendWatchdog(ms: number): void {
    if (watchdogIntervalMs(this.env) === undefined) return;
    this.stopWatchdog();
    this.send(`WATCHDOG=1\nWATCHDOG_USEC=${Math.round(ms) * 1000}`);
  }
}
