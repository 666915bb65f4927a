// The management API over real HTTP against a SQLite registry on disk:
// authentication, networks, batches by GPK / QR text / label PNG, devices made by the real
// IdentityPolicy, revocation, re-key, audit paging, live events, /metrics, and that bad input of
// every kind answers a stable error code naming the field and leaves the registry unchanged.
import test from 'ava';
import { request } from 'node:http';
import { IdentityPolicy } from '../../../../server-stub/policy/identity-policy.ts';
import { snapshot } from '../../../unit/server-stub/registry/_registry-suite.ts';
import { freshGpk, labelJpeg, labelPng, startApi, TOKEN, type ApiFixture } from './_fixtures.ts';

const basename = new TextEncoder().encode('BASENAME');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const point = (seed: number): Uint8Array => {
  const p = new Uint8Array(65).fill(seed);
  p[0] = 0x04;
  return p;
};

async function withApi(fn: (f: ApiFixture) => Promise<void>): Promise<void> {
  const f = await startApi();
  try {
    await fn(f);
  } finally {
    await f.done();
  }
}

/** A network, a batch on it, and `n` devices provisioned through the real identity policy. */
async function populate(f: ApiFixture, n: number) {
  await f.call('POST', '/api/v1/networks', { name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  const gpk = freshGpk();
  const created = await f.call('POST', '/api/v1/batches', {
    gpk: b64(gpk),
    basename: b64(basename),
    name: 'lot-1',
    size: 10,
    network: 'plant-a',
  });
  const gid = new Uint8Array(Buffer.from(created.json.gid as string, 'hex'));
  const policy = new IdentityPolicy(f.registry);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await policy.assignIdentity({
      gid,
      pseudonym: point(i + 1),
      longtermPublicKey: point(100 + i),
      requestedId: null,
      suite: 1,
      source: { address: `192.0.2.${i + 1}`, port: 40000 + i },
    });
    if (!r.ok) throw new Error(`assign failed: ${r.reason}`);
    ids.push(Buffer.from(r.id).toString('hex'));
  }
  return { gid, ids, policy };
}

test('authentication: token required on the API, dashboard files public, stable errors', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const none = await f.call('GET', '/api/v1/networks', undefined, { authorization: '' });
    t.is(none.status, 401);
    t.deepEqual(none.json, { error: { code: 'UNAUTHORIZED', message: 'missing or invalid bearer token' } });
    t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer( |$)/);
    // The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const r = await f.call('GET', '/api/v1/networks', undefined, { authorization: `${scheme} ${TOKEN}` });
      t.is(r.status, 200, scheme);
      t.is(r.headers.get('www-authenticate'), null);
    }
    t.is(
      (await f.call('GET', '/api/v1/networks', undefined, { authorization: `Bearer ${TOKEN.toUpperCase()}` }))
        .status,
      401,
    );
    t.is(
      (await f.call('GET', '/api/v1/networks', undefined, { authorization: `Bearer ${TOKEN}x` })).status,
      401,
    );
    t.is(
      (await f.call('GET', '/api/v1/networks', undefined, { authorization: `Basic ${TOKEN}` })).status,
      401,
    );
    const metrics = await f.call('GET', '/metrics', undefined, { authorization: '' });
    t.is(metrics.status, 401);
    t.regex(metrics.headers.get('www-authenticate') ?? '', /^Bearer( |$)/);
    const page = await fetch(`${f.server.url}/`);
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type') ?? '', /text\/html/);
    t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    t.regex(await page.text(), /<main/);
    t.is((await f.call('GET', '/api/v1/nothing')).json.error.code, 'NOT_FOUND');
    const wrong = await f.call('DELETE', '/api/v1/batches');
    t.is(wrong.status, 405);
    t.is(wrong.json.error.code, 'METHOD_NOT_ALLOWED');
    t.is((await f.call('GET', '/static/../../registry.sqlite')).status, 404);
  });
});

