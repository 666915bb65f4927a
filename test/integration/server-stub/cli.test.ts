// The real `enf-server` program (tsx server-stub/main.ts) with --json: init and import of key
// material, networks, batches from GPK file / QR text / QR image, devices, audit, exit codes.
// Devices are provisioned through IdentityPolicy on the same registry file, as the endpoint does.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { createIssuer, encodeGroupPublicKey } from '../../../protocol/ecdaa/index.ts';
import { encodeQrPayload } from '../../../protocol/qr-payload.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { fromHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { runEnfCli, type CliRun } from './_enf-cli.ts';

const GPK_FILE = 'test/vectors/xtt-0.12-sample-data/client/daa_gpk.bin';
const GPK = new Uint8Array(readFileSync(GPK_FILE));

function cli(dir: string, ...args: string[]): Promise<CliRun> {
  return runEnfCli(['--dir', dir, ...args]);
}

/** A temporary directory removed when the test ends, whether it passed or not. */
function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'enf-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('init creates the key material once, import checks it belongs together', async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 'a');
  const init = await cli(dir, 'init');
  t.is(init.code, 0, init.stderr);
  const files = (init.json as { files: Record<string, string> }).files;
  t.is(statSync(files.serverKeys!).size, 121);
  t.is(statSync(files.serverKeys!).mode & 0o777, 0o600);
  t.is(statSync(files.rootKeys!).mode & 0o777, 0o600);
  t.is(statSync(files.rootCertificate!).size, 81);
  t.is(statSync(files.serverCertificate!).size, 169);
  const again = await cli(dir, 'init');
  t.is(again.code, 4, 'refuses to overwrite');
  t.is((again.json as { error: { code: string } }).error.code, 'KEYS_EXIST');

  const imported = await cli(
    join(tmp, 'b'),
    'init',
    '--import',
    '--root-cert',
    files.rootCertificate!,
    '--server-cert',
    files.serverCertificate!,
    '--server-key',
    files.serverKeys!,
  );
  t.is(imported.code, 0, imported.stderr);
  t.deepEqual(readFileSync(join(tmp, 'b', 'server_certificate.bin')), readFileSync(files.serverCertificate!));

  // A server key of another root does not match the certificate: refused, nothing written.
  const other = await cli(join(tmp, 'c'), 'init');
  t.is(other.code, 0);
  const mismatch = await cli(
    join(tmp, 'd'),
    'init',
    '--import',
    '--root-cert',
    files.rootCertificate!,
    '--server-cert',
    files.serverCertificate!,
    '--server-key',
    join(tmp, 'c', 'server_keys.asn1.bin'),
  );
  t.is(mismatch.code, 7);
  t.regex((mismatch.json as { error: { message: string } }).error.message, /does not match/);
  const wrongRoot = await cli(
    join(tmp, 'e'),
    'init',
    '--import',
    '--root-cert',
    join(tmp, 'c', 'root_cert.bin'),
    '--server-cert',
    files.serverCertificate!,
    '--server-key',
    files.serverKeys!,
  );
  t.is(wrongRoot.code, 7);
  t.is((await cli(join(tmp, 'f'), 'init', '--import')).code, 2);
});

