// Admin pages: the organization's users (admin; a superadmin: everyone) and named API tokens (every
// signed-in user its own; an admin its organization's). Only what the API allows is offered: roles
// up to the caller's own, no role change or disabling of oneself, a superadmin's role left alone.
// A new token's secret is shown once, in a panel that only this page's memory holds (navigating away
// drops it). API errors appear beside the form or row they belong to, with the field marked invalid;
// nothing typed is cleared by a refusal. Selects carry an aria-label as well as their <label>: a
// wrapping label would otherwise lend them the chosen option's text as part of their name. The API is the gate: it refuses what the page hides.
import { api, whoAmI } from './api.js';
import { confirmAction, el, say, table, when } from './ui.js';

const ORDER = ['viewer', 'operator', 'admin', 'superadmin'];
const allows = (have, need) => ORDER.indexOf(have) >= ORDER.indexOf(need);
const isAdmin = () => allows(whoAmI()?.role, 'admin');
/** A superadmin (server-wide) picks the organization a user or token goes in. */
const isServerWide = () => whoAmI()?.role === 'superadmin' || whoAmI()?.organization === null;

/** An error area beside a form: role=alert so it is announced, and the named field marked. */
function errorArea(id) {
  const p = el('p', { id, class: 'form-error', role: 'alert', hidden: true });
  let marked = [];
  return {
    node: p,
    clear() {
      p.hidden = true;
      p.textContent = '';
      for (const [f, described] of marked) {
        f.removeAttribute('aria-invalid');
        if (described) f.setAttribute('aria-describedby', described);
        else f.removeAttribute('aria-describedby');
      }
      marked = [];
    },
    show(err, fields = {}) {
      this.clear();
      const f = err.field ? fields[err.field] : undefined;
      p.textContent = `Refused: ${err.message}${err.field && !f ? ` (${err.field})` : ''}`;
      p.hidden = false;
      if (f) {
        const described = f.getAttribute('aria-describedby');
        f.setAttribute('aria-invalid', 'true');
        f.setAttribute('aria-describedby', described ? `${id} ${described}` : id);
        marked.push([f, described]);
        f.focus();
      }
    },
  };
}

const roleOptions = (upTo, selected, withSuper = false) =>
  ORDER.filter((r) => allows(upTo, r) && (withSuper || r !== 'superadmin')).map((r) =>
    el('option', { value: r, selected: r === selected }, r),
  );

async function organizationSelect(id) {
  const orgs = await api('GET', '/api/v1/organizations');
  return el(
    'select',
    { id, 'aria-label': 'Organization' },
    el('option', { value: '' }, '(none: server-wide)'),
    orgs.items.map((o) => el('option', { value: o.name }, o.name)),
  );
}

function refusedPage(main, title, text) {
  main.replaceChildren(el('h2', {}, title), el('p', { role: 'alert', class: 'form-error' }, text));
}

export async function renderUsers(main) {
  const me = whoAmI();
  let list;
  try {
    list = await api('GET', '/api/v1/users');
  } catch (err) {
    if (err.status === 403) return refusedPage(main, 'Users', "Only an organization's admin manages users.");
    throw err;
  }
  const serverWide = isServerWide();
  const name = el('input', { id: 'u-name', required: true, autocomplete: 'off', maxlength: 64 });
  const role = el(
    'select',
    { id: 'u-role', 'aria-label': 'Role' },
    roleOptions(me.role, 'viewer', serverWide),
  );
  const password = el('input', {
    id: 'u-password',
    type: 'password',
    required: true,
    minlength: 10,
    autocomplete: 'new-password',
    'aria-describedby': 'u-password-help',
  });
  const org = serverWide ? await organizationSelect('u-org') : undefined;
  const addError = errorArea('u-add-error');
  const form = el(
    'form',
    { class: 'inline', 'aria-labelledby': 'u-new' },
    el('label', { for: 'u-name' }, 'Name', name),
    el('label', { for: 'u-role' }, 'Role', role),
    org ? el('label', { for: 'u-org' }, 'Organization', org) : '',
    el(
      'label',
      { for: 'u-password' },
      'Initial password',
      password,
      el('span', { id: 'u-password-help', class: 'muted' }, 'at least 10 characters'),
    ),
    el('button', { type: 'submit' }, 'Add user'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    addError.clear();
    const body = { name: name.value, role: role.value, password: password.value };
    if (org?.value) body.organization = org.value;
    try {
      const u = await api('POST', '/api/v1/users', body);
      await renderUsers(main);
      say(`User ${u.name} added (${u.role}${u.organization ? ` in ${u.organization}` : ''}).`);
    } catch (err) {
      addError.show(err, { name, role, password, organization: org });
    }
  });

  const rows = list.items.map((u) => userRow(main, u, me, serverWide));
  const headers = [
    'Name',
    ...(serverWide ? ['Organization'] : []),
    'Role',
    'State',
    'Created',
    'Password set',
    '',
  ];
  main.replaceChildren(
    el('h2', { id: 'u-new' }, 'Add a user'),
    form,
    addError.node,
    el(
      'section',
      { 'aria-labelledby': 'u-title' },
      el('h2', { id: 'u-title' }, 'Users'),
      el(
        'p',
        { class: 'muted' },
        'A role change applies at once to the user’s sessions and tokens; a disabled user can no longer sign in and its tokens stop working.',
      ),
      table(serverWide ? 'Users of every organization' : `Users of ${me.organization}`, headers, rows),
    ),
  );
}

