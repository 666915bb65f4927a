// Dashboard shell: sign-in with a name and password (or an API token), hash routing between pages,
// focus moved to the page heading on navigation, the current section marked with aria-current. The
// signed-in role is on <body data-role>: controls that change things (data-needs="operator") are not
// shown to viewers, nor admin entries (data-needs="admin": Users) below admin (style.css); the API
// refuses them anyway.
import { renderTokens, renderUsers } from './admin.js';
import { loadSession, signInWithPassword, signOut, token, whoAmI } from './api.js';
import { renderBatches } from './batches.js';
import { renderCas } from './cas.js';
import { renderDevice, renderDevices } from './devices.js';
import { renderOverview } from './overview.js';
import { renderAudit, renderNetworks } from './pages.js';
import { el, fail, say } from './ui.js';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
let cleanup;

function signIn(message) {
  document.body.removeAttribute('data-role');
  logout.hidden = true;
  const name = el('input', { id: 'user', required: true, autocomplete: 'username' });
  const password = el('input', {
    id: 'password',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
  });
  const form = el(
    'form',
    { class: 'inline', 'aria-labelledby': 'signin-title' },
    el('label', { for: 'user' }, 'Name', name),
    el('label', { for: 'password' }, 'Password', password),
    el('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await signInWithPassword(name.value, password.value);
      password.value = '';
      void route();
    } catch (err) {
      password.value = '';
      say(
        err.status === 401
          ? 'Wrong name or password.'
          : err.status === 429
            ? 'Too many failed sign-ins: wait a little and try again.'
            : err.message,
        true,
      );
      password.focus();
    }
  });
  const input = el('input', { id: 'token', type: 'password', required: true, autocomplete: 'off' });
  const tokenForm = el(
    'form',
    { class: 'inline', 'aria-label': 'Sign in with a token' },
    el('label', { for: 'token' }, 'API token', input),
    el('button', { type: 'submit', class: 'secondary' }, 'Use token'),
  );
  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    token.set(input.value);
    void route();
  });
  main.replaceChildren(
    el('h2', { id: 'signin-title' }, 'Sign in'),
    message ? el('p', { class: 'error', role: 'alert' }, message) : '',
    form,
    el('details', {}, el('summary', {}, 'Sign in with an API token instead'), tokenForm),
  );
  name.focus();
}

async function route() {
  cleanup?.();
  cleanup = undefined;
  const wasSignedIn = whoAmI() !== undefined;
  let me;
  try {
    me = await loadSession();
  } catch (err) {
    return fail(err);
  }
  if (!me) {
    const wasToken = token.get() !== null;
    token.clear();
    return signIn(
      wasSignedIn
        ? 'Your session has ended; sign in again.'
        : wasToken
          ? 'The token was refused.'
          : undefined,
    );
  }
  document.body.dataset.role = me.role;
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
    else if (page === 'users') await renderUsers(main);
    else if (page === 'tokens') await renderTokens(main);
    else cleanup = await renderBatches(main);
    document.title = `${main.querySelector('h2')?.textContent ?? 'Dashboard'} · ENF server`;
    main.focus();
  } catch (err) {
    if (err.status !== 401) fail(err);
  }
}

window.addEventListener('enf-unauthorized', () => {
  token.clear();
  say('Your session has ended (or the token was refused); sign in again.', true);
  signIn('Your session has ended; sign in again.');
});
logout.addEventListener('click', async () => {
  try {
    await signOut();
  } catch (err) {
    fail(err);
  }
  say('Signed out.');
  signIn();
});
window.addEventListener('hashchange', () => void route());
void route();
