// The agent's one set of libc bindings through koffi (the device side's only native dependency):
// the socket calls sd_notify(3) and the netlink adapter need, loaded once on first use so that
// importing a module never loads libc (unit tests of the pure codecs run without it).
import koffi from 'koffi';

export interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Uint8Array, len: number) => number;
  sendto: (fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number) => number;
  recv: (fd: number, buf: Uint8Array, len: number, flags: number) => number;
  /** poll(2); called as `.async(...)` on koffi's worker thread so the event loop never blocks. */
  poll: { async: (...args: unknown[]) => void };
  pipe2: (fds: Int32Array, flags: number) => number;
  write: (fd: number, buf: Uint8Array, len: number) => number;
  close: (fd: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Int32Array, len: number) => number;
}

let cache: Libc | undefined;

export function libc(): Libc {
  if (cache) return cache;
  const lib = koffi.load('libc.so.6');
  cache = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    sendto: lib.func('long sendto(int, const void *, unsigned long, int, const void *, uint32_t)'),
    recv: lib.func('long recv(int, void *, unsigned long, int)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    pipe2: lib.func('int pipe2(_Out_ int *, int)'),
    write: lib.func('long write(int, const void *, unsigned long)'),
    close: lib.func('int close(int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
  };
  return cache;
}

/** errno of the last libc call made through koffi on this thread. */
export function errno(): number {
  return koffi.errno();
}