test('networks and batches: add from GPK file, QR text and QR image; bad input exits with the field', async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 's');
  t.is((await cli(dir, 'init')).code, 0);
  const net = await cli(dir, 'network', 'add', '--name', 'plant-a', '--prefix', '2001:DB8:1:2:0::/64');
  t.deepEqual(net.json, {
    id: 1,
    name: 'plant-a',
    prefix: '2001:db8:1:2::/64',
    createdAt: (net.json as { createdAt: string }).createdAt,
  });
  const bad = await cli(dir, 'network', 'add', '--name', 'plant-b', '--prefix', '2001:db8:1:3::1/64');
  t.is(bad.code, 6, 'a bad value is bad input, not a usage error');
  t.is((bad.json as { error: { field: string } }).error.field, 'network.prefix');
  t.is((await cli(dir, 'network', 'add', '--name', 'plant-a', '--prefix', '2001:db8:9::/64')).code, 4);

  const fromFile = await cli(
    dir,
    'batch',
    'add',
    '--gpk-file',
    GPK_FILE,
    '--basename',
    'BASENAME',
    '--name',
    'lot-1',
    '--network',
    'plant-a',
    '--size',
    '5',
  );
  t.is(fromFile.code, 0, fromFile.stderr);
  // The reference sample data's gid (test/vectors/xtt-0.12-sample-data/client/gid.bin).
  const refGid = readFileSync('test/vectors/xtt-0.12-sample-data/client/gid.bin').toString('hex');
  t.is((fromFile.json as { gid: string }).gid, refGid);

  const payload = encodeQrPayload({ gpk: GPK, basename: new TextEncoder().encode('OTHER'), name: 'lot-qr' });
  const fromText = await cli(dir, 'batch', 'add', '--qr-text', payload, '--network', '1', '--size', '3');
  t.is(fromText.code, 0, fromText.stderr);
  t.like(fromText.json as object, {
    name: 'lot-qr',
    network: 'plant-a',
    counts: { issued: 3 },
    basename: Buffer.from('OTHER').toString('base64'),
  });

  // --qr-text @FILE: the label text from a file (the factory's label.txt is read by its drawn code:
  // test/unit/server-stub/labels/gpk-input.test.ts).
  const atFile = join(tmp, 'label-text');
  writeFileSync(
    atFile,
    `${encodeQrPayload({ gpk: GPK, basename: new TextEncoder().encode('ATFILE'), name: 'lot-at' })}\n`,
  );
  const fromAtFile = await cli(dir, 'batch', 'add', '--qr-text', `@${atFile}`, '--size', '1');
  t.is(fromAtFile.code, 0, fromAtFile.stderr);
  t.like(fromAtFile.json as object, { name: 'lot-at', basename: Buffer.from('ATFILE').toString('base64') });

  const png = join(tmp, 'label.png');
  const imgPayload = encodeQrPayload({
    gpk: GPK,
    basename: new TextEncoder().encode('PHOTO'),
    name: 'ignored',
  });
  writeFileSync(
    png,
    await QRCode.toBuffer(imgPayload, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 4 }),
  );
  const fromImage = await cli(dir, 'batch', 'add', '--qr-image', png, '--name', 'lot-photo', '--size', '2');
  t.is(fromImage.code, 0, fromImage.stderr);
  t.like(fromImage.json as object, {
    name: 'lot-photo',
    network: null,
    basename: Buffer.from('PHOTO').toString('base64'),
  });

  // A phone photo of the label is a JPEG.
  const photo = join(tmp, 'label.jpg');
  const rgba = PNG.sync.read(
    await QRCode.toBuffer(
      encodeQrPayload({
        gpk: encodeGroupPublicKey(createIssuer(systemRng).publicKey.gpk),
        basename: new TextEncoder().encode('JPEG'),
        name: 'from-photo',
      }),
      { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6 },
    ),
  );
  writeFileSync(photo, jpeg.encode({ data: rgba.data, width: rgba.width, height: rgba.height }, 70).data);
  const fromPhoto = await cli(dir, 'batch', 'add', '--qr-image', photo, '--size', '2');
  t.is(fromPhoto.code, 0, fromPhoto.stderr);
  t.like(fromPhoto.json as object, { name: 'from-photo', basename: Buffer.from('JPEG').toString('base64') });

  // Corrupt GPK (a point off the curve), truncated QR text, an image without a QR code.
  const corrupt = join(tmp, 'bad-gpk.bin');
  const g = GPK.slice();
  g[40] = g[40]! ^ 1;
  writeFileSync(corrupt, g);
  const badGpk = await cli(
    dir,
    'batch',
    'add',
    '--gpk-file',
    corrupt,
    '--basename',
    'X',
    '--name',
    'lot-bad',
    '--size',
    '1',
  );
  t.is(badGpk.code, 6);
  t.is((badGpk.json as { error: { field: string } }).error.field, 'batch.gpk');
  t.is((await cli(dir, 'batch', 'add', '--qr-text', payload.slice(0, 100), '--size', '1')).code, 6);
  copyFileSync(GPK_FILE, join(tmp, 'not-a.png'));
  const notImage = await cli(dir, 'batch', 'add', '--qr-image', join(tmp, 'not-a.png'), '--size', '1');
  t.is(notImage.code, 6);
  t.like((notImage.json as { error: object }).error, {
    code: 'INPUT_FILE',
    file: join(tmp, 'not-a.png'),
    message: `${join(tmp, 'not-a.png')}: not an image this program reads: give a PNG or JPEG photo or scan of the label, or the label.svg of xtt-factory`,
  });
  t.is(
    (
      await cli(
        dir,
        'batch',
        'add',
        '--gpk-file',
        GPK_FILE,
        '--basename',
        'BASENAME',
        '--name',
        'dup',
        '--size',
        '1',
      )
    ).code,
    4,
  );
  t.is((await cli(dir, 'batch', 'add', '--gpk-file', GPK_FILE, '--qr-text', payload, '--size', '1')).code, 2);

  const list = await cli(dir, 'batch', 'list');
  t.deepEqual((list.json as { name: string }[]).map((b) => b.name).sort(), [
    'from-photo',
    'lot-1',
    'lot-at',
    'lot-photo',
    'lot-qr',
  ]);
  const assigned = await cli(dir, 'batch', 'assign', 'lot-photo', '--network', 'plant-a');
  t.like(assigned.json as object, { network: 'plant-a' });
  t.is((await cli(dir, 'batch', 'assign', 'nope', '--network', 'plant-a')).code, 3);
  const noNet = await cli(dir, 'batch', 'assign', 'lot-photo', '--network', 'nonet');
  t.is(noNet.code, 3, noNet.stderr);
  t.like(noNet.json as object, { error: { code: 'NOT_FOUND', field: 'batch.network', exitCode: 3 } });
});