test('networks: create, list, get by name and id, conflicts, delete only when empty', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const a = await f.call('POST', '/api/v1/networks', {
      name: 'plant-a',
      prefix: '2001:0db8:00aa:0001::/64',
    });
    t.is(a.status, 201);
    t.like(a.json, { name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
    t.is((await f.call('GET', `/api/v1/networks/${a.json.id}`)).json.name, 'plant-a');
    t.is((await f.call('GET', '/api/v1/networks/plant-a')).json.id, a.json.id);
    const dup = await f.call('POST', '/api/v1/networks', { name: 'plant-a', prefix: '2001:db8:bb::/64' });
    t.is(dup.status, 409);
    t.is(dup.json.error.code, 'CONFLICT');
    t.is(dup.json.error.field, 'network.name');
    const bad = await f.call('POST', '/api/v1/networks', { name: 'x', prefix: '2001:db8::/48' });
    t.is(bad.status, 400);
    t.deepEqual([bad.json.error.code, bad.json.error.field], ['VALIDATION', 'network.prefix']);
    t.is((await f.call('GET', '/api/v1/networks')).json.items.length, 1);
    t.is((await f.call('GET', '/api/v1/networks/nope')).status, 404);
    const gpk = freshGpk();
    await f.call('POST', '/api/v1/batches', {
      gpk: b64(gpk),
      basename: b64(basename),
      name: 'lot-1',
      size: 5,
      network: 'plant-a',
    });
    const busy = await f.call('DELETE', '/api/v1/networks/plant-a');
    t.is(busy.status, 409);
    t.is(busy.json.error.field, 'network');
    await f.call('POST', '/api/v1/networks', { name: 'spare', prefix: '2001:db8:cc::/64' });
    const del = await f.call('DELETE', '/api/v1/networks/spare');
    t.is(del.status, 200);
    t.is(del.json.name, 'spare');
    t.is((await f.call('GET', '/api/v1/networks/spare')).status, 404);
    t.is((await f.call('DELETE', '/api/v1/networks/spare')).status, 404);
    t.is((await f.call('GET', '/api/v1/networks/plant-a')).status, 200);
  });
});

test('batches: register by GPK, by QR text, by label PNG; scan; assign; revoke; counts', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    await f.call('POST', '/api/v1/networks', { name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
    await f.call('POST', '/api/v1/networks', { name: 'plant-b', prefix: '2001:db8:bb:1::/64' });
    const byGpk = await f.call('POST', '/api/v1/batches', {
      gpk: b64(freshGpk()),
      basename: b64(basename),
      name: 'lot-1',
      size: 10,
    });
    t.is(byGpk.status, 201);
    t.like(byGpk.json, {
      name: 'lot-1',
      network: null,
      status: 'active',
      counts: { issued: 10, provisioned: 0, revoked: 0 },
    });
    t.regex(byGpk.json.gid, /^[0-9a-f]{64}$/);

    const qrLabel = { gpk: freshGpk(), basename: new TextEncoder().encode('line-7'), name: 'lot-2' };
    const png = labelPng(qrLabel);
    const scan = await f.call('POST', '/api/v1/labels/scan', new Uint8Array(png), {
      'content-type': 'image/png',
    });
    t.is(scan.status, 200);
    t.is(scan.json.name, 'lot-2');
    t.is(scan.json.gpk, b64(qrLabel.gpk));
    t.is((await f.registry.listBatches()).length, 1, 'scanning registers nothing');
    const byQr = await f.call('POST', '/api/v1/batches', { qr: scan.json.qr, size: 3, network: 'plant-a' });
    t.is(byQr.status, 201);
    t.like(byQr.json, { name: 'lot-2', network: 'plant-a', basename: b64(qrLabel.basename) });

    const imgLabel = { gpk: freshGpk(), basename, name: 'lot-3' };
    const byImg = await f.call(
      'POST',
      '/api/v1/batches/from-image?size=7&network=plant-b&name=lot-3b',
      new Uint8Array(labelPng(imgLabel, 4)),
      { 'content-type': 'image/png' },
    );
    t.is(byImg.status, 201);
    t.like(byImg.json, { name: 'lot-3b', network: 'plant-b', counts: { issued: 7 } });

    // A phone photo is a JPEG: lossy, so the modules' edges are no longer pure black and white.
    const jpegLabel = { gpk: freshGpk(), basename, name: 'lot-4' };
    const byJpeg = await f.call(
      'POST',
      '/api/v1/batches/from-image?size=2',
      new Uint8Array(labelJpeg(jpegLabel)),
      { 'content-type': 'image/jpeg' },
    );
    t.is(byJpeg.status, 201);
    t.like(byJpeg.json, { name: 'lot-4', basename: b64(basename), counts: { issued: 2 } });

    const moved = await f.call('PUT', '/api/v1/batches/lot-1/network', { network: 'plant-b' });
    t.is(moved.json.network, 'plant-b');
    const revoked = await f.call('POST', `/api/v1/batches/${byGpk.json.gid}/revoke`);
    t.is(revoked.json.status, 'revoked');
    const list = await f.call('GET', '/api/v1/batches');
    t.deepEqual(list.json.items.map((b: { name: string }) => b.name).sort(), [
      'lot-1',
      'lot-2',
      'lot-3b',
      'lot-4',
    ]);
    const again = await f.call('POST', '/api/v1/batches', { qr: scan.json.qr, size: 3, name: 'other' });
    t.is(again.status, 409);
    t.is(again.json.error.field, 'batch.gpk');
  });
});

