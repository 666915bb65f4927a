// factory/batch-store.ts: layout and modes, refusal to overwrite, strict loading with errors that name
// the file and field, and atomic, locked credential counting across concurrent processes.
import test from 'ava';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  chmodSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import {
  BATCH_FILES,
  hasRoomFor,
  parseManifest,
  readBatch,
  readManifest,
  recordCredential,
  writeNewBatch,
} from '../../../factory/batch-store.ts';
import { withBatchLock } from '../../../factory/batch-lock.ts';
import { FactoryError } from '../../../factory/errors.ts';

const run = promisify(execFile);
const GID = 'ab'.repeat(32);

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'batch-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function keys(): {
  issuerSecretKey: Uint8Array;
  issuerPublicKey: Uint8Array;
  gpk: Uint8Array;
  basename: Uint8Array;
} {
  return {
    issuerSecretKey: new Uint8Array(64).fill(7),
    issuerPublicKey: new Uint8Array(354).fill(3),
    gpk: new Uint8Array(258).fill(4),
    basename: new TextEncoder().encode('BASENAME'),
  };
}

function newBatch(dir: string, size = 10): void {
  writeNewBatch(dir, keys(), { name: 'lot-1', size, gid: GID, created: '2026-11-28T00:00:00.000Z' });
}

function member(i: number | string): string {
  return createHash('sha256').update(String(i)).digest('hex');
}

test('writes the layout; issuer secret key is 0600; loads back exactly', (t) => {
  const dir = join(tmp(t), 'batch');
  newBatch(dir);
  t.deepEqual(readdirSync(dir).sort(), [
    'basename.bin',
    'gpk.bin',
    'ipk.bin',
    'issuer-secret.key',
    'manifest.json',
  ]);
  t.is(statSync(join(dir, BATCH_FILES.issuerSecretKey)).mode & 0o777, 0o600);
  const b = readBatch(dir);
  t.deepEqual(b.keys, keys());
  t.deepEqual(b.manifest, {
    format: 'xtt-factory-batch/1',
    name: 'lot-1',
    size: 10,
    gid: GID,
    created: '2026-11-28T00:00:00.000Z',
    issued: 0,
    credentials: [],
  });
  t.false(
    readFileSync(join(dir, 'manifest.json'), 'utf8').includes('0707070707'),
    'manifest holds no key bytes',
  );
  t.is(readBatch(dir, { withSecret: false }).keys.issuerSecretKey.length, 0);
});

test('refuses to overwrite an existing batch or a non-empty directory', (t) => {
  const dir = tmp(t);
  newBatch(join(dir, 'b'));
  const before = readFileSync(join(dir, 'b', BATCH_FILES.issuerSecretKey));
  const e = t.throws(() => newBatch(join(dir, 'b')), { instanceOf: FactoryError });
  t.is(e.code, 'EXISTS');
  t.regex(e.message, /already holds a batch/);
  t.deepEqual(readFileSync(join(dir, 'b', BATCH_FILES.issuerSecretKey)), before);
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'other', 'x'), 'x');
  t.is(t.throws(() => newBatch(join(dir, 'other')), { instanceOf: FactoryError })?.code, 'EXISTS');
  t.false(existsSync(join(dir, 'other', BATCH_FILES.manifest)));
});

test('an empty existing directory is accepted', (t) => {
  const dir = tmp(t);
  newBatch(dir);
  t.is(readManifest(dir).name, 'lot-1');
});

test('strict load: each corruption is reported with file and field, and nothing is rewritten', (t) => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'gpk length',
      (d) => writeFileSync(join(d, 'gpk.bin'), new Uint8Array(257)),
      /gpk\.bin: gpk: 257 bytes, expected 258/,
    ],
    ['basename empty', (d) => writeFileSync(join(d, 'basename.bin'), ''), /basename\.bin: basename: 0 bytes/],
    ['ipk missing', (d) => rmSync(join(d, 'ipk.bin')), /ipk\.bin: \(file\): missing/],
    [
      'manifest missing',
      (d) => rmSync(join(d, 'manifest.json')),
      /manifest\.json: \(file\): missing: not a batch, or an interrupted create-batch/,
    ],
    [
      'manifest not json',
      (d) => writeFileSync(join(d, 'manifest.json'), '{'),
      /manifest\.json: \(json\): not valid JSON/,
    ],
    [
      'secret key mode',
      (d) => chmodSync(join(d, BATCH_FILES.issuerSecretKey), 0o644),
      /issuer-secret\.key: mode: is 644/,
    ],
  ];
  for (const [what, damage, re] of cases) {
    const dir = join(tmp(t), 'b');
    newBatch(dir);
    damage(dir);
    const snapshot = readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]);
    const e = t.throws(() => readBatch(dir), { instanceOf: FactoryError }, what);
    t.is(e?.code, 'BATCH_CORRUPT', what);
    t.regex(e?.message ?? '', re, what);
    t.truthy(e?.file, what);
    t.deepEqual(
      readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]),
      snapshot,
      `${what}: untouched`,
    );
  }
});