function userRow(main, u, me, serverWide) {
  const isSelf = me.user === u.name;
  // The API refuses changes to oneself (role, disabling), to a superadmin's role, and to anyone above.
  const mayManage = allows(me.role, u.role);
  const rowError = errorArea(`u-err-${u.id}`);
  const cells = [el('th', { scope: 'row' }, u.name, isSelf ? el('span', { class: 'muted' }, ' (you)') : '')];
  if (serverWide) cells.push(el('td', {}, u.organization ?? '(server-wide)'));

  let roleCell = u.role;
  if (mayManage && !isSelf && u.role !== 'superadmin') {
    const select = el(
      'select',
      { id: `u-role-${u.id}`, 'aria-label': `Role of ${u.name}` },
      roleOptions(me.role, u.role),
    );
    const save = el('button', { type: 'button', class: 'secondary' }, `Change role`);
    save.setAttribute('aria-label', `Change role of ${u.name}`);
    save.addEventListener('click', async () => {
      rowError.clear();
      if (select.value === u.role) return say(`${u.name} is already ${u.role}.`);
      try {
        const changed = await api('PUT', `/api/v1/users/${encodeURIComponent(u.name)}/role`, {
          role: select.value,
        });
        await renderUsers(main);
        say(`${changed.name} is now ${changed.role}.`);
      } catch (err) {
        rowError.show(err, { role: select });
      }
    });
    roleCell = el('span', { class: 'assign' }, select, save);
  }
  cells.push(el('td', {}, roleCell));
  cells.push(
    el(
      'td',
      {},
      el('span', { class: `badge ${u.disabled ? 'revoked' : 'active'}` }, u.disabled ? 'disabled' : 'active'),
    ),
  );
  cells.push(el('td', {}, when(u.createdAt)), el('td', {}, when(u.passwordChangedAt)));

  const actions = el('td', {});
  if (mayManage) {
    if (!isSelf) {
      const toggle = el(
        'button',
        {
          type: 'button',
          class: u.disabled ? 'secondary' : 'danger',
          'aria-label': `${u.disabled ? 'Enable' : 'Disable'} user ${u.name}`,
        },
        u.disabled ? 'Enable' : 'Disable',
      );
      toggle.addEventListener('click', async () => {
        rowError.clear();
        if (
          !u.disabled &&
          !(await confirmAction(
            `Disable user ${u.name}?`,
            'Its sessions end and its API tokens stop working until it is enabled again.',
            'Disable user',
          ))
        )
          return;
        try {
          await api('PUT', `/api/v1/users/${encodeURIComponent(u.name)}/disabled`, { disabled: !u.disabled });
          await renderUsers(main);
          say(`User ${u.name} ${u.disabled ? 'enabled' : 'disabled'}.`);
        } catch (err) {
          rowError.show(err);
        }
      });
      actions.append(toggle, ' ');
    }
    const pw = el('input', {
      id: `u-pw-${u.id}`,
      type: 'password',
      required: true,
      minlength: 10,
      autocomplete: 'new-password',
    });
    const pwForm = el(
      'form',
      { class: 'inline', hidden: true, 'aria-label': `New password for ${u.name}` },
      // Whose password it is, for password managers (not shown; the label names the user).
      el('input', { type: 'text', autocomplete: 'username', value: u.name, readonly: true, hidden: true }),
      el('label', { for: `u-pw-${u.id}` }, `New password for ${u.name}`, pw),
      el('button', { type: 'submit' }, 'Set password'),
    );
    const open = el(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'aria-expanded': 'false',
        'aria-label': `Set a password for ${u.name}`,
      },
      'Set password…',
    );
    open.addEventListener('click', () => {
      pwForm.hidden = !pwForm.hidden;
      open.setAttribute('aria-expanded', String(!pwForm.hidden));
      if (!pwForm.hidden) pw.focus();
    });
    pwForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      rowError.clear();
      try {
        await api('PUT', `/api/v1/users/${encodeURIComponent(u.name)}/password`, { password: pw.value });
        pw.value = '';
        pwForm.hidden = true;
        open.setAttribute('aria-expanded', 'false');
        say(`New password set for ${u.name}; its sessions have ended.`);
      } catch (err) {
        rowError.show(err, { password: pw });
      }
    });
    actions.append(open, pwForm);
  }
  actions.append(rowError.node);
  cells.push(actions);
  return el('tr', {}, cells);
}

