// Small DOM helpers for the dashboard: element builder (text only, never innerHTML with data), a
// status line announced to screen readers, the confirmation dialog, and formatting.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function say(text, isError = false) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

export function fail(err) {
  say(err.field ? `${err.message} (${err.field})` : err.message, true);
}

/** Resolves true when the operator confirms; the <dialog> traps focus and Esc cancels. */
export function confirmAction(title, text, action) {
  const d = document.getElementById('confirm');
  d.querySelector('#confirm-title').textContent = title;
  d.querySelector('#confirm-text').textContent = text;
  d.querySelector('#confirm-ok').textContent = action;
  d.returnValue = 'cancel';
  d.showModal();
  return new Promise((resolve) =>
    d.addEventListener(
      'close',
      () => {
        // Not left in the page for whoever signs in next in this browser.
        d.querySelector('#confirm-title').textContent = 'Are you sure?';
        d.querySelector('#confirm-text').textContent = '';
        resolve(d.returnValue === 'ok');
      },
      { once: true },
    ),
  );
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
export const short = (hex, n = 12) => (hex && hex.length > n ? `${hex.slice(0, n)}…` : (hex ?? ''));
export const badge = (s) => el('span', { class: `badge ${s}` }, s);

export function table(caption, headers, rows) {
  return el(
    'table',
    {},
    el('caption', {}, caption),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h) => el('th', { scope: 'col' }, h)),
      ),
    ),
    el('tbody', {}, rows),
  );
}