test('parseManifest names the bad field', (t) => {
  const good = {
    format: 'xtt-factory-batch/1',
    name: 'n',
    size: 2,
    gid: GID,
    created: '2026-11-28T00:00:00Z',
    issued: 0,
    credentials: [],
  };
  const bad: [Record<string, unknown>, string][] = [
    [{ ...good, format: 'v0' }, 'format'],
    [{ ...good, name: 5 }, 'name'],
    [{ ...good, name: 'x'.repeat(65) }, 'name'],
    [{ ...good, size: 0 }, 'size'],
    [{ ...good, size: 1.5 }, 'size'],
    [{ ...good, gid: 'AB'.repeat(32) }, 'gid'],
    [{ ...good, created: 'yesterday' }, 'created'],
    [{ ...good, issued: -1 }, 'issued'],
    [{ ...good, issued: 1 }, 'issued'],
    [{ ...good, extra: 1 }, 'extra'],
    [{ ...good, credentials: {} }, 'credentials'],
    [
      { ...good, issued: 1, credentials: [{ member: 'zz', issuedAt: good.created, reissues: 0 }] },
      'credentials[0].member',
    ],
    [
      { ...good, issued: 1, credentials: [{ member: member(1), issuedAt: 'x', reissues: 0 }] },
      'credentials[0].issuedAt',
    ],
    [
      { ...good, issued: 1, credentials: [{ member: member(1), issuedAt: good.created, reissues: -1 }] },
      'credentials[0].reissues',
    ],
    [
      {
        ...good,
        issued: 1,
        credentials: [{ member: member(1), issuedAt: good.created, reissues: 0, tpm: 'x' }],
      },
      'credentials[0].tpm',
    ],
    [
      {
        ...good,
        issued: 2,
        credentials: [1, 1].map(() => ({ member: member(1), issuedAt: good.created, reissues: 0 })),
      },
      'credentials[1].member',
    ],
  ];
  for (const [m, field] of bad) {
    const e = t.throws(() => parseManifest(JSON.stringify(m), 'm.json'), { instanceOf: FactoryError });
    t.is(e?.field, field);
    t.true(e?.message.startsWith(`m.json: ${field}:`), e?.message);
  }
  t.is(parseManifest(JSON.stringify(good)).size, 2);
});

test('recordCredential counts new keys, counts a second credential for the same key as a reissue', async (t) => {
  const dir = tmp(t);
  newBatch(dir, 2);
  t.true((await recordCredential(dir, member(1))).isNew);
  const again = await recordCredential(dir, member(1));
  t.false(again.isNew);
  t.is(again.manifest.issued, 1);
  t.is(again.manifest.credentials[0]?.reissues, 1);
  await recordCredential(dir, member(2));
  t.is(readManifest(dir).issued, 2);
  t.false(hasRoomFor(readManifest(dir), member(3)));
  t.true(hasRoomFor(readManifest(dir), member(2)));
  const e = await t.throwsAsync(recordCredential(dir, member(3)), { instanceOf: FactoryError });
  t.is(e?.code, 'BATCH_FULL');
  t.is(readManifest(dir).issued, 2);
  t.false(existsSync(join(dir, BATCH_FILES.lock)), 'lock released after a refusal');
  t.false(readdirSync(dir).some((f) => f.endsWith('.tmp')));
});

test('concurrent provisionings in 4 processes count every credential exactly once', async (t) => {
  const dir = tmp(t);
  newBatch(dir, 1000);
  const fixture = join(import.meta.dirname, 'fixtures', 'record-many.ts');
  await Promise.all(
    [0, 1, 2, 3].map((w) => run(process.execPath, ['--import=tsx', fixture, dir, String(w), '8'])),
  );
  const m = readManifest(dir);
  t.is(m.issued, 32);
  t.is(new Set(m.credentials.map((c) => c.member)).size, 32);
  t.false(existsSync(join(dir, BATCH_FILES.lock)));
});

test('a lock held by a live process times out with BATCH_LOCKED; a dead owner is broken', async (t) => {
  const dir = tmp(t);
  newBatch(dir);
  const { hostname } = await import('node:os');
  writeFileSync(join(dir, BATCH_FILES.lock), `${process.pid}@${hostname()}\n`);
  const e = await t.throwsAsync(
    withBatchLock(dir, () => 1, 200),
    { instanceOf: FactoryError },
  );
  t.is(e?.code, 'BATCH_LOCKED');
  t.regex(e?.message ?? '', new RegExp(`held by ${process.pid}@`));
  // A pid that cannot exist (above pid_max) stands for a crashed provisioning.
  writeFileSync(join(dir, BATCH_FILES.lock), `${2 ** 22 + 1}@${hostname()}\n`);
  t.is(await withBatchLock(dir, () => 42, 200), 42);
  t.false(existsSync(join(dir, BATCH_FILES.lock)));
});

test('property: any valid manifest survives encode → parseManifest unchanged', (t) => {
  const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
  const date = fc
    .date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true })
    .map((d) => d.toISOString());
  const manifest = fc
    .record({
      name: fc.string({ maxLength: 20 }),
      size: fc.integer({ min: 1, max: 1_000_000 }),
      gid: hex64,
      created: date,
      credentials: fc.uniqueArray(fc.record({ member: hex64, issuedAt: date, reissues: fc.nat(5) }), {
        selector: (c) => c.member,
        maxLength: 8,
      }),
    })
    // Plain objects in the manifest's field order (fast-check records have a null prototype).
    .map((m) => ({
      format: 'xtt-factory-batch/1' as const,
      name: m.name,
      size: m.size,
      gid: m.gid,
      created: m.created,
      issued: m.credentials.length,
      credentials: m.credentials.map((c) => ({
        member: c.member,
        issuedAt: c.issuedAt,
        reissues: c.reissues,
      })),
    }));
  fc.assert(
    fc.property(manifest, (m) => isDeepStrictEqual(parseManifest(JSON.stringify(m, null, 2)), m)),
    { numRuns: 200 },
  );
  t.pass();
});
