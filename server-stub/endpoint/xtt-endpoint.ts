// The XTT 0.12 TCP endpoint: a thin adapter that moves bytes between a socket and protocol/xtt's
// sans-I/O XttServerHandshake, made per connection by XttServer.accept() with that connection's
// ServerPolicy (IdentityPolicy.forConnection: batch lookup, DAA verification, identity decision,
// audit). Defences: global and per-source connection limits (per /64 for IPv6, per address for
// IPv4), an idle timeout and a whole-handshake deadline (slowloris), a byte budget per connection,
// one chunk processed at a time with the socket paused (bounded buffering). Every connection has a
// deadline from accept to close whatever the peer does: after the last reply (end()) the peer gets
// a short grace to read it and close; one that never sends FIN, or sends anything more, is
// destroyed, so it cannot keep its slot in the connection limits. Toward the network every failure
// looks the same (the state machine's 4-byte Error, or a close); the typed reason goes to the log
// and, once a client has completed the cookie round trip, AEAD and long-term signature, to the
// audit. Until ClientAttest nothing is written to the registry.
import { performance } from 'node:perf_hooks';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { XttServer } from '../../protocol/xtt/server.ts';
import type { ServerPolicy } from '../../protocol/xtt/signers.ts';
import type { HandshakeSource } from '../policy/identity-policy.ts';
import type { Logger } from '../log.ts';
import { ListenError } from '../errors.ts';
import { formatPrefix64, parseIpv6 } from '../registry/ipv6.ts';

/**
 * Gives each connection its ServerPolicy (IdentityPolicy with a verifier in production); the policy
 * may tell, once it has looked the client's batch up, which organization the handshake is for.
 */
export interface ConnectionPolicies {
  forConnection(source: HandshakeSource): ServerPolicy & { readonly organizationId?: number | undefined };
}

export type HandshakeReport = (
  outcome: 'provisioned' | 'refused' | 'failed' | 'timeout',
  seconds: number,
  /** The organization of the batch the client named; undefined before (or without) a known batch. */
  organizationId: number | undefined,
) => void;

export interface EndpointOptions {
  host: string;
  port: number;
  maxConnections?: number;
  maxPerSource?: number;
  /** Close a connection that sends nothing for this long (ms); default 5000. */
  idleTimeoutMs?: number;
  /** Close a handshake not finished within this (ms); default 15000. */
  handshakeTimeoutMs?: number;
  /**
   * After the last reply, destroy the connection if the peer has not closed it within this (ms);
   * default 1000. A connection never lives longer than handshakeTimeoutMs + closeGraceMs.
   */
  closeGraceMs?: number;
}

export interface EndpointDeps {
  xtt: XttServer;
  policy: ConnectionPolicies;
  logger: Logger;
  /** Called once per accepted connection when its handshake ends (metrics). */
  onHandshake?: HandshakeReport;
}

/** A client sends ClientInit (70 B) and Identity_ClientAttest (750 B): anything past this is abuse. */
export const MAX_BYTES_PER_CONNECTION = 2048;
/**
 * Listen backlog of the device endpoints (the kernel caps it at net.core.somaxconn). Node's default,
 * 511, overflows when a thousand peers connect at once: the kernel then drops SYNs, and a real
 * device's connect waits for its SYN retransmit (1 s, then 3 s) although the server is idle.
 */
export const LISTEN_BACKLOG = 4096;

const ALREADY_LOGGED = new Set(['DAA_REJECTED', 'IDENTITY_REJECTED']);

export interface EndpointStats {
  accepted: number;
  rejectedByLimit: number;
  provisioned: number;
  failed: number;
  timedOut: number;
  /** Connections destroyed because the peer kept them open after the last reply. */
  lingerCut: number;
}

/** "::ffff:192.0.2.1" -> "192.0.2.1" (dual-stack sockets report IPv4 peers this way). */
export function normaliseAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The key connection limits count by: the /64 of an IPv6 peer (RFC 5952 text), the address of an IPv4 one. */
export function sourceKey(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return formatPrefix64(parseIpv6(address.split('%')[0]!, 'source address'));
  } catch {
    return address; // not what a socket reports; counted by itself
  }
}

