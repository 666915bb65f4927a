// Server metrics in the Prometheus text exposition format 0.0.4 (prometheus.io "Exposition formats":
// `# HELP`, `# TYPE`, samples `name{label="v"} value`; histograms as cumulative `_bucket{le=..}`,
// `_sum`, `_count`). A tiny registry of counters, gauges and histograms, no dependency. `Metrics`
// holds the ENF server's instruments and the hooks the XTT endpoint and verify pool call.
// Label values are escaped (\\, \", \n) as the format requires; metric and label names are checked.

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type Labels = Readonly<Record<string, string>>;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Prometheus number text: integers as is, +Inf/-Inf/NaN spelled the format's way. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(
  labelNames: readonly string[],
  values: readonly string[],
  extra?: [string, string],
): string {
  const parts = labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i]!)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {
    if (!NAME_RE.test(name)) throw new RangeError(`bad metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || l === 'le')
        throw new RangeError(`bad label name '${l}'`);
    }
  }
  protected abstract fresh(): S;
  protected at(labels: Labels = {}): S {
    const keys = Object.keys(labels);
    if (
      keys.length !== this.labelNames.length ||
      !this.labelNames.every((n) => typeof labels[n] === 'string')
    ) {
      throw new RangeError(`${this.name}: labels must be exactly ${this.labelNames.join(', ') || '(none)'}`);
    }
    const values = this.labelNames.map((n) => labels[n]!);
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { values, state: this.fresh() };
      this.series.set(key, s);
    }
    return s.state;
  }
  protected abstract samples(values: string[], state: S): string[];
  /**
   * The metric as exposition text. `relabel` may rewrite each series' label values (in labelNames
   * order) or leave the series out (undefined).
   */
  expose(relabel?: (values: readonly string[]) => string[] | undefined): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    const shown = [...this.series.values()].flatMap((s) => {
      const values = relabel ? relabel(s.values) : s.values;
      return values ? [{ values, state: s.state }] : [];
    });
    const sorted = shown.sort((a, b) => (a.values.join('\0') < b.values.join('\0') ? -1 : 1));
    for (const s of sorted) lines.push(...this.samples(s.values, s.state));
    return lines.join('\n');
  }
}

export class Counter extends Metric<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'counter');
  }
  protected fresh() {
    return { v: 0 };
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new RangeError(`${this.name}: counters only go up`);
    this.at(labels).v += by;
  }
  get(labels: Labels = {}): number {
    return this.at(labels).v;
  }
  protected samples(values: string[], s: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.v)}`];
  }
}

