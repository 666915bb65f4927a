// Networks page (list, create with a /64 prefix, delete an empty one with confirmation) and the audit
// log (filters, newest first, "older" pages by cursor).
import { api } from './api.js';
import { badge, confirmAction, el, fail, say, short, table, when } from './ui.js';

export async function renderNetworks(main) {
  const list = await api('GET', '/api/v1/networks');
  const name = el('input', { id: 'net-name', name: 'name', required: true, autocomplete: 'off' });
  const prefix = el('input', {
    id: 'net-prefix',
    name: 'prefix',
    required: true,
    placeholder: '2001:db8:1:2::/64',
    autocomplete: 'off',
  });
  const form = el(
    'form',
    { class: 'inline', 'aria-labelledby': 'net-new', 'data-needs': 'operator' },
    el('label', { for: 'net-name' }, 'Name', name),
    el('label', { for: 'net-prefix' }, 'IPv6 /64 prefix', prefix),
    el('button', { type: 'submit' }, 'Create network'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const n = await api('POST', '/api/v1/networks', { name: name.value, prefix: prefix.value });
      await renderNetworks(main);
      say(`Network ${n.name} created (${n.prefix}).`);
    } catch (err) {
      fail(err);
    }
  });
  const rows = list.items.map((n) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, n.name),
      el('td', { class: 'mono' }, n.prefix),
      el('td', {}, when(n.createdAt)),
      el(
        'td',
        {},
        el(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-needs': 'operator',
            'aria-label': `Delete network ${n.name}`,
            onclick: async () => {
              if (
                !(await confirmAction(
                  `Delete network ${n.name}?`,
                  'Only a network without batches can be deleted.',
                  'Delete network',
                ))
              )
                return;
              try {
                await api('DELETE', `/api/v1/networks/${n.id}`);
                await renderNetworks(main);
                say(`Network ${n.name} deleted.`);
              } catch (err) {
                fail(err);
              }
            },
          },
          'Delete',
        ),
      ),
    ),
  );
  main.replaceChildren(
    el('h2', { id: 'net-new', 'data-needs': 'operator' }, 'New network'),
    form,
    el(
      'section',
      { 'aria-labelledby': 'net-title' },
      el('h2', { id: 'net-title' }, 'Networks'),
      rows.length
        ? table('Networks and their prefixes', ['Name', 'Prefix', 'Created', ''], rows)
        : el('p', {}, 'No networks yet.'),
    ),
  );
}

export async function renderAudit(main) {
  const outcome = el(
    'select',
    { id: 'a-outcome' },
    ['', 'provisioned', 'refused', 'failed'].map((s) => el('option', { value: s }, s || 'all')),
  );
  const batches = await api('GET', '/api/v1/batches');
  const batch = el(
    'select',
    { id: 'a-batch' },
    el('option', { value: '' }, 'all'),
    batches.items.map((b) => el('option', { value: b.name }, b.name)),
  );
  const since = el('input', { id: 'a-since', type: 'datetime-local' });
  const auditTable = table(
    'Handshakes, newest first',
    ['Time', 'Outcome', 'Reason', 'Source', 'Geolocation', 'Group', 'Pseudonym', 'Identity'],
    [],
  );
  const tbody = auditTable.tBodies[0];
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Older entries');
  let cursor = null;
  const load = async (isReset) => {
    const q = new URLSearchParams({ limit: '50' });
    if (outcome.value) q.set('outcome', outcome.value);
    if (batch.value) q.set('batch', batch.value);
    if (since.value) q.set('since', new Date(since.value).toISOString());
    if (!isReset && cursor) q.set('cursor', cursor);
    const page = await api('GET', `/api/v1/audit?${q}`);
    const rows = page.items.map((e) =>
      el(
        'tr',
        {},
        el('td', {}, when(e.at)),
        el('td', {}, badge(e.outcome)),
        el('td', {}, e.reason),
        el('td', { class: 'mono' }, `${e.sourceAddress} ${e.sourcePort}`),
        el('td', {}, e.geolocation ?? ''),
        el('td', { class: 'mono', title: e.gid ?? '' }, short(e.gid)),
        el('td', { class: 'mono', title: e.pseudonym ?? '' }, short(e.pseudonym)),
        el(
          'td',
          {},
          e.identity ? el('a', { href: `#device/${encodeURIComponent(e.identity)}` }, e.identity) : '',
        ),
      ),
    );
    if (isReset) tbody.replaceChildren(...rows);
    else tbody.append(...rows);
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  for (const s of [outcome, batch, since]) s.addEventListener('change', () => load(true).catch(fail));
  more.addEventListener('click', () => load(false).catch(fail));
  main.replaceChildren(
    el('h2', { id: 'audit-title' }, 'Audit log'),
    el(
      'section',
      { 'aria-labelledby': 'audit-title' },
      el(
        'form',
        {
          class: 'inline',
          role: 'search',
          'aria-label': 'Filter audit',
          onsubmit: (e) => e.preventDefault(),
        },
        el('label', { for: 'a-outcome' }, 'Outcome', outcome),
        el('label', { for: 'a-batch' }, 'Batch', batch),
        el('label', { for: 'a-since' }, 'Since', since),
      ),
      auditTable,
      more,
    ),
  );
  await load(true);
}
