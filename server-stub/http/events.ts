// Live events for the dashboard as server-sent events (WHATWG HTML "Server-sent events": text/event-
// stream, `event:`/`data:` lines, blank-line separated, `:` comments as keep-alives). New audit
// entries are found by polling the registry, so handshakes served by any enf-server sharing the
// registry (PostgreSQL) show up too; changes made through this API are published directly.
import type { ServerResponse } from 'node:http';
import type { AuditEntry, Registry } from '../registry/registry.ts';
import { auditView } from './views.ts';

export const MAX_SUBSCRIBERS = 64;

export interface EventHubOptions {
  /** How often the audit is polled while someone listens (ms); default 500. */
  pollMs?: number;
  /** Keep-alive comment interval (ms); default 15000. */
  keepAliveMs?: number;
  onError?: (err: unknown) => void;
}

export class EventHub {
  private readonly subscribers = new Set<ServerResponse>();
  private lastId = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private isPolling = false;
  private isStarted = false;

  constructor(
    private readonly registry: Registry,
    private readonly opts: EventHubOptions = {},
  ) {}

  /** Remember where the audit ends now, so only later entries are announced. */
  async start(): Promise<void> {
    const [latest] = await this.registry.queryAudit({ limit: 1 });
    if (latest) {
      this.lastId = latest.id;
      this.lastAt = latest.at;
    }
    this.isStarted = true;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Attach an SSE response; false when full (the caller answers 503). */
  async subscribe(res: ServerResponse): Promise<boolean> {
    if (this.subscribers.size >= MAX_SUBSCRIBERS || !this.isStarted) return false;
    // Nobody was listening: what happened meanwhile is history, not news.
    if (!this.timer) await this.start();
    if (res.destroyed) return true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\nretry: 2000\n\n');
    this.subscribers.add(res);
    res.on('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) this.stopTimers();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 500);
      this.keepAlive = setInterval(() => this.broadcast(': keep-alive\n\n'), this.opts.keepAliveMs ?? 15_000);
    }
    return true;
  }

  publish(event: string, data: unknown): void {
    this.broadcast(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Look for audit entries newer than the last one announced. */
  async poll(): Promise<void> {
    if (this.isPolling) return;
    this.isPolling = true;
    try {
      const rows = await this.registry.queryAudit({ since: this.lastAt, limit: 1000 });
      const fresh = rows.filter((e) => e.id > this.lastId).sort((a, b) => a.id - b.id);
      for (const e of fresh) this.announce(e);
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.isPolling = false;
    }
  }

  private announce(e: AuditEntry): void {
    this.lastId = Math.max(this.lastId, e.id);
    this.lastAt = Math.max(this.lastAt, e.at);
    this.broadcast(`id: ${e.id}\nevent: audit\ndata: ${JSON.stringify(auditView(e))}\n\n`);
  }

  private broadcast(text: string): void {
    for (const res of this.subscribers) res.write(text);
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.keepAlive);
    this.timer = undefined;
    this.keepAlive = undefined;
  }

  close(): void {
    this.stopTimers();
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }
}
