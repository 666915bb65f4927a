// Dashboard shell: sign-in with the API token, hash routing between pages, focus moved to the page
// heading on navigation, the current section marked with aria-current.
import { token } from './api.js';
import { renderBatches } from './batches.js';
import { renderCas } from './cas.js';
import { renderDevice, renderDevices } from './devices.js';
import { renderOverview } from './overview.js';
import { renderAudit, renderNetworks } from './pages.js';
import { el, fail, say } from './ui.js';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
let cleanup;

function signIn() {
  const input = el('input', {
    id: 'token',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
  });
  const form = el(
    'form',
    { class: 'inline', 'aria-labelledby': 'signin-title' },
    el('label', { for: 'token' }, 'API token', input),
    el('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    token.set(input.value);
    void route();
  });
  main.replaceChildren(
    el('h2', { id: 'signin-title' }, 'Sign in'),
    el('p', {}, "Paste an API token from the server's token file."),
    form,
  );
  input.focus();
}

async function route() {
  cleanup?.();
  cleanup = undefined;
  if (!token.get()) return signIn();
  logout.hidden = false;
  const [page, arg] = (location.hash.slice(1) || 'batches').split('/');
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#${page === 'device' ? 'devices' : page}`)
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (page === 'networks') await renderNetworks(main);
    else if (page === 'cas') await renderCas(main);
    else if (page === 'devices') cleanup = await renderDevices(main);
    else if (page === 'device' && arg) await renderDevice(main, decodeURIComponent(arg));
    else if (page === 'audit') await renderAudit(main);
    else if (page === 'overview') await renderOverview(main);
    else cleanup = await renderBatches(main);
    document.title = `${main.querySelector('h2')?.textContent ?? 'Dashboard'} · ENF server`;
    main.focus();
  } catch (err) {
    if (err.status !== 401) fail(err);
  }
}

window.addEventListener('enf-unauthorized', () => {
  token.clear();
  say('The token was refused; sign in again.', true);
  signIn();
});
logout.addEventListener('click', () => {
  token.clear();
  logout.hidden = true;
  say('Signed out.');
  signIn();
});
window.addEventListener('hashchange', () => void route());
void route();
