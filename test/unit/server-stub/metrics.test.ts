// server-stub/metrics.ts: the Prometheus text exposition format 0.0.4 (HELP/TYPE lines, label
// escaping, cumulative histogram buckets with +Inf, _sum and _count) and the ENF hooks.
import test from 'ava';
import {
  Counter,
  Gauge,
  Histogram,
  MetricRegistry,
  Metrics,
  formatValue,
} from '../../../server-stub/metrics.ts';

test('counter: HELP, TYPE, labelled samples sorted, escaped label values', (t) => {
  const r = new MetricRegistry();
  const c = r.register(new Counter('x_total', 'Things.\nSecond line \\ here.', ['kind']));
  c.inc({ kind: 'b' }, 2);
  c.inc({ kind: 'a"q\\\n' });
  t.is(
    r.expose(),
    [
      '# HELP x_total Things.\\nSecond line \\\\ here.',
      '# TYPE x_total counter',
      'x_total{kind="a\\"q\\\\\\n"} 1',
      'x_total{kind="b"} 2',
      '',
    ].join('\n'),
  );
  t.throws(() => c.inc({ kind: 'a' }, -1), { instanceOf: RangeError });
  t.throws(() => c.inc({}), { instanceOf: RangeError }, 'missing label');
  t.throws(() => c.inc({ kind: 'a', other: 'x' }), { instanceOf: RangeError }, 'extra label');
});

test('gauge without labels; special values', (t) => {
  const r = new MetricRegistry();
  const g = r.register(new Gauge('depth', 'Queue depth.'));
  g.set({}, 3);
  g.set({}, 1);
  t.is(r.expose(), '# HELP depth Queue depth.\n# TYPE depth gauge\ndepth 1\n');
  t.is(formatValue(Infinity), '+Inf');
  t.is(formatValue(-Infinity), '-Inf');
  t.is(formatValue(NaN), 'NaN');
  t.is(formatValue(0.25), '0.25');
});

test('histogram: cumulative buckets, +Inf equals count, sum', (t) => {
  const r = new MetricRegistry();
  const h = r.register(new Histogram('lat_seconds', 'Latency.', [0.1, 1]));
  h.observe({}, 0.05);
  h.observe({}, 0.1);
  h.observe({}, 0.5);
  h.observe({}, 7);
  t.is(
    r.expose(),
    [
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="0.1"} 2',
      'lat_seconds_bucket{le="1"} 3',
      'lat_seconds_bucket{le="+Inf"} 4',
      'lat_seconds_sum 7.65',
      'lat_seconds_count 4',
      '',
    ].join('\n'),
  );
  t.throws(() => h.observe({}, NaN), { instanceOf: RangeError });
  t.throws(() => new Histogram('h', 'x', [1, 1]), { instanceOf: RangeError });
  t.throws(() => new Histogram('h', 'x', []), { instanceOf: RangeError });
});

test('names are checked; a name registers once', (t) => {
  t.throws(() => new Counter('1bad', 'x'), { instanceOf: RangeError });
  t.throws(() => new Counter('ok', 'x', ['le']), { instanceOf: RangeError });
  t.throws(() => new Counter('ok', 'x', ['__x']), { instanceOf: RangeError });
  const r = new MetricRegistry();
  r.register(new Counter('a', 'x'));
  t.throws(() => r.register(new Gauge('a', 'y')), { instanceOf: RangeError });
});

test('Metrics: the ENF instruments and hooks', (t) => {
  const m = new Metrics();
  const fresh = m.expose();
  for (const o of ['provisioned', 'refused', 'failed', 'timeout']) {
    t.true(fresh.includes(`enf_handshakes_total{organization="(none)",outcome="${o}"} 0`), o);
  }
  t.true(fresh.includes('enf_verify_queue_depth 0'));
  m.handshakeFinished('provisioned', 0.02);
  m.handshakeFinished('provisioned', 0.3);
  m.handshakeFinished('refused', 0.004);
  m.verifyBatch(8);
  m.verifyBatch(1);
  m.queueDepth(5);
  m.deviceCounts({ active: 3, revoked: 1 });
  const text = m.expose();
  t.true(text.includes('enf_handshakes_total{organization="(none)",outcome="provisioned"} 2'));
  t.true(text.includes('enf_handshakes_total{organization="(none)",outcome="refused"} 1'));
  t.true(text.includes('enf_handshake_duration_seconds_bucket{organization="(none)",le="0.005"} 1'));
  t.true(text.includes('enf_handshake_duration_seconds_bucket{organization="(none)",le="0.025"} 2'));
  t.true(text.includes('enf_handshake_duration_seconds_count{organization="(none)"} 3'));
  t.true(text.includes('enf_verify_batch_size_bucket{le="1"} 1'));
  t.true(text.includes('enf_verify_batch_size_bucket{le="8"} 2'));
  t.true(text.includes('enf_verify_queue_depth 5'));
  t.true(text.includes('enf_devices{status="active"} 3'));
  t.true(text.includes('enf_devices{status="revoked"} 1'));
  t.throws(() => m.handshakeFinished('bogus' as 'failed', 1), { instanceOf: RangeError });
  // Every line is a comment or a `name{labels} value` sample.
  for (const line of text.trimEnd().split('\n')) {
    t.regex(
      line,
      /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+|.*\+Inf"\} [0-9]+)$/,
    );
  }
});