test('devices: list, revoke and allow-rekey take effect on the next handshake; audit filters', async (t) => {
  const tmp = tempDir(t);
  const dir = join(tmp, 's');
  t.is((await cli(dir, 'init')).code, 0);
  await cli(dir, 'network', 'add', '--name', 'plant-a', '--prefix', '2001:db8:1:2::/64');
  const batch = (
    await cli(
      dir,
      'batch',
      'add',
      '--gpk-file',
      GPK_FILE,
      '--basename',
      'BASENAME',
      '--name',
      'lot-1',
      '--network',
      'plant-a',
      '--size',
      '5',
    )
  ).json as { gid: string };
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const policy = new IdentityPolicy(registry);
  const gid = fromHex(batch.gid);
  const p = new Uint8Array(65).fill(4);
  const key = new Uint8Array(65).fill(4);
  key[1] = 1;
  const req = {
    gid,
    pseudonym: p,
    longtermPublicKey: key,
    requestedId: null,
    suite: 1,
    source: { address: '192.0.2.9', port: 5555 },
  };
  const first = await policy.assignIdentity(req);
  t.true(first.ok);

  const devices = (await cli(dir, 'device', 'list', '--batch', 'lot-1')).json as {
    identity: string;
    status: string;
    lastSource: string;
  }[];
  t.is(devices.length, 1);
  t.is(devices[0]!.status, 'active');
  t.is(devices[0]!.lastSource, '192.0.2.9 5555');
  const identity = devices[0]!.identity;

  const rekeyReq = { ...req, longtermPublicKey: key.map((b, i) => (i === 2 ? 9 : b)) };
  t.false((await policy.assignIdentity(rekeyReq)).ok);
  const allow = await cli(dir, 'device', 'allow-rekey', identity);
  t.like(allow.json as object, { allowRekey: true, batch: 'lot-1' });
  t.true((await policy.assignIdentity(rekeyReq)).ok);

  const revoked = await cli(dir, 'device', 'revoke', Buffer.from(p).toString('hex'), '--batch', 'lot-1');
  t.like(revoked.json as object, { status: 'revoked', identity, batch: 'lot-1' });
  t.deepEqual(await policy.assignIdentity(rekeyReq), { ok: false, reason: 'device-revoked' });
  t.is((await cli(dir, 'device', 'revoke', '2001:db8:1:2::dead')).code, 3);
  t.is(((await cli(dir, 'device', 'list', '--status', 'revoked')).json as unknown[]).length, 1);
  t.is(((await cli(dir, 'device', 'list', '--status', 'active')).json as unknown[]).length, 0);

  const refused = (await cli(dir, 'audit', '--outcome', 'refused')).json as {
    reason: string;
    sourceAddress: string;
  }[];
  t.deepEqual(
    refused.map((a) => a.reason),
    ['device-revoked', 'longterm-key-changed'],
  );
  const all = (await cli(dir, 'audit', '--batch', 'lot-1', '--since', '1h', '--limit', '2'))
    .json as unknown[];
  t.is(all.length, 2);
  t.is(((await cli(dir, 'audit', '--since', '2999-01-01T00:00:00Z')).json as unknown[]).length, 0);
  t.is((await cli(dir, 'audit', '--since', 'yesterday')).code, 6);

  const revokeBatch = await cli(dir, 'batch', 'revoke', 'lot-1');
  t.like(revokeBatch.json as object, { status: 'revoked' });
  t.deepEqual(
    await policy.assignIdentity({
      ...req,
      pseudonym: new Uint8Array(65).fill(4).map((b, i) => (i === 5 ? 1 : b)),
    }),
    { ok: false, reason: 'batch-revoked' },
  );
  await registry.close();
});

test('every command answers --help; unknown commands are usage errors, a missing state directory a registry error', async (t) => {
  const dir = join(tempDir(t), 'none');
  for (const args of [
    [],
    ['init'],
    ['start'],
    ['network'],
    ['network', 'add'],
    ['batch', 'add'],
    ['batch', 'list'],
    ['device', 'revoke'],
    ['audit'],
  ]) {
    const r = await cli(dir, ...args, '--help');
    t.is(r.code, 0, args.join(' '));
    t.regex(r.stdout, /enf-server/);
  }
  t.is((await cli(dir, 'frobnicate')).code, 2);
  const missing = await cli(dir, 'network', 'list');
  t.is(missing.code, 5);
  t.regex((missing.json as { error: { message: string } }).error.message, /run 'enf-server init'/);
  // An empty state directory names where it came from instead of meaning the working directory.
  const emptyFlag = await cli('', 'network', 'list');
  t.is(emptyFlag.code, 2);
  t.regex((emptyFlag.json as { error: { message: string } }).error.message, /^--dir: empty/);
  const emptyEnv = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'server-stub/main.ts', 'network', 'list'],
      { env: { ...process.env, ENF_SERVER_DIR: '' } },
      (err, _stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr }),
    ),
  );
  t.is(emptyEnv.code, 2);
  t.regex(emptyEnv.stderr, /^enf-server: USAGE: ENF_SERVER_DIR is set but empty; /);
});
