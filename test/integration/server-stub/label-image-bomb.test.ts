// Label images against a real `enf-server start` with its management API: a PNG bomb (about 170 KB
// declaring 16000 x 16000 pixels, 1 GB as RGBA) sent to /api/v1/labels/scan and to
// /api/v1/batches/from-image is refused with an error naming the pixel limit and the server's RSS
// (read from /proc/PID/status, a sanity bound, not a timing) stays far below what decoding it took
// (1.65 GB); `batch add --qr-image` refuses the same file with exit 6. While big legitimate labels
// decode (in the worker, one at a time) the XTT endpoint keeps completing handshakes: two labels
// of about 3600 x 3600 pixels are queued; from the first reply to the second, a device handshakes
// again and again and at least one handshake must complete in that window (a decode on the main thread would
// hold every handshake until the last label is done; no timing is measured). The event-loop side
// of the same rule is test/unit/server-stub/labels/qr-scan.test.ts.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { encodeQrPayload } from '../../../protocol/qr-payload.ts';
import { pngBomb } from '../../helpers/image-bomb.ts';
import { labelPng } from './http/_fixtures.ts';
import { managementArgs, startEnfServer } from './_enf-server.ts';
import { handshake, makeGroup, TestDevice } from './_xtt-devices.ts';

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

test('a label image bomb is refused from its header by the API and the CLI; RSS stays bounded', async (t) => {
  t.timeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'enf-bomb-'));
  createKeyMaterial(dir, systemRng);
  const group = makeGroup();
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:ab:1::/64' });
  await registry.addBatch({
    gpk: group.gpk,
    basename: group.basename,
    name: 'lot-1',
    network: 'plant-a',
    size: 100,
  });
  await registry.close();
  const token = toHex(systemRng.bytes(32));
  writeFileSync(join(dir, 'tokens'), `${token}\n`, { mode: 0o600 });
  const server = await startEnfServer(dir, managementArgs(join(dir, 'tokens')));
  const httpPort = server.httpPort!;
  t.teardown(() => {
    server.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  // Each request on a connection of its own (no keep-alive): an idle kept-alive connection that the
  // server closes after its keep-alive timeout could otherwise be reused and fail a POST.
  const post = (path: string, body: Uint8Array) =>
    new Promise<{ status: number; json: { error?: { message: string; field?: string } } }>((ok, fail) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: httpPort,
          path,
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'image/png',
            'content-length': body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            ok({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
          );
          res.on('error', fail);
        },
      );
      req.on('error', (e) => fail(new Error(`POST ${path}: ${e.message}\n${server.stderr().slice(-3000)}`)));
      req.end(body);
    });
  const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));
  t.true((await handshake(server.port, new TestDevice(group.member()), root)).ok);
  const rssBefore = rssKb(server.proc.pid!);

  const bomb = pngBomb(16000, 16000);
  for (const path of ['/api/v1/labels/scan', '/api/v1/batches/from-image?size=1']) {
    const r = await post(path, bomb);
    t.is(r.status, 400, path);
    t.is(r.json.error?.field, 'label.png');
    t.regex(r.json.error?.message ?? '', /16000x16000 pixels is larger than the limit of 16777216 pixels/);
  }
  const rssAfter = rssKb(server.proc.pid!);
  t.log(`server RSS ${rssBefore} kB before the bombs, ${rssAfter} kB after`);
  t.true(rssAfter < 600 * 1024, `RSS ${rssAfter} kB stays far below the 1 GB a decoded bomb needs`);

  // Big legitimate labels decode in the worker while devices keep handshaking.
  const label = { gpk: group.gpk, basename: group.basename, name: 'lot-big' };
  const big = new Uint8Array(labelPng(label, 45));
  const scans = [0, 1].map(() => post('/api/v1/labels/scan', big));
  let lastDone = false;
  const markDone = () => (lastDone = true);
  void scans[1]!.then(markDone, markDone);
  const first = await scans[0]!;
  t.is(first.status, 200, JSON.stringify(first.json));
  const device = new TestDevice(group.member());
  let during = 0;
  while (!lastDone) {
    const h = await handshake(server.port, device, root);
    t.true(h.ok, 'a handshake while labels decode');
    if (!lastDone) during++;
  }
  for (const s of await Promise.all(scans)) {
    t.is(s.status, 200);
    t.is((s.json as { qr?: string; name?: string }).qr?.trim(), encodeQrPayload(label));
  }
  t.log(`${during} handshakes completed while the second label decoded`);
  t.true(during >= 1, 'the XTT endpoint kept serving while the labels decoded');

  // The CLI refuses the same file from its header too (exit 6, bad input), naming the limit.
  const file = join(dir, 'bomb.png');
  writeFileSync(file, bomb);
  const cli = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'server-stub/main.ts',
      '--dir',
      dir,
      'batch',
      'add',
      '--qr-image',
      file,
      '--size',
      '1',
    ],
    { encoding: 'utf8' },
  );
  t.is(cli.status, 6, cli.stderr);
  t.regex(cli.stderr, /16000x16000 pixels is larger than the limit of 16777216 pixels/);
});