export class XttEndpoint {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly perSource = new Map<string, number>();
  /** Connections that got their last reply and wait for the peer's close, oldest first. */
  private readonly lingering = new Set<Socket>();
  readonly stats: EndpointStats = {
    accepted: 0,
    rejectedByLimit: 0,
    provisioned: 0,
    failed: 0,
    timedOut: 0,
    lingerCut: 0,
  };
  private readonly maxConnections: number;
  private readonly maxPerSource: number;
  private readonly idleTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeGraceMs: number;

  constructor(
    private readonly opts: EndpointOptions,
    private readonly deps: EndpointDeps,
  ) {
    this.maxConnections = opts.maxConnections ?? 1024;
    this.maxPerSource = opts.maxPerSource ?? 16;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 15_000;
    this.closeGraceMs = opts.closeGraceMs ?? 1000;
    this.server = createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.onConnection(s));
    // At the limit a newcomer takes the slot of the oldest connection that already got its last
    // reply (onConnection). Node's own cap, which refuses before our handler runs, sits above ours:
    // it counts an evicted connection until its close event, so a burst that evicts many at once
    // needs the headroom.
    this.server.maxConnections = this.maxConnections + Math.max(64, this.maxConnections >> 2);
    this.server.on('drop', (d) => {
      this.stats.rejectedByLimit++;
      this.deps.logger.warn('conn.rejected', {
        src: d?.remoteAddress ? normaliseAddress(d.remoteAddress) : '-',
        reason: 'global-limit',
      });
    });
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Open connections still in their handshake (not yet lingering after the last reply): the
   * verification pool's saturation hint. Connections that have not sent their ClientInit yet count
   * too: under saturation most of them are devices whose first bytes are on the way (counting only
   * handshakes past ClientInit measured more batches of 1), so idle connections up to the limits can
   * make a device's signature wait the pool's bounded 25 ms.
   */
  get handshakesInProgress(): number {
    return this.sockets.size - this.lingering.size;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new ListenError(this.opts.host, this.opts.port, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(
        { host: this.opts.host, port: this.opts.port, ipv6Only: false, backlog: LISTEN_BACKLOG },
        () => {
          this.server.off('error', onError);
          this.server.on('error', (err) => this.deps.logger.error('endpoint.error', { msg: err.message }));
          resolve(this.server.address() as AddressInfo);
        },
      );
    });
  }

  /** Stop accepting and close open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onConnection(sock: Socket): void {
    const address = normaliseAddress(sock.remoteAddress ?? '');
    const port = sock.remotePort ?? 0;
    if (!address) {
      sock.destroy();
      return;
    }
    const key = sourceKey(address);
    const fromSource = this.perSource.get(key) ?? 0;
    const isFull = fromSource < this.maxPerSource && this.sockets.size >= this.maxConnections;
    if (fromSource >= this.maxPerSource || (isFull && !this.evictLingering())) {
      this.stats.rejectedByLimit++;
      this.deps.logger.warn('conn.rejected', {
        src: address,
        port,
        reason: fromSource >= this.maxPerSource ? 'per-source-limit' : 'global-limit',
      });
      sock.destroy();
      return;
    }
    this.stats.accepted++;
    this.perSource.set(key, fromSource + 1);
    this.sockets.add(sock);
    sock.once('close', () => {
      this.sockets.delete(sock);
      this.lingering.delete(sock);
      const n = (this.perSource.get(key) ?? 1) - 1;
      if (n <= 0) this.perSource.delete(key);
      else this.perSource.set(key, n);
    });
    this.runHandshake(sock, address, port);
  }

  /**
   * Frees a slot at the global limit: the oldest connection that already got its last reply is
   * cut (its peer was served; it only holds the slot by not closing). Peers that open a thousand
   * connections and never close them would otherwise keep real devices out until the close grace
   * of each ran out.
   */
  private evictLingering(): boolean {
    const victim = this.lingering.values().next().value as Socket | undefined;
    if (!victim) return false;
    this.lingering.delete(victim);
    this.sockets.delete(victim); // its close handler runs later; the slot is free now
    this.stats.lingerCut++;
    this.deps.logger.warn('conn.linger-cut', {
      src: normaliseAddress(victim.remoteAddress ?? '') || '-',
      reason: 'evicted-at-limit',
    });
    victim.destroy();
    return true;
  }

  private runHandshake(sock: Socket, address: string, port: number): void {
    const policy = this.deps.policy.forConnection({ address, port });
    const hs = this.deps.xtt.accept(policy);
    const queue: Uint8Array[] = [];
    let received = 0;
    let isBusy = false;
    let isFinished = false;
    const log = this.deps.logger;
    const startedAt = performance.now();
    const report = (outcome: 'provisioned' | 'refused' | 'failed' | 'timeout') =>
      this.deps.onHandshake?.(outcome, (performance.now() - startedAt) / 1000, policy.organizationId);

    const finish = (why: 'timeout' | 'error' | 'abuse', reason: string) => {
      if (isFinished) return;
      isFinished = true;
      clearTimeout(deadline);
      if (why === 'timeout') this.stats.timedOut++;
      else this.stats.failed++;
      report(why === 'timeout' ? 'timeout' : 'failed');
      log.warn(`handshake.${why}`, { src: address, port, reason });
      sock.destroy();
    };
    const deadline = setTimeout(() => finish('timeout', 'handshake-deadline'), this.handshakeTimeoutMs);
    deadline.unref();
    let isLingering = false;
    const cutLinger = (reason: string) => {
      if (sock.destroyed) return;
      this.stats.lingerCut++;
      log.warn('conn.linger-cut', { src: address, port, reason });
      sock.destroy();
    };
    // The deadline from accept to close, whatever the peer does; cleared only by the close itself.
    const lifetime = setTimeout(() => {
      if (isLingering) cutLinger('no-close-after-reply');
      else finish('timeout', 'connection-deadline');
      sock.destroy();
    }, this.handshakeTimeoutMs + this.closeGraceMs);
    lifetime.unref();
    let grace: NodeJS.Timeout | undefined;
    /** The last reply: half-close, read (and refuse) whatever follows, destroy after the grace. */
    const closeAfterReply = (data: Uint8Array | undefined) => {
      isLingering = true;
      if (!sock.destroyed) this.lingering.add(sock);
      clearTimeout(deadline);
      sock.setTimeout(0);
      if (data) sock.end(data);
      else sock.end();
      grace = setTimeout(() => cutLinger('no-close-after-reply'), this.closeGraceMs);
      grace.unref();
      // Reading resumes so the peer's FIN is seen (the socket then closes by itself); any byte
      // after the last reply is abuse.
      sock.removeAllListeners('data');
      sock.on('data', () => cutLinger('bytes-after-reply'));
      sock.resume();
    };
    sock.setTimeout(this.idleTimeoutMs, () => finish('timeout', 'idle'));
    sock.on('error', (err) => finish('error', (err as NodeJS.ErrnoException).code ?? 'socket-error'));
    sock.on('end', () => finish('error', 'peer-closed'));
    sock.on('close', () => {
      isFinished = true;
      clearTimeout(deadline);
      clearTimeout(lifetime);
      clearTimeout(grace);
    });

    const drain = async (): Promise<void> => {
      if (isBusy) return;
      isBusy = true;
      sock.pause();
      sock.setTimeout(0); // the idle timer measures the client's silence, not our work
      try {
        while (queue.length > 0 && !isFinished) {
          const step = await hs.receive(queue.shift()!);
          if (isFinished) return;
          if (step.kind === 'send') sock.write(step.data);
          else if (step.kind === 'done') {
            isFinished = true;
            clearTimeout(deadline);
            this.stats.provisioned++; // IdentityPolicy logged the decision
            report('provisioned');
            closeAfterReply(step.data);
          } else if (step.kind === 'failed') {
            isFinished = true;
            clearTimeout(deadline);
            this.stats.failed++;
            report(ALREADY_LOGGED.has(step.error.code) ? 'refused' : 'failed');
            // Refusals by the policies were logged (and audited) where they were decided.
            if (!ALREADY_LOGGED.has(step.error.code)) {
              log.warn('handshake.failed', {
                src: address,
                port,
                stage: step.error.stage,
                code: step.error.code,
              });
            }
            closeAfterReply(step.data);
          }
        }
      } catch (err) {
        // receive() never throws for peer input; this is our bug: fail closed, say so.
        log.error('handshake.internal-error', { src: address, port, msg: (err as Error).message });
        finish('error', 'internal');
      } finally {
        isBusy = false;
        if (!isFinished) {
          sock.setTimeout(this.idleTimeoutMs);
          sock.resume();
        }
      }
    };

    sock.on('data', (chunk: Buffer) => {
      if (isFinished) return;
      received += chunk.length;
      if (received > MAX_BYTES_PER_CONNECTION) {
        finish('abuse', 'too-many-bytes');
        return;
      }
      queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      void drain();
    });
    sock.resume();
  }
}
