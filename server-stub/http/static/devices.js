// Devices page (with live arrival from the event stream) and one device's page (identity,
// pseudonym, handshakes, source addresses, geolocation, history; revoke and allow re-key).
// Certificate devices (PKI option) show their CA and certificate instead of batch and pseudonym.
import { api, listen } from './api.js';
import { badge, confirmAction, el, fail, say, short, table, when } from './ui.js';

const origin = (d) => (d.kind === 'certificate' ? `CA ${d.ca}` : `batch ${d.batch}`);

async function revoke(d, after) {
  const ok = await confirmAction(
    `Revoke device ${d.identity}?`,
    `Device ${d.identity} of ${origin(d)} will be refused at its next handshake.`,
    'Revoke device',
  );
  if (!ok) return say('Revocation cancelled.');
  try {
    await api('POST', `/api/v1/devices/${d.id}/revoke`);
    say(`Device ${d.identity} revoked.`);
    await after();
  } catch (err) {
    fail(err);
  }
}

export async function renderDevices(main) {
  const batches = await api('GET', '/api/v1/batches');
  const batch = el(
    'select',
    { id: 'f-batch' },
    el('option', { value: '' }, 'all'),
    batches.items.map((b) => el('option', { value: b.name }, b.name)),
  );
  const status = el(
    'select',
    { id: 'f-status' },
    ['', 'active', 'revoked'].map((s) => el('option', { value: s }, s || 'all')),
  );
  const since = el('input', { id: 'f-since', type: 'datetime-local' });
  const body = el('div', { id: 'device-list' });
  const known = new Set();
  let isFirst = true;

  const load = async () => {
    const q = new URLSearchParams({ limit: '1000' });
    if (batch.value) q.set('batch', batch.value);
    if (status.value) q.set('status', status.value);
    if (since.value) q.set('since', new Date(since.value).toISOString());
    const list = await api('GET', `/api/v1/devices?${q}`);
    const rows = list.items.map((d) => {
      const isNew = !isFirst && !known.has(d.id);
      known.add(d.id);
      return el(
        'tr',
        { class: isNew ? 'fresh' : undefined, 'data-id': d.id },
        el('th', { scope: 'row' }, el('a', { href: `#device/${d.id}` }, d.identity)),
        el('td', {}, d.kind === 'certificate' ? `CA ${d.ca}` : d.batch),
        el('td', {}, badge(d.status)),
        el('td', {}, when(d.firstHandshakeAt)),
        el('td', {}, when(d.lastHandshakeAt)),
        el('td', {}, String(d.handshakeCount)),
        el('td', { class: 'mono' }, d.lastSource ?? ''),
        el(
          'td',
          {},
          d.status === 'active'
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'data-needs': 'operator',
                  'aria-label': `Revoke device ${d.identity}`,
                  onclick: () => revoke(d, load),
                },
                'Revoke',
              )
            : '',
        ),
      );
    });
    isFirst = false;
    body.replaceChildren(
      rows.length
        ? table(
            `${rows.length} devices`,
            [
              'Identity',
              'Batch or CA',
              'Status',
              'First handshake',
              'Last handshake',
              'Handshakes',
              'Last source',
              '',
            ],
            rows,
          )
        : el('p', {}, 'No devices yet. They appear here as they complete their first handshake.'),
    );
  };
  batch.addEventListener('change', () => load().catch(fail));
  status.addEventListener('change', () => load().catch(fail));
  since.addEventListener('change', () => load().catch(fail));

  main.replaceChildren(
    el('h2', { id: 'devices-title' }, 'Devices'),
    el(
      'section',
      { 'aria-labelledby': 'devices-title' },
      el(
        'form',
        {
          class: 'inline',
          role: 'search',
          'aria-label': 'Filter devices',
          onsubmit: (e) => e.preventDefault(),
        },
        el('label', { for: 'f-batch' }, 'Batch', batch),
        el('label', { for: 'f-status' }, 'Status', status),
        el('label', { for: 'f-since' }, 'First handshake since', since),
      ),
      el('p', { class: 'muted' }, 'New devices appear live.'),
      body,
    ),
  );
  await load();
  const ac = new AbortController();
  void listen((type, data) => {
    if (type === 'audit' && data.outcome === 'provisioned') {
      load().then(() => say(`Handshake from ${data.sourceAddress}: ${data.identity} provisioned.`), fail);
    } else if (type === 'device') {
      load().catch(fail);
    }
  }, ac.signal);
  return () => ac.abort();
}

