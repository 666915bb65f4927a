// The one netlink socket adapter: libc socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK,
// NETLINK_ROUTE) through koffi (netlink(7)). Everything above it is pure codec.
// Waiting without blocking the event loop and without a busy loop: reads are non-blocking
// (MSG_DONTWAIT); when nothing is queued we run poll(2) on koffi's worker thread (`.async`) over
// the netlink fd and a self-pipe. close() writes to the self-pipe so a pending poll returns at
// once, and only then closes the fds (no fd-reuse race with a poll still in flight).
import { NetlinkError } from '../errors.ts';
import { AF_NETLINK, EAGAIN, EINTR, NETLINK_ROUTE, errnoName } from './constants.ts';
import { HOST_LE } from './codec.ts';
import { errno as lastErrno, libc } from '../libc.ts';

const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SOCKADDR_NL_LEN = 12;
const RECV_BUFFER = 65536;

/** The transport the address configurator needs: whole datagrams in and out. */
export interface NetlinkTransport {
  /** Sends one datagram (one or more netlink messages) to the kernel. */
  send(datagram: Uint8Array): void;
  /** Next datagram, or null when `timeoutMs` passes first or the transport is closed. */
  recv(timeoutMs: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

function fail(operation: string): never {
  const errno = lastErrno();
  throw new NetlinkError(operation, errno, errnoName(errno));
}

function sockaddrNl(groups: number): Uint8Array {
  const sa = new Uint8Array(SOCKADDR_NL_LEN);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_NETLINK, HOST_LE);
  v.setUint32(4, 0, HOST_LE); // nl_pid 0: the kernel assigns our port id
  v.setUint32(8, groups >>> 0, HOST_LE);
  return sa;
}

export class KoffiNetlinkSocket implements NetlinkTransport {
  private readonly fd: number;
  private readonly wakeRead: number;
  private readonly wakeWrite: number;
  private readonly buf = new Uint8Array(RECV_BUFFER);
  private closed = false;
  private inflight: Promise<unknown> | undefined;

  /** Opens a NETLINK_ROUTE socket subscribed to the RTMGRP_* bitmask `groups` (0: requests only). */
  constructor(groups = 0) {
    const c = libc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) fail('socket(AF_NETLINK)');
    if (c.bind(fd, sockaddrNl(groups), SOCKADDR_NL_LEN) < 0) {
      const errno = lastErrno();
      c.close(fd);
      throw new NetlinkError('bind(AF_NETLINK)', errno, errnoName(errno));
    }
    // A larger receive buffer makes ENOBUFS (lost events) unlikely; the watcher resyncs if it happens.
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([1 << 20]), 4);
    const pipe = new Int32Array(2);
    if (c.pipe2(pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
      const errno = lastErrno();
      c.close(fd);
      throw new NetlinkError('pipe2', errno, errnoName(errno));
    }
    this.fd = fd;
    this.wakeRead = pipe[0]!;
    this.wakeWrite = pipe[1]!;
  }

  send(datagram: Uint8Array): void {
    if (this.closed) throw new NetlinkError('sendto', 0, 'socket is closed');
    const n = libc().sendto(this.fd, datagram, datagram.length, 0, sockaddrNl(0), SOCKADDR_NL_LEN);
    if (n < 0) fail('sendto(netlink)');
    if (n !== datagram.length)
      throw new NetlinkError('sendto(netlink)', 0, `short send ${n}/${datagram.length}`);
  }

  /** Non-blocking read; undefined when nothing is queued. Throws NetlinkError (e.g. ENOBUFS). */
  private tryRecv(): Uint8Array | undefined {
    const n = libc().recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      const errno = lastErrno();
      if (errno === EAGAIN || errno === EINTR) return undefined;
      throw new NetlinkError('recv(netlink)', errno, errnoName(errno));
    }
    if (n > this.buf.length)
      throw new NetlinkError('recv(netlink)', 0, `datagram of ${n} bytes was truncated`);
    return this.buf.slice(0, n);
  }

  async recv(timeoutMs: number): Promise<Uint8Array | null> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      if (this.closed) return null;
      const got = this.tryRecv();
      if (got) return got;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.pollReadable(Math.min(left, 0x7fffffff));
    }
  }

  private pollReadable(timeoutMs: number): Promise<void> {
    const pfd = new Uint8Array(16); // two struct pollfd { int fd; short events; short revents; }
    const v = new DataView(pfd.buffer);
    v.setInt32(0, this.fd, HOST_LE);
    v.setInt16(4, POLLIN, HOST_LE);
    v.setInt32(8, this.wakeRead, HOST_LE);
    v.setInt16(12, POLLIN, HOST_LE);
    const p = new Promise<void>((resolve) => {
      // Errors (EINTR) just end this wait; recv() loops and re-checks the deadline.
      libc().poll.async(pfd, 2, timeoutMs, () => resolve());
    });
    this.inflight = p;
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = libc();
    c.write(this.wakeWrite, new Uint8Array([1]), 1);
    await this.inflight;
    c.close(this.fd);
    c.close(this.wakeRead);
    c.close(this.wakeWrite);
  }
}
