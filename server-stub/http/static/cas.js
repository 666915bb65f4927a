// CAs page of the PKI option: register the customer's CA certificate with a network, proving the CA
// key with a verification certificate for the server's registration code (or explicitly without
// proof), see each CA with its device and CRL counts, upload its CRL, revoke it with confirmation.
import { api } from './api.js';
import { badge, confirmAction, el, fail, say, short, table } from './ui.js';

/** Reads a chosen file's text into a textarea (PEM files are text). */
function fileInto(input, area) {
  input.addEventListener('change', async () => {
    const f = input.files?.[0];
    if (!f) return;
    area.value = await f.text();
    area.focus();
  });
}

function uploadCrl(ca, input, after) {
  input.addEventListener('change', async () => {
    const f = input.files?.[0];
    if (!f) return;
    try {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const text = new TextDecoder().decode(bytes);
      // PEM as it is; DER as base64
      const crl = text.includes('-----BEGIN') ? text : btoa(String.fromCharCode(...bytes));
      const r = await api('PUT', `/api/v1/cas/${ca.id}/crl`, { crl });
      await after();
      say(`CRL for ${ca.name}: ${r.entries} revoked serial(s).`);
    } catch (err) {
      input.value = '';
      fail(err);
    }
  });
}

async function revokeCa(ca, after) {
  const ok = await confirmAction(
    `Revoke CA ${ca.name}?`,
    `Every device certified by ${ca.name} will be refused at its next enrollment. This cannot be undone.`,
    'Revoke CA',
  );
  if (!ok) return say('Revocation cancelled.');
  try {
    await api('POST', `/api/v1/cas/${ca.id}/revoke`);
    await after();
    say(`CA ${ca.name} revoked.`);
  } catch (err) {
    fail(err);
  }
}

export async function renderCas(main) {
  const [networks, cas] = await Promise.all([api('GET', '/api/v1/networks'), api('GET', '/api/v1/cas')]);
  const cert = el('textarea', { id: 'ca-cert', required: true, spellcheck: 'false' });
  const certFile = el('input', { id: 'ca-cert-file', type: 'file', accept: '.pem,.crt,.cer' });
  const network = el(
    'select',
    { id: 'ca-network', required: true },
    networks.items.map((n) => el('option', { value: n.name }, `${n.name} ${n.prefix}`)),
  );
  const name = el('input', { id: 'ca-name', autocomplete: 'off', placeholder: 'subject CN' });
  const quota = el('input', { id: 'ca-quota', type: 'number', min: 1, placeholder: 'no limit' });
  const code = el('output', { id: 'ca-code', class: 'mono' });
  const howto = el('p', { class: 'muted', id: 'ca-howto' });
  const proof = el('textarea', { id: 'ca-proof', spellcheck: 'false' });
  const proofFile = el('input', { id: 'ca-proof-file', type: 'file', accept: '.pem,.crt,.cer' });
  const unverified = el('input', { id: 'ca-unverified', type: 'checkbox' });
  fileInto(certFile, cert);
  fileInto(proofFile, proof);

  const getCode = el('button', { type: 'button', class: 'secondary' }, 'Get registration code');
  getCode.addEventListener('click', async () => {
    try {
      const r = await api('POST', '/api/v1/cas/registration-code', { certificate: cert.value });
      code.value = r.registrationCode;
      howto.textContent =
        `Have the CA sign a certificate whose subject CN is ${r.registrationCode}, e.g. ` +
        `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout v.key ` +
        `-subj /CN=${r.registrationCode} -out v.csr; openssl x509 -req -in v.csr -CA ca.pem ` +
        `-CAkey ca.key -days 1 -out verification.pem; then paste or choose verification.pem below.`;
      say(`Registration code ${r.registrationCode}`);
    } catch (err) {
      fail(err);
    }
  });

  const form = el(
    'form',
    { class: 'stack', 'aria-labelledby': 'ca-new' },
    el('label', { for: 'ca-cert' }, 'CA certificate (PEM)', cert),
    el('label', { for: 'ca-cert-file' }, 'Or choose the CA certificate file', certFile),
    el('label', { for: 'ca-network' }, 'Network', network),
    el('label', { for: 'ca-name' }, 'CA name', name),
    el('label', { for: 'ca-quota' }, 'Device quota', quota),
    el('p', {}, getCode, ' ', el('label', { for: 'ca-code', class: 'inline-label' }, 'Code ', code)),
    howto,
    el('label', { for: 'ca-proof', class: 'wide' }, 'Verification certificate (PEM)', proof),
    el('label', { for: 'ca-proof-file' }, 'Or choose the verification certificate file', proofFile),
    el('label', { for: 'ca-unverified', class: 'check' }, unverified, 'Register without proof of the CA key'),
    el('button', { type: 'submit' }, 'Register CA'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { certificate: cert.value, network: network.value };
    if (name.value) body.name = name.value;
    if (quota.value) body.maxDevices = Number(quota.value);
    if (unverified.checked) body.unverified = true;
    if (proof.value) body.verificationCertificate = proof.value;
    try {
      const ca = await api('POST', '/api/v1/cas', body);
      await renderCas(main);
      say(`CA ${ca.name} registered${ca.verified ? ', key possession verified' : ' without proof'}.`);
    } catch (err) {
      fail(err);
    }
  });

  const byId = new Map(networks.items.map((n) => [n.id, n.name]));
  const reload = () => renderCas(main);
  const rows = cas.items.map((ca) => {
    const crl = el('input', {
      type: 'file',
      'aria-label': `CRL for CA ${ca.name}`,
      accept: '.pem,.crl,.der',
    });
    uploadCrl(ca, crl, reload);
    return el(
      'tr',
      {},
      el('th', { scope: 'row' }, ca.name),
      el('td', {}, ca.subject),
      el('td', {}, byId.get(ca.networkId) ?? String(ca.networkId)),
      el('td', {}, badge(ca.status)),
      el('td', {}, ca.verified ? 'yes' : 'no'),
      el('td', {}, `${ca.devices} (${ca.revokedDevices} revoked)`),
      el('td', {}, String(ca.crlEntries)),
      el('td', { class: 'mono', title: ca.fingerprint }, short(ca.fingerprint, 16)),
      el('td', {}, ca.status === 'active' ? crl : ''),
      el(
        'td',
        {},
        ca.status === 'active'
          ? el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Revoke CA ${ca.name}`,
                onclick: () => revokeCa(ca, reload),
              },
              'Revoke',
            )
          : '',
      ),
    );
  });
  main.replaceChildren(
    el('h2', { id: 'ca-new' }, 'Register a CA'),
    networks.items.length
      ? form
      : el('p', {}, 'Create a network first: a CA enrolls devices into one network.'),
    el(
      'section',
      { 'aria-labelledby': 'ca-title' },
      el('h2', { id: 'ca-title' }, 'Certificate authorities'),
      rows.length
        ? table(
            'CAs whose certificates enroll devices',
            [
              'Name',
              'Subject',
              'Network',
              'Status',
              'Verified',
              'Devices',
              'CRL entries',
              'Fingerprint',
              'CRL',
              '',
            ],
            rows,
          )
        : el('p', {}, 'No CAs yet.'),
    ),
  );
}
