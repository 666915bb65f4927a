// The overview page: one organization's devices provisioned per day, handshakes by outcome and
// refusal reason, batches filling up against their quota, and where handshakes came from, drawn as
// SVG from GET /api/v1/overview (charts.js), each chart followed by its figures as a table (the text
// alternative, and what a screen reader reads). A superadmin picks the organization.
import { api } from './api.js';
import { barChart, columnChart } from './charts.js';
import { el, fail, table } from './ui.js';

const OUTCOME_PATTERN = { provisioned: 'solid', refused: 'stripes', failed: 'dots' };
const DAY_MS = 86_400_000;

/** Every day of the window, with 0 where nothing was provisioned. */
function allDays(since, days, counts) {
  const byDay = new Map(counts.map((d) => [d.day, d.count]));
  const start = Date.parse(since);
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(start + i * DAY_MS).toISOString().slice(0, 10);
    return { day, count: byDay.get(day) ?? 0 };
  });
}

function section(id, title, ...content) {
  return el(
    'section',
    { 'aria-labelledby': id, class: 'overview-part' },
    el('h3', { id }, title),
    ...content,
  );
}

function figures(caption, headers, rows) {
  return el(
    'details',
    {},
    el('summary', {}, `${caption}: the figures`),
    table(
      caption,
      headers,
      rows.map((r) =>
        el(
          'tr',
          {},
          r.map((c) => el('td', {}, c)),
        ),
      ),
    ),
  );
}

export async function renderOverview(main) {
  const orgs = (await api('GET', '/api/v1/organizations')).items;
  const picker = el(
    'select',
    { id: 'o-org' },
    orgs.length > 1 ? el('option', { value: '' }, 'all organizations') : null,
    orgs.map((o) => el('option', { value: o.name }, o.name)),
  );
  const range = el(
    'select',
    { id: 'o-days' },
    [7, 30, 90, 365].map((d) => el('option', { value: d, selected: d === 30 }, `${d} days`)),
  );
  const body = el('div', { id: 'overview-body' });
  const load = async () => {
    const q = new URLSearchParams({ days: range.value });
    if (picker.value && orgs.length > 1) q.set('organization', picker.value);
    const o = await api('GET', `/api/v1/overview?${q}`);
    const days = allDays(o.since, o.days, o.provisionedPerDay);
    const total = days.reduce((n, d) => n + d.count, 0);
    const busiest = days.reduce((m, d) => (d.count > m.count ? d : m), { day: '', count: 0 });
    const handshakes = o.handshakes.reduce((n, h) => n + h.count, 0);
    const who = o.organization ?? 'all organizations';
    body.replaceChildren(
      section(
        'ov-provisioned',
        'Devices provisioned per day',
        columnChart(
          `${total} devices provisioned in ${who} over the last ${o.days} days` +
            (busiest.count ? `; most on ${busiest.day} (${busiest.count})` : ''),
          days,
        ),
        figures(
          'Devices provisioned per day',
          ['Day', 'Devices'],
          days.filter((d) => d.count > 0).map((d) => [d.day, d.count]),
        ),
      ),
      section(
        'ov-handshakes',
        'Handshakes by outcome and reason',
        barChart(
          `${handshakes} handshakes in ${o.days} days by outcome and reason: ` +
            o.handshakes.map((h) => `${h.outcome} ${h.reason} ${h.count}`).join(', '),
          o.handshakes.map((h) => ({
            label: `${h.outcome}: ${h.reason}`,
            value: h.count,
            pattern: OUTCOME_PATTERN[h.outcome] ?? 'cross',
          })),
        ),
        figures(
          'Handshakes by outcome and reason',
          ['Outcome', 'Reason', 'Handshakes'],
          o.handshakes.map((h) => [h.outcome, h.reason, h.count]),
        ),
      ),
      section(
        'ov-batches',
        'Batches against their quota',
        barChart(
          `Batches filling up: ` +
            o.batches.map((b) => `${b.name} ${b.provisioned} of ${b.quota}`).join(', '),
          o.batches.map((b) => ({
            label: b.status === 'revoked' ? `${b.name} (revoked)` : b.name,
            value: b.provisioned,
            max: b.quota,
            pattern: b.status === 'revoked' ? 'stripes' : 'cross',
            text: `${b.provisioned} / ${b.quota} (${Math.round((100 * b.provisioned) / b.quota)}%)`,
          })),
        ),
        figures(
          'Batches against their quota',
          ['Batch', 'Status', 'Provisioned', 'Revoked', 'Quota'],
          o.batches.map((b) => [b.name, b.status, b.provisioned, b.revoked, b.quota]),
        ),
      ),
      section(
        'ov-places',
        'Where handshakes came from',
        barChart(
          `Handshakes by geolocation: ` +
            o.places.map((p) => `${p.geolocation ?? 'unknown'} ${p.count}`).join(', '),
          o.places.map((p) => ({ label: p.geolocation ?? 'unknown', value: p.count, pattern: 'dots' })),
        ),
        table(
          'Handshakes by geolocation',
          ['Geolocation', 'Handshakes'],
          o.places.map((p) => el('tr', {}, el('td', {}, p.geolocation ?? 'unknown'), el('td', {}, p.count))),
        ),
      ),
    );
  };
  for (const s of [picker, range]) s.addEventListener('change', () => load().catch(fail));
  main.replaceChildren(
    el('h2', { id: 'overview-title' }, 'Overview'),
    el(
      'form',
      { class: 'inline', 'aria-label': 'Overview of', onsubmit: (e) => e.preventDefault() },
      orgs.length > 1 ? el('label', { for: 'o-org' }, 'Organization', picker) : null,
      el('label', { for: 'o-days' }, 'Period', range),
    ),
    body,
  );
  await load();
}