export class Gauge extends Metric<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'gauge');
  }
  protected fresh() {
    return { v: 0 };
  }
  set(labels: Labels, v: number): void {
    this.at(labels).v = v;
  }
  get(labels: Labels = {}): number {
    return this.at(labels).v;
  }
  protected samples(values: string[], s: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.v)}`];
  }
}

interface HistState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistState> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'histogram');
    if (
      buckets.length === 0 ||
      buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))
    ) {
      throw new RangeError(`${name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }
  protected fresh(): HistState {
    return { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
  }
  observe(labels: Labels, v: number): void {
    if (Number.isNaN(v)) throw new RangeError(`${this.name}: NaN observation`);
    const s = this.at(labels);
    // Non-cumulative per bucket; exposition accumulates.
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  snapshot(labels: Labels = {}): { sum: number; count: number } {
    const s = this.at(labels);
    return { sum: s.sum, count: s.count };
  }
  protected samples(values: string[], s: HistState): string[] {
    const out: string[] = [];
    let acc = 0;
    this.buckets.forEach((b, i) => {
      acc += s.counts[i]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', formatValue(b)])} ${acc}`);
    });
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', '+Inf'])} ${s.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    return out;
  }
}

interface Exposable {
  readonly name: string;
  expose(relabel?: (values: readonly string[]) => string[] | undefined): string;
}

export class MetricRegistry {
  private readonly metrics: Exposable[] = [];
  /** The registered metrics, in registration order. */
  get all(): readonly Exposable[] {
    return this.metrics;
  }
  register<M extends Exposable>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name))
      throw new RangeError(`metric '${m.name}' registered twice`);
    this.metrics.push(m);
    return m;
  }
  /** The whole registry as Prometheus text (ends with a newline, as the format wants). */
  expose(): string {
    return `${this.metrics.map((m) => m.expose()).join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Handshake outcomes as the audit records them, plus `timeout` for ones cut off by a deadline. */
export const HANDSHAKE_OUTCOMES = ['provisioned', 'refused', 'failed', 'timeout'] as const;
export type HandshakeOutcome = (typeof HANDSHAKE_OUTCOMES)[number];

/**
 * The `organization` label value of handshakes and enrollments refused before any organization was
 * known (malformed, unknown group, a certificate no registered CA issued): only a server-wide scrape
 * shows it. Organization names start with a letter or digit, so it names none of them.
 */
export const NO_ORGANIZATION = '(none)';

/** How `Metrics.expose` names organizations: id -> name (an id not in it shows as `#id`). */
export type OrganizationNames = ReadonlyMap<number, string>;

/**
 * The ENF server's instruments and the hooks the endpoint, verify pool and registry poller call.
 * Handshake and enrollment counters and timings carry an `organization` label (kept by id, named at
 * exposition): a server-wide scrape shows every organization's series and NO_ORGANIZATION's, an
 * organization's scrape (`expose(names, org)`) its own series only.
 */
export class Metrics {
  readonly registry = new MetricRegistry();
  readonly handshakesTotal = this.registry.register(
    new Counter('enf_handshakes_total', 'XTT handshakes finished, by organization and outcome.', [
      'organization',
      'outcome',
    ]),
  );
  readonly handshakeDuration = this.registry.register(
    new Histogram(
      'enf_handshake_duration_seconds',
      'Time from accepting a connection to the end of its handshake, by organization.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ['organization'],
    ),
  );
  readonly pkiEnrollmentsTotal = this.registry.register(
    new Counter(
      'enf_pki_enrollments_total',
      'PKI enrollments (certificate from a registered CA) finished, by organization and outcome.',
      ['organization', 'outcome'],
    ),
  );
  readonly pkiEnrollmentDuration = this.registry.register(
    new Histogram(
      'enf_pki_enrollment_duration_seconds',
      'Time from accepting a PKI enrollment connection to its end (TLS handshake included), by organization.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ['organization'],
    ),
  );
  readonly verifyBatchSizes = this.registry.register(
    new Histogram(
      'enf_verify_batch_size',
      'DAA signatures verified together in one batch.',
      [1, 2, 4, 8, 16, 32, 64, 128],
    ),
  );
  readonly verifyQueueDepth = this.registry.register(
    new Gauge('enf_verify_queue_depth', 'DAA verification requests waiting for a worker.'),
  );
  readonly devicesByStatus = this.registry.register(
    new Gauge('enf_devices', 'Registered DAA (batch) devices, by status.', ['status']),
  );
  readonly certDevicesByStatus = this.registry.register(
    new Gauge('enf_pki_devices', 'Registered certificate devices (PKI option), by status.', ['status']),
  );
  /** The instruments labelled by organization (the only ones an organization's scrape shows). */
  private readonly perOrganization = [
    this.handshakesTotal,
    this.handshakeDuration,
    this.pkiEnrollmentsTotal,
    this.pkiEnrollmentDuration,
  ] as const;

  constructor() {
    this.zeroes('');
    this.verifyQueueDepth.set({}, 0);
  }

  /** Every outcome of `key` (an organization id as text, '' for none) shows, at 0 until counted. */
  private zeroes(key: string): void {
    for (const outcome of HANDSHAKE_OUTCOMES) {
      this.handshakesTotal.inc({ organization: key, outcome }, 0);
      this.pkiEnrollmentsTotal.inc({ organization: key, outcome }, 0);
    }
  }

  private static key(org: number | undefined): string {
    if (org === undefined) return '';
    if (!Number.isSafeInteger(org) || org < 1) throw new RangeError(`bad organization id '${String(org)}'`);
    return String(org);
  }

  /** A handshake ended; `org`: its batch's organization, undefined before one was known. */
  handshakeFinished(outcome: HandshakeOutcome, seconds: number, org?: number): void {
    if (!(HANDSHAKE_OUTCOMES as readonly string[]).includes(outcome)) {
      throw new RangeError(`unknown handshake outcome '${String(outcome)}'`);
    }
    const organization = Metrics.key(org);
    this.handshakesTotal.inc({ organization, outcome });
    if (Number.isFinite(seconds) && seconds >= 0) this.handshakeDuration.observe({ organization }, seconds);
  }

  /** A PKI enrollment ended (outcomes as for handshakes; `org` its CA's); apart from the XTT figures. */
  pkiEnrollmentFinished(outcome: HandshakeOutcome, seconds: number, org?: number): void {
    if (!(HANDSHAKE_OUTCOMES as readonly string[]).includes(outcome)) {
      throw new RangeError(`unknown enrollment outcome '${String(outcome)}'`);
    }
    const organization = Metrics.key(org);
    this.pkiEnrollmentsTotal.inc({ organization, outcome });
    if (Number.isFinite(seconds) && seconds >= 0)
      this.pkiEnrollmentDuration.observe({ organization }, seconds);
  }

  certDeviceCounts(byStatus: Readonly<Record<string, number>>): void {
    for (const [status, n] of Object.entries(byStatus)) this.certDevicesByStatus.set({ status }, n);
  }

  verifyBatch(size: number): void {
    this.verifyBatchSizes.observe({}, size);
  }

  queueDepth(n: number): void {
    this.verifyQueueDepth.set({}, n);
  }

  deviceCounts(byStatus: Readonly<Record<string, number>>): void {
    for (const [status, n] of Object.entries(byStatus)) this.devicesByStatus.set({ status }, n);
  }

  private readonly collectors: (() => void | Promise<void>)[] = [];

  /** Run `fn` before each exposition to sample values kept elsewhere (e.g. the pool's queue depth). */
  addCollector(fn: () => void | Promise<void>): void {
    this.collectors.push(fn);
  }

  /** Runs the collectors; a failing collector leaves its metrics at their last value. */
  async collect(): Promise<void> {
    await Promise.allSettled(this.collectors.map(async (fn) => fn()));
  }

  /**
   * Prometheus text. Without `org`: everything, each organization's series named from `names`
   * (every organization in it shows, at 0 until counted) and NO_ORGANIZATION's. With `org`: only the
   * instruments labelled by organization, and of them only that organization's series; no other
   * organization's name or id appears.
   */
  expose(names: OrganizationNames = new Map(), org?: number): string {
    const nameOf = (key: string): string =>
      key === '' ? NO_ORGANIZATION : (names.get(Number(key)) ?? `#${key}`);
    if (org === undefined) {
      for (const id of names.keys()) this.zeroes(Metrics.key(id));
      const relabel = (values: readonly string[]) => [nameOf(values[0]!), ...values.slice(1)];
      const text = (m: { expose(r?: typeof relabel): string }) =>
        (this.perOrganization as readonly unknown[]).includes(m) ? m.expose(relabel) : m.expose();
      return `${this.registry.all.map(text).join('\n')}\n`;
    }
    const own = Metrics.key(org);
    this.zeroes(own);
    const name = nameOf(own);
    const relabel = (values: readonly string[]) =>
      values[0] === own ? [name, ...values.slice(1)] : undefined;
    return `${this.perOrganization.map((m) => m.expose(relabel)).join('\n')}\n`;
  }
}