export async function renderTokens(main) {
  const me = whoAmI();
  const admin = isAdmin();
  const serverWide = isServerWide();
  const name = el('input', { id: 't-name', required: true, autocomplete: 'off', maxlength: 64 });
  const role = el(
    'select',
    { id: 't-role', 'aria-label': 'Role' },
    roleOptions(me.role, me.role, serverWide),
  );
  const expires = el('input', { id: 't-expires', type: 'date', 'aria-describedby': 't-expires-help' });
  // Whom it acts for: oneself, or, for an admin, the organization itself (no user: it outlives staff
  // changes) or another user of the organization.
  let forWhom;
  if (admin) {
    const users = (await api('GET', '/api/v1/users')).items.filter((u) => u.name !== me.user && !u.disabled);
    forWhom = el(
      'select',
      { id: 't-for', 'aria-label': 'For' },
      // A token-file caller has no "myself": its tokens are the organization's.
      el('option', { value: '' }, me.user ? `Myself (${me.user})` : 'The organization (no user)'),
      me.user ? el('option', { value: '@org' }, 'The organization (no user)') : '',
      users
        .filter((u) => allows(me.role, u.role))
        .map((u) => el('option', { value: u.name }, `User ${u.name} (${u.role})`)),
    );
    // A user's token never acts above that user: offer only the roles the API would accept.
    const roleOf = new Map(users.map((u) => [u.name, u.role]));
    forWhom.addEventListener('change', () => {
      const upTo = roleOf.get(forWhom.value) ?? me.role;
      role.replaceChildren(...roleOptions(upTo, upTo, serverWide && !roleOf.has(forWhom.value)));
    });
  }
  const org = serverWide ? await organizationSelect('t-org') : undefined;
  const addError = errorArea('t-add-error');
  const secretPanel = el('div', { id: 't-secret' });
  const form = el(
    'form',
    { class: 'inline', 'aria-labelledby': 't-new' },
    el('label', { for: 't-name' }, 'Name', name),
    el('label', { for: 't-role' }, 'Role', role),
    forWhom ? el('label', { for: 't-for' }, 'For', forWhom) : '',
    org ? el('label', { for: 't-org' }, 'Organization', org) : '',
    el(
      'label',
      { for: 't-expires' },
      'Expires (optional)',
      expires,
      el('span', { id: 't-expires-help', class: 'muted' }, 'at 00:00 UTC that day'),
    ),
    el('button', { type: 'submit' }, 'Create token'),
  );
  const tableHolder = el('div', {});
  const reload = async () => {
    const list = await api('GET', '/api/v1/tokens');
    tableHolder.replaceChildren(tokenTable(list.items, serverWide, reload));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    addError.clear();
    const body = { name: name.value, role: role.value };
    if (expires.value) body.expiresAt = expires.value;
    const isForOrganization = forWhom?.value === '@org' || !me.user;
    if (forWhom?.value === '@org') body.user = null;
    else if (forWhom?.value) body.user = forWhom.value;
    if (org?.value && isForOrganization && !body.user) body.organization = org.value;
    try {
      const t = await api('POST', '/api/v1/tokens', body);
      showSecret(secretPanel, t);
      name.value = '';
      expires.value = '';
      await reload();
    } catch (err) {
      addError.show(err, {
        name,
        role,
        expiresAt: expires,
        user: forWhom,
        organization: org,
      });
    }
  });
  main.replaceChildren(
    el('h2', { id: 't-new' }, 'Create an API token'),
    el(
      'p',
      { class: 'muted' },
      admin
        ? 'A token acts with its role (never above yours, nor above its user’s current role) until it expires or is revoked.'
        : 'Your tokens act as you, with at most your role, until they expire or are revoked.',
    ),
    form,
    addError.node,
    secretPanel,
    el(
      'section',
      { 'aria-labelledby': 't-title' },
      el('h2', { id: 't-title' }, admin ? 'API tokens of the organization' : 'Your API tokens'),
      tableHolder,
    ),
  );
  await reload();
}