test('bad input answers a stable code naming the field and changes nothing', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const { ids } = await populate(f, 2);
    const before = await snapshot(f.registry);
    const junkGpk = new Uint8Array(258).fill(7);
    junkGpk[0] = 4;
    junkGpk[129] = 4;
    const validQr = (
      await f.call(
        'POST',
        '/api/v1/labels/scan',
        new Uint8Array(labelPng({ gpk: freshGpk(), basename, name: 'ok' })),
        { 'content-type': 'image/png' },
      )
    ).json.qr as string;
    const cases: [string, string, unknown, Record<string, string>, number, string, string?][] = [
      ['POST', '/api/v1/networks', '{"name":', { 'content-type': 'application/json' }, 400, 'BAD_REQUEST'],
      ['POST', '/api/v1/networks', '[1]', { 'content-type': 'application/json' }, 400, 'BAD_REQUEST'],
      [
        'POST',
        '/api/v1/networks',
        'name=x',
        { 'content-type': 'application/x-www-form-urlencoded' },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'POST',
        '/api/v1/networks',
        { name: 'n2', prefix: '2001:db8:aa:1::/64' },
        {},
        409,
        'CONFLICT',
        'network.prefix',
      ],
      ['POST', '/api/v1/networks', { name: '123', prefix: '2001:db8:9::/64' }, {}, 400, 'VALIDATION', 'name'],
      [
        'POST',
        '/api/v1/networks',
        { name: 'n3', prefix: '2001:db8:9::/64', extra: 1 },
        {},
        400,
        'VALIDATION',
        'extra',
      ],
      [
        'POST',
        '/api/v1/networks',
        { name: 'n4', prefix: 'x'.repeat(70 * 1024) },
        {},
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'POST',
        '/api/v1/batches',
        { gpk: b64(junkGpk), basename: b64(basename), name: 'j', size: 1 },
        {},
        400,
        'DECODE',
        'batch.gpk',
      ],
      [
        'POST',
        '/api/v1/batches',
        { gpk: 'not base64!', basename: b64(basename), name: 'j', size: 1 },
        {},
        400,
        'VALIDATION',
        'gpk',
      ],
      [
        'POST',
        '/api/v1/batches',
        { gpk: b64(freshGpk()), basename: b64(basename), name: 'j', size: 0 },
        {},
        400,
        'VALIDATION',
        'size',
      ],
      [
        'POST',
        '/api/v1/batches',
        { gpk: b64(freshGpk()), basename: b64(basename), name: 'j', size: 1, network: 'nope' },
        {},
        400,
        'VALIDATION',
        'network',
      ],
      ['POST', '/api/v1/batches', { qr: 'XTT1:abc', size: 1 }, {}, 400, 'DECODE', 'QrPayload'],
      [
        'POST',
        '/api/v1/batches',
        { qr: validQr, size: 1, network: 'plant-a', name: 'bad name' },
        {},
        400,
        'VALIDATION',
        'name',
      ],
      ['POST', '/api/v1/batches', { qr: validQr, gpk: 'AA==', size: 1 }, {}, 400, 'VALIDATION', 'qr'],
      [
        'POST',
        '/api/v1/batches/from-image?size=1',
        new Uint8Array([1, 2, 3]),
        { 'content-type': 'image/png' },
        400,
        'DECODE',
        'label.png',
      ],
      [
        'POST',
        '/api/v1/batches/from-image?size=1',
        new Uint8Array([0xff, 0xd8, 0xff]),
        { 'content-type': 'image/jpeg' },
        400,
        'DECODE',
        'label.jpeg',
      ],
      [
        'POST',
        '/api/v1/batches/from-image?size=1',
        new Uint8Array(labelPng({ gpk: freshGpk(), basename, name: 'png-as-jpeg' })),
        { 'content-type': 'image/jpeg' },
        400,
        'DECODE',
        'label.jpeg',
      ],
      [
        'POST',
        '/api/v1/batches/from-image?size=1',
        new Uint8Array([0x47, 0x49, 0x46, 0x38]),
        { 'content-type': 'image/gif' },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'POST',
        '/api/v1/labels/scan',
        new Uint8Array(labelPng({ gpk: freshGpk(), basename, name: 'x' })).subarray(0, 200),
        { 'content-type': 'image/png' },
        400,
        'DECODE',
        'label.png',
      ],
      ['PUT', '/api/v1/batches/lot-1/network', { network: 'nope' }, {}, 400, 'VALIDATION', 'network'],
      ['POST', '/api/v1/batches/zzz/revoke', undefined, {}, 404, 'NOT_FOUND', 'batch'],
      ['POST', '/api/v1/devices/not-an-id/revoke', undefined, {}, 400, 'VALIDATION', 'device'],
      ['POST', `/api/v1/devices/${'0'.repeat(32)}/revoke`, undefined, {}, 404, 'NOT_FOUND', 'device'],
      ['PUT', `/api/v1/devices/${ids[0]}/allow-rekey`, { allow: 'yes' }, {}, 400, 'VALIDATION', 'allow'],
      ['GET', '/api/v1/devices?status=lost', undefined, {}, 400, 'VALIDATION', 'status'],
      ['GET', '/api/v1/devices?limit=0', undefined, {}, 400, 'VALIDATION', 'limit'],
      ['GET', '/api/v1/devices?cursor=Zm9v', undefined, {}, 400, 'VALIDATION', 'cursor'],
      ['GET', '/api/v1/devices?batchh=lot-1', undefined, {}, 400, 'VALIDATION', 'batchh'],
      ['GET', '/api/v1/audit?since=yesterday', undefined, {}, 400, 'VALIDATION', 'since'],
      ['GET', '/api/v1/audit?outcome=maybe', undefined, {}, 400, 'VALIDATION', 'outcome'],
    ];
    for (const [method, path, body, headers, status, code, field] of cases) {
      const r = await f.call(method, path, body, headers);
      const what = `${method} ${path.slice(0, 60)} ${JSON.stringify(body)?.slice(0, 60)}`;
      t.is(r.status, status, what);
      t.is(r.json?.error?.code, code, what);
      if (field) t.is(r.json.error.field, field, what);
      t.is(typeof r.json.error.message, 'string', what);
    }
    t.deepEqual(await snapshot(f.registry), before);
  });
});

