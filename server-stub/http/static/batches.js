// Batches page: scan the box's QR label (camera with BarcodeDetector when the browser has it, else
// camera frames or an uploaded photo decoded by the server as PNG), or paste the label text; then
// pick a network and an issued size and register. Lists batches with counts; revoke with confirmation.
import { api, canChange } from './api.js';
import { badge, confirmAction, el, fail, say, table, when } from './ui.js';

/** Any image the browser can show, re-encoded as PNG (the server reads PNG and JPEG; this covers the rest). */
async function toPng(source) {
  const bmp = source instanceof Blob ? await createImageBitmap(source) : source;
  const w = bmp.videoWidth ?? bmp.width;
  const h = bmp.videoHeight ?? bmp.height;
  const c = new OffscreenCanvas(w, h);
  c.getContext('2d').drawImage(bmp, 0, 0);
  return c.convertToBlob({ type: 'image/png' });
}

async function scanOnServer(png) {
  return api('POST', '/api/v1/labels/scan', png, 'image/png');
}

export async function renderBatches(main) {
  const [networks, batches] = await Promise.all([
    api('GET', '/api/v1/networks'),
    api('GET', '/api/v1/batches'),
  ]);
  const qr = el('textarea', {
    id: 'qr-text',
    name: 'qr',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'qr-help',
  });
  const name = el('input', { id: 'batch-name', name: 'name', autocomplete: 'off' });
  const size = el('input', {
    id: 'batch-size',
    name: 'size',
    type: 'number',
    min: 1,
    required: true,
    value: 100,
  });
  const network = el(
    'select',
    { id: 'batch-network', name: 'network' },
    el('option', { value: '' }, '(none yet)'),
    networks.items.map((n) => el('option', { value: n.name }, `${n.name} ${n.prefix}`)),
  );
  const file = el('input', { id: 'label-file', type: 'file', accept: 'image/*' });
  const preview = el('p', { class: 'muted', id: 'scan-result' });

  const fill = (label) => {
    qr.value = label.qr;
    if (!name.value) name.value = label.name;
    preview.textContent = `Label read: batch ${label.name}`;
    say(`Label read: batch ${label.name}`);
    qr.focus();
  };

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    try {
      fill(await scanOnServer(f.type === 'image/png' ? f : await toPng(f)));
    } catch (err) {
      fail(err);
    }
  });

  const video = el('video', { playsinline: true, muted: true, hidden: true, 'aria-label': 'Camera preview' });
  const stopBtn = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Stop camera');
  let stream;
  const stop = () => {
    stream?.getTracks().forEach((t) => t.stop());
    stream = undefined;
    video.hidden = stopBtn.hidden = true;
  };
  stopBtn.addEventListener('click', stop);
  const camBtn = el(
    'button',
    { type: 'button', class: 'secondary', id: 'scan-camera' },
    'Scan QR with camera',
  );
  camBtn.addEventListener('click', async () => {
    if (!navigator.mediaDevices?.getUserMedia)
      return say('No camera available in this browser: upload a photo or paste the text.', true);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch (err) {
      return say(`Camera not available (${err.name}): upload a photo or paste the text.`, true);
    }
    video.srcObject = stream;
    video.hidden = stopBtn.hidden = false;
    await video.play();
    const detector =
      'BarcodeDetector' in window ? new window.BarcodeDetector({ formats: ['qr_code'] }) : undefined;
    say(
      detector
        ? 'Point the camera at the label.'
        : 'Point the camera at the label (frames are decoded by the server).',
    );
    while (stream) {
      try {
        if (detector) {
          const [hit] = await detector.detect(video);
          if (hit) {
            fill({ qr: hit.rawValue, name: '' });
            break;
          }
        } else {
          fill(await scanOnServer(await toPng(video)));
          break;
        }
      } catch (err) {
        if (err.code !== 'DECODE') throw err;
      }
      await new Promise((r) => setTimeout(r, detector ? 200 : 800));
    }
    stop();
  });

  const form = el(
    'form',
    { class: 'stack', id: 'register-batch', 'aria-labelledby': 'register-title' },
    el('label', { for: 'qr-text' }, 'QR label text', qr),
    el(
      'p',
      { id: 'qr-help', class: 'muted' },
      'Scan the label, upload a photo of it, or paste its text (starts with XTT1:).',
    ),
    el('label', { for: 'batch-name' }, 'Batch name', name),
    el('label', { for: 'batch-size' }, 'Issued size', size),
    el('label', { for: 'batch-network' }, 'Network', network),
    el('button', { type: 'submit' }, 'Register batch'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const b = await api('POST', '/api/v1/batches', {
        qr: qr.value.trim(),
        size: Number(size.value),
        ...(name.value ? { name: name.value } : {}),
        ...(network.value ? { network: network.value } : {}),
      });
      await renderBatches(main);
      say(`Batch ${b.name} registered${b.network ? ` on ${b.network}` : ''}.`);
    } catch (err) {
      fail(err);
    }
  });

  /** The batch's network, with a control to associate it with another one. */
  const networkCell = (b) => {
    const pick = el(
      'select',
      { 'aria-label': `Network for batch ${b.name}` },
      el('option', { value: '' }, b.network ? b.network : 'none'),
      networks.items.filter((n) => n.name !== b.network).map((n) => el('option', { value: n.name }, n.name)),
    );
    const assign = el(
      'button',
      { type: 'button', class: 'secondary', 'aria-label': `Associate batch ${b.name}` },
      'Associate',
    );
    assign.addEventListener('click', async () => {
      if (!pick.value) return say('Pick a network first.', true);
      try {
        await api('PUT', `/api/v1/batches/${b.gid}/network`, { network: pick.value });
        await renderBatches(main);
        say(`Batch ${b.name} now belongs to ${pick.value}.`);
      } catch (err) {
        fail(err);
      }
    });
    return b.status === 'active' && networks.items.length && canChange()
      ? el('span', { class: 'assign' }, pick, assign)
      : (b.network ?? 'none');
  };

  const rows = batches.items.map((b) =>
    el(
      'tr',
      { 'data-gid': b.gid },
      el('th', { scope: 'row' }, b.name),
      el('td', { class: 'mono', title: b.gid }, `${b.gid.slice(0, 16)}…`),
      el('td', {}, networkCell(b)),
      el('td', {}, badge(b.status)),
      el('td', {}, String(b.counts.issued)),
      el('td', {}, String(b.counts.provisioned)),
      el('td', {}, String(b.counts.revoked)),
      el('td', {}, when(b.createdAt)),
      el(
        'td',
        {},
        b.status === 'active'
          ? el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'data-needs': 'operator',
                'aria-label': `Revoke batch ${b.name}`,
                onclick: async () => {
                  if (
                    !(await confirmAction(
                      `Revoke batch ${b.name}?`,
                      `All ${b.counts.provisioned} devices of ${b.name} will be refused at their next handshake. This cannot be undone.`,
                      'Revoke batch',
                    ))
                  )
                    return;
                  try {
                    await api('POST', `/api/v1/batches/${b.gid}/revoke`);
                    await renderBatches(main);
                    say(`Batch ${b.name} revoked.`);
                  } catch (err) {
                    fail(err);
                  }
                },
              },
              'Revoke',
            )
          : '',
      ),
    ),
  );

  main.replaceChildren(
    el('h2', { id: 'register-title', 'data-needs': 'operator' }, 'Register a batch'),
    el(
      'section',
      { 'aria-labelledby': 'register-title', 'data-needs': 'operator' },
      el('div', { class: 'camera' }, camBtn, video, stopBtn),
      el('p', {}, el('label', { for: 'label-file' }, 'Or upload a photo or scan of the label', file)),
      preview,
      form,
    ),
    el(
      'section',
      { 'aria-labelledby': 'batches-title' },
      el('h2', { id: 'batches-title' }, 'Batches'),
      batches.items.length
        ? table(
            'Registered batches',
            ['Name', 'Group id', 'Network', 'Status', 'Issued', 'Provisioned', 'Revoked', 'Registered', ''],
            rows,
          )
        : el('p', {}, 'No batches yet.'),
    ),
  );
  return stop;
}
