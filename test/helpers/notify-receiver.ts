// A bound AF_UNIX datagram socket standing in for systemd's $NOTIFY_SOCKET (Node has no unix
// datagram sockets, so it is bound through koffi). Used by the sd-notify and agent process tests.
import koffi from 'koffi';
import { encodeSockaddrUn } from '../../agent/sd-notify.ts';

const lib = koffi.load('libc.so.6');
const socket = lib.func('int socket(int, int, int)');
const bind = lib.func('int bind(int, const void *, uint32_t)');
const recv = lib.func('long recv(int, void *, unsigned long, int)');
const close = lib.func('int close(int)');

export interface NotifyReceiver {
  /** Every datagram queued since the last drain. */
  drain(): string[];
  /** Waits (polling every 20 ms) until a datagram satisfies `pred`; all seen are kept in `seen`. */
  waitFor(pred: (msg: string) => boolean, timeoutMs?: number): Promise<string>;
  readonly seen: string[];
  close(): void;
}

export function notifyReceiver(path: string): NotifyReceiver {
  const fd = socket(1, 2 | 0o4000 | 0o2000000, 0) as number; // AF_UNIX, SOCK_DGRAM|NONBLOCK|CLOEXEC
  const { addr, length } = encodeSockaddrUn(path);
  if (bind(fd, addr, length) !== 0) throw new Error(`bind ${path}: errno ${koffi.errno()}`);
  const buf = new Uint8Array(4096);
  const seen: string[] = [];
  const drain = (): string[] => {
    const out: string[] = [];
    for (;;) {
      const n = recv(fd, buf, buf.length, 0) as number;
      if (n < 0) break;
      out.push(new TextDecoder().decode(buf.subarray(0, n)));
    }
    seen.push(...out);
    return out;
  };
  return {
    drain,
    seen,
    async waitFor(pred, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let checked = 0;
      for (;;) {
        drain();
        for (; checked < seen.length; checked++) if (pred(seen[checked]!)) return seen[checked]!;
        if (Date.now() > deadline) throw new Error(`no matching notification; got ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => close(fd),
  };
}