test('devices: list, filter, page, show with sources, revoke, allow re-key, history', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const { gid, ids, policy } = await populate(f, 3);
    const all = await f.call('GET', '/api/v1/devices');
    t.is(all.json.items.length, 3);
    t.is(all.json.nextCursor, null);
    const p1 = await f.call('GET', '/api/v1/devices?limit=2&batch=lot-1');
    t.is(p1.json.items.length, 2);
    const p2 = await f.call('GET', `/api/v1/devices?limit=2&batch=lot-1&cursor=${p1.json.nextCursor}`);
    t.is(p2.json.items.length, 1);
    t.is(p2.json.nextCursor, null);
    t.deepEqual(
      [...p1.json.items, ...p2.json.items].map((d: { id: string }) => d.id).sort(),
      [...ids].sort(),
    );
    t.is((await f.call('GET', '/api/v1/devices?since=2999-01-01T00:00:00Z')).json.items.length, 0);
    t.is((await f.call('GET', '/api/v1/devices?until=2999-01-01T00:00:00Z&since=0')).json.items.length, 3);

    // A second handshake of device 0 from another address.
    await policy.assignIdentity({
      gid,
      pseudonym: point(1),
      longtermPublicKey: point(100),
      requestedId: null,
      suite: 1,
      source: { address: '198.51.100.9', port: 5000 },
    });
    const one = await f.call('GET', `/api/v1/devices/${ids[0]}`);
    t.like(one.json, {
      id: ids[0],
      batch: 'lot-1',
      status: 'active',
      handshakeCount: 2,
      lastSource: '198.51.100.9 5000',
    });
    t.deepEqual(
      one.json.sources.map((s: { address: string }) => s.address),
      ['198.51.100.9', '192.0.2.1'],
    );
    const byText = await f.call('GET', `/api/v1/devices/${encodeURIComponent(one.json.identity)}`);
    t.is(byText.json.id, ids[0]);

    const hist = await f.call('GET', `/api/v1/devices/${ids[0]}/history?limit=1`);
    t.is(hist.json.items.length, 1);
    t.is(hist.json.items[0].sourceAddress, '198.51.100.9');
    const hist2 = await f.call(
      'GET',
      `/api/v1/devices/${ids[0]}/history?limit=1&cursor=${hist.json.nextCursor}`,
    );
    t.is(hist2.json.items[0].sourceAddress, '192.0.2.1');
    t.is(hist2.json.nextCursor, null);

    const rev = await f.call('POST', `/api/v1/devices/${ids[1]}/revoke`);
    t.is(rev.json.status, 'revoked');
    const refused = await policy.assignIdentity({
      gid,
      pseudonym: point(2),
      longtermPublicKey: point(101),
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.2', port: 1 },
    });
    t.false(refused.ok, 'revoked device is refused by the handshake policy');
    t.is((await f.call('GET', '/api/v1/devices?status=revoked')).json.items[0].id, ids[1]);
    const counts = (await f.call('GET', '/api/v1/batches/lot-1')).json.counts;
    t.deepEqual(counts, { issued: 10, provisioned: 3, revoked: 1 });

    const rk = await f.call('PUT', `/api/v1/devices/${ids[2]}/allow-rekey`, { allow: true });
    t.true(rk.json.allowRekey);
    const rekeyed = await policy.assignIdentity({
      gid,
      pseudonym: point(3),
      longtermPublicKey: point(77),
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.3', port: 2 },
    });
    t.true(rekeyed.ok, 're-key accepted once allowed');
    t.false((await f.call('GET', `/api/v1/devices/${ids[2]}`)).json.allowRekey);
  });
});

