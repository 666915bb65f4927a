// Live events for the dashboard as server-sent events (WHATWG HTML "Server-sent events": text/event-
// stream, `event:`/`data:` lines, blank-line separated, `:` comments as keep-alives). New audit
// entries are found by polling the registry, so handshakes served by any enf-server sharing the
// registry (PostgreSQL) show up too; changes made through this API are published directly.
// Each listener sees one organization's events (its token's) or, as a superadmin, all: an audit entry
// belongs to its batch's organization, a PKI enrollment to its CA's network's; one without a known
// batch or CA (a handshake that failed before naming one, a certificate no registered CA issued)
// only reaches server-wide listeners.
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
  /** Each listener with its organization (undefined: every organization). */
  private readonly subscribers = new Map<ServerResponse, number | undefined>();
  /** Batch gid (hex) -> organization id; a batch never changes organization. */
  private readonly batchOrgs = new Map<string, number | undefined>();
  /** CA id -> organization id (its network's); a CA never changes network. */
  private readonly caOrgs = new Map<number, number | undefined>();
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
  async subscribe(res: ServerResponse, org?: number): Promise<boolean> {
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
    this.subscribers.set(res, org);
    res.on('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) this.stopTimers();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 500);
      this.keepAlive = setInterval(
        () => this.broadcast(': keep-alive\n\n', null),
        this.opts.keepAliveMs ?? 15_000,
      );
    }
    return true;
  }

  /** Send to the listeners of `org` and the server-wide ones (`org` undefined: server-wide only). */
  publish(event: string, data: unknown, org: number | undefined): void {
    this.broadcast(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, org);
  }

  /** Look for audit entries newer than the last one announced. */
  async poll(): Promise<void> {
    if (this.isPolling) return;
    this.isPolling = true;
    try {
      const rows = await this.registry.queryAudit({ since: this.lastAt, limit: 1000 });
      const fresh = rows.filter((e) => e.id > this.lastId).sort((a, b) => a.id - b.id);
      for (const e of fresh) this.announce(e, await this.orgOf(e));
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.isPolling = false;
    }
  }

  private async orgOf(e: AuditEntry): Promise<number | undefined> {
    if (e.pki) return this.caOrgOf(e.pki.caId);
    if (e.gid === null) return undefined;
    const key = Buffer.from(e.gid).toString('hex');
    if (!this.batchOrgs.has(key)) {
      const b = await this.registry.getBatch(e.gid);
      // An unknown gid may be registered later: not remembered.
      if (!b) return undefined;
      this.batchOrgs.set(key, b.organizationId);
    }
    return this.batchOrgs.get(key);
  }

  private async caOrgOf(caId: number | null): Promise<number | undefined> {
    if (caId === null) return undefined;
    if (!this.caOrgs.has(caId)) {
      const ca = await this.registry.pki.findCa(String(caId));
      const net = ca && (await this.registry.getNetwork(ca.networkId));
      if (!net) return undefined;
      this.caOrgs.set(caId, net.organizationId);
    }
    return this.caOrgs.get(caId);
  }

  private announce(e: AuditEntry, org: number | undefined): void {
    this.lastId = Math.max(this.lastId, e.id);
    this.lastAt = Math.max(this.lastAt, e.at);
    this.broadcast(`id: ${e.id}\nevent: audit\ndata: ${JSON.stringify(auditView(e))}\n\n`, org);
  }

  /** To every server-wide listener, and to those of `org` when it is given; `null`: to all. */
  private broadcast(text: string, org: number | undefined | null): void {
    for (const [res, own] of this.subscribers) {
      if (org === null || own === undefined || own === org) res.write(text);
    }
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.keepAlive);
    this.timer = undefined;
    this.keepAlive = undefined;
  }

  close(): void {
    this.stopTimers();
    for (const res of this.subscribers.keys()) res.end();
    this.subscribers.clear();
  }
}