test('Metrics: collectors sample values at exposition time; a failing one is skipped', async (t) => {
  const m = new Metrics();
  let depth = 3;
  m.addCollector(() => m.queueDepth(depth));
  m.addCollector(() => {
    throw new Error('source gone');
  });
  await m.collect();
  t.true(m.expose().includes('enf_verify_queue_depth 3'));
  depth = 7;
  await m.collect();
  t.true(m.expose().includes('enf_verify_queue_depth 7'));
});

test('Metrics: PKI enrollments and certificate devices are counted apart from XTT handshakes', (t) => {
  const m = new Metrics();
  t.true(m.expose().includes('enf_pki_enrollments_total{organization="(none)",outcome="refused"} 0'));
  m.pkiEnrollmentFinished('provisioned', 0.03);
  m.pkiEnrollmentFinished('refused', 0.002);
  m.certDeviceCounts({ active: 2, revoked: 0 });
  const text = m.expose();
  t.true(text.includes('enf_pki_enrollments_total{organization="(none)",outcome="provisioned"} 1'));
  t.true(text.includes('enf_pki_enrollments_total{organization="(none)",outcome="refused"} 1'));
  t.true(text.includes('enf_pki_enrollment_duration_seconds_count{organization="(none)"} 2'));
  t.true(text.includes('enf_pki_devices{status="active"} 2'));
  t.true(text.includes('enf_handshakes_total{organization="(none)",outcome="provisioned"} 0'));
  t.notRegex(text, /^enf_handshake_duration_seconds_count\S* [1-9]/m);
  t.throws(() => m.pkiEnrollmentFinished('bogus' as 'refused', 1), { instanceOf: RangeError });
});

test("Metrics: counters per organization; an organization's exposition holds its own series only", (t) => {
  const m = new Metrics();
  const names = new Map([
    [2, 'acme'],
    [3, 'globex'],
  ]);
  m.handshakeFinished('provisioned', 0.02, 2);
  m.handshakeFinished('provisioned', 0.02, 2);
  m.handshakeFinished('refused', 0.01, 3);
  m.handshakeFinished('failed', 0.001); // before any organization was known
  m.pkiEnrollmentFinished('provisioned', 0.03, 3);
  m.handshakeFinished('timeout', 1, 9); // an organization since deleted
  const all = m.expose(names);
  t.regex(all, /^enf_handshakes_total\{organization="acme",outcome="provisioned"\} 2$/m);
  t.regex(all, /^enf_handshakes_total\{organization="globex",outcome="refused"\} 1$/m);
  t.regex(all, /^enf_handshakes_total\{organization="globex",outcome="provisioned"\} 0$/m);
  t.regex(all, /^enf_handshakes_total\{organization="\(none\)",outcome="failed"\} 1$/m);
  t.regex(all, /^enf_handshakes_total\{organization="#9",outcome="timeout"\} 1$/m);
  t.regex(all, /^enf_pki_enrollments_total\{organization="globex",outcome="provisioned"\} 1$/m);
  t.regex(all, /^enf_handshake_duration_seconds_count\{organization="acme"\} 2$/m);
  t.regex(all, /^enf_verify_queue_depth 0$/m);
  const acme = m.expose(names, 2);
  t.regex(acme, /^enf_handshakes_total\{organization="acme",outcome="provisioned"\} 2$/m);
  t.regex(acme, /^enf_handshakes_total\{organization="acme",outcome="refused"\} 0$/m);
  t.regex(acme, /^enf_pki_enrollments_total\{organization="acme",outcome="provisioned"\} 0$/m);
  t.regex(acme, /^enf_handshake_duration_seconds_count\{organization="acme"\} 2$/m);
  for (const other of ['globex', '(none)', '#9', 'enf_verify', 'enf_devices'])
    t.false(acme.includes(other), other);
  // Every organization label of the scrape is its own.
  t.deepEqual([...new Set([...acme.matchAll(/organization="([^"]*)"/g)].map((x) => x[1]))], ['acme']);
  const fresh = m.expose(names, 3);
  t.regex(fresh, /^enf_handshakes_total\{organization="globex",outcome="refused"\} 1$/m);
  t.false(fresh.includes('acme'));
  t.throws(() => m.handshakeFinished('failed', 1, 0), { instanceOf: RangeError });
});