test('audit: filters, newest first, cursor paging without overlap', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const { gid, policy } = await populate(f, 4);
    await policy.recordFailure(
      { address: '203.0.113.5', port: 9 },
      { gid, pseudonym: null, suite: 1, reason: 'bad-signature' },
    );
    const all = await f.call('GET', '/api/v1/audit');
    t.is(all.json.items.length, 5);
    const ids = all.json.items.map((e: { id: number }) => e.id);
    t.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await f.call('GET', q);
      seen.push(...page.json.items.map((e: { id: number }) => e.id));
      cursor = page.json.nextCursor;
    } while (cursor);
    t.deepEqual(seen, ids);
    t.is((await f.call('GET', '/api/v1/audit?outcome=failed')).json.items.length, 1);
    t.is((await f.call('GET', '/api/v1/audit?outcome=provisioned&batch=lot-1')).json.items.length, 4);
    t.is((await f.call('GET', '/api/v1/audit?until=2000-01-01T00:00:00Z')).json.items.length, 0);
  });
});

test('/metrics: Prometheus text with device counts and handshake hooks', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const { ids } = await populate(f, 2);
    await f.call('POST', `/api/v1/devices/${ids[0]}/revoke`);
    f.metrics.handshakeFinished('provisioned', 0.05, 1); // the default organization's
    f.metrics.addCollector(() => f.metrics.queueDepth(4));
    const r = await f.call('GET', '/metrics');
    t.is(r.status, 200);
    t.regex(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    t.regex(r.text, /^enf_devices\{status="active"\} 1$/m);
    t.regex(r.text, /^enf_devices\{status="revoked"\} 1$/m);
    t.regex(r.text, /^enf_handshakes_total\{organization="default",outcome="provisioned"\} 1$/m);
    t.regex(r.text, /^enf_verify_queue_depth 4$/m);
  });
});

test('live events: an SSE listener sees new audit entries and revocations', async (t) => {
  t.timeout(600_000); // the machine is shared: no timing assumptions
  await withApi(async (f) => {
    const { gid, ids, policy } = await populate(f, 1);
    const ac = new AbortController();
    const res = await fetch(`${f.server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ac.signal,
    });
    t.regex(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const waitFor = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await waitFor(/: connected/);
    await policy.assignIdentity({
      gid,
      pseudonym: point(9),
      longtermPublicKey: point(99),
      requestedId: null,
      suite: 1,
      source: { address: '192.0.2.99', port: 1 },
    });
    await waitFor(/event: audit\ndata: .*"sourceAddress":"192\.0\.2\.99"/);
    t.notRegex(text, /192\.0\.2\.1"/, 'entries from before the subscription are not replayed');
    await f.call('POST', `/api/v1/devices/${ids[0]}/revoke`);
    await waitFor(/event: device\ndata: .*"status":"revoked"/);
    t.pass();
    ac.abort();
    await reader.cancel().catch(() => undefined);
  });
});

test('a streamed body without Content-Length is cut off at the limit', async (t) => {
  t.timeout(600_000);
  await withApi(async (f) => {
    const before = await snapshot(f.registry);
    let gotResponse = false;
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${f.server.url}/api/v1/networks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      });
      req.on('response', (res) => {
        gotResponse = true;
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      // The server may answer and close while we still write: only an error before any answer counts.
      req.on('error', (err) => (gotResponse ? undefined : reject(err)));
      req.write(`{"name":"big","prefix":"${'0'.repeat(40 * 1024)}`);
      req.write(`${'0'.repeat(40 * 1024)}"}`);
      req.end();
    });
    t.is(status.status, 413);
    t.is(JSON.parse(status.body).error.code, 'PAYLOAD_TOO_LARGE');
    t.deepEqual(await snapshot(f.registry), before);
  });
});