/** The new secret, once: a read-only field to select, a copy button, and a plain warning. */
function showSecret(panel, t) {
  const field = el('input', {
    id: 't-secret-value',
    class: 'mono secret',
    readonly: true,
    value: t.token,
    size: 56,
    'aria-describedby': 't-secret-warning',
  });
  const copy = el('button', { type: 'button' }, 'Copy token');
  copy.addEventListener('click', async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(t.token);
      say(`Token ${t.name} copied to the clipboard.`);
    } catch {
      say('Copying was not allowed here: the token is selected, copy it with Ctrl+C.', true);
    }
  });
  const done = el('button', { type: 'button', class: 'secondary' }, 'I have saved it: hide');
  done.addEventListener('click', () => {
    panel.replaceChildren();
    say(`Token ${t.name} hidden; it cannot be shown again.`);
  });
  panel.replaceChildren(
    el(
      'section',
      { class: 'secret-panel', 'aria-labelledby': 't-secret-title' },
      el('h3', { id: 't-secret-title' }, `New token ${t.name} (${t.role})`),
      el(
        'p',
        { id: 't-secret-warning' },
        el('strong', {}, 'Copy it now: you will not see it again.'),
        ' Only its digest is stored; if it is lost, revoke it and create another.',
      ),
      el('label', { for: 't-secret-value' }, 'Token', field),
      el('div', { class: 'actions start' }, copy, done),
    ),
  );
  field.focus();
  field.select();
}

function tokenState(t) {
  if (t.revokedAt) return el('span', { class: 'badge revoked' }, `revoked ${when(t.revokedAt)}`);
  if (t.expiresAt && Date.parse(t.expiresAt) <= Date.now())
    return el('span', { class: 'badge revoked' }, 'expired');
  return el('span', { class: 'badge active' }, 'active');
}

function tokenTable(items, serverWide, reload) {
  if (!items.length) return el('p', {}, 'No API tokens yet.');
  const rowError = errorArea('t-row-error');
  const rows = items.map((t) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, t.name),
      serverWide ? el('td', {}, t.organization ?? '(server-wide)') : '',
      el('td', {}, t.user ?? el('span', { class: 'muted' }, 'organization')),
      el('td', {}, t.role),
      el('td', {}, t.expiresAt ? when(t.expiresAt) : 'never'),
      el('td', {}, t.lastUsedAt ? when(t.lastUsedAt) : 'never'),
      el('td', {}, tokenState(t)),
      el('td', { class: 'mono' }, t.createdBy),
      el(
        'td',
        {},
        t.revokedAt
          ? ''
          : el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Revoke token ${t.name}`,
                onclick: async () => {
                  rowError.clear();
                  if (
                    !(await confirmAction(
                      `Revoke token ${t.name}?`,
                      'Whatever uses it is refused from now on. This cannot be undone.',
                      'Revoke token',
                    ))
                  )
                    return;
                  try {
                    await api('DELETE', `/api/v1/tokens/${t.id}`);
                    await reload();
                    say(`Token ${t.name} revoked.`);
                  } catch (err) {
                    rowError.show(err);
                  }
                },
              },
              'Revoke',
            ),
      ),
    ),
  );
  return el(
    'div',
    {},
    rowError.node,
    table(
      'Named API tokens',
      [
        'Name',
        ...(serverWide ? ['Organization'] : []),
        'User',
        'Role',
        'Expires',
        'Last used',
        'State',
        'Created by',
        '',
      ],
      rows,
    ),
  );
}