export async function renderDevice(main, id) {
  const d = await api('GET', `/api/v1/devices/${id}`);
  const history = await api('GET', `/api/v1/devices/${id}/history?limit=200`);
  const reload = () => renderDevice(main, id);
  const facts = [
    ['Identity', d.identity],
    ['Status', badge(d.status)],
    ...(d.kind === 'certificate'
      ? [
          ['CA', d.ca],
          ['Subject', d.certificate.subject],
          ['Issuer', d.certificate.issuer],
          ['Serial', el('span', { class: 'mono' }, d.certificate.serial)],
          ['Fingerprint', el('span', { class: 'mono' }, d.certificate.fingerprint)],
          ['Valid', `${when(d.certificate.notBefore)} to ${when(d.certificate.notAfter)}`],
          ['Proof of key', d.certificate.method],
        ]
      : [
          ['Batch', d.batch],
          ['Pseudonym', el('span', { class: 'mono' }, d.pseudonym)],
          ['Long-term key', el('span', { class: 'mono' }, short(d.longtermPublicKey, 40))],
        ]),
    ['First handshake', when(d.firstHandshakeAt)],
    ['Last handshake', when(d.lastHandshakeAt)],
    ['Handshakes', String(d.handshakeCount)],
    ['Geolocation', d.geolocation ?? 'unknown'],
    ['Re-key allowed', d.allowRekey ? 'yes (once)' : 'no'],
  ];
  main.replaceChildren(
    el('h2', { id: 'device-title' }, `Device ${d.identity}`),
    el(
      'section',
      { 'aria-labelledby': 'device-title' },
      el(
        'dl',
        { class: 'facts' },
        facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
      ),
      el(
        'p',
        { class: 'actions start', 'data-needs': 'operator' },
        d.status === 'active'
          ? el(
              'button',
              { type: 'button', class: 'danger', onclick: () => revoke(d, reload) },
              'Revoke device',
            )
          : '',
        el(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              try {
                await api('PUT', `/api/v1/devices/${id}/allow-rekey`, { allow: !d.allowRekey });
                say(
                  d.allowRekey
                    ? 'Re-key no longer allowed.'
                    : 'The device may present a new long-term key once.',
                );
                await reload();
              } catch (err) {
                fail(err);
              }
            },
          },
          d.allowRekey ? 'Withdraw re-key' : 'Allow re-key',
        ),
      ),
    ),
    el(
      'section',
      { 'aria-labelledby': 'sources-title' },
      el('h2', { id: 'sources-title' }, 'Source addresses'),
      table(
        'Where handshakes came from',
        ['Address', 'Last seen', 'Handshakes', 'Geolocation'],
        d.sources.map((s) =>
          el(
            'tr',
            {},
            el('td', { class: 'mono' }, s.address),
            el('td', {}, when(s.lastSeenAt)),
            el('td', {}, String(s.count)),
            el('td', {}, s.geolocation ?? ''),
          ),
        ),
      ),
    ),
    el(
      'section',
      { 'aria-labelledby': 'history-title' },
      el('h2', { id: 'history-title' }, 'History'),
      table(
        'Handshakes, newest first',
        ['Time', 'Outcome', 'Reason', 'Source', 'Suite'],
        history.items.map((e) =>
          el(
            'tr',
            {},
            el('td', {}, when(e.at)),
            el('td', {}, badge(e.outcome)),
            el('td', {}, e.reason),
            el('td', { class: 'mono' }, `${e.sourceAddress} ${e.sourcePort}`),
            el('td', {}, e.suite ?? ''),
          ),
        ),
      ),
    ),
  );
}
