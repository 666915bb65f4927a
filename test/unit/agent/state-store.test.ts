// Tests for agent/state-store.ts on a real temporary directory: round trip, no-clobber, strict
// decoding with clear errors, corrupt files left in place, crash leftovers ignored.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileStateStore,
  STATE_FILE,
  decodeState,
  encodeState,
  type StoredIdentity,
} from '../../../agent/state-store.ts';
import { StateError } from '../../../agent/errors.ts';

const sample: StoredIdentity = {
  identity: new Uint8Array(Buffer.from('fd000000000000000000000000000abc', 'hex')),
  longtermPublicKey: new Uint8Array(65).fill(4),
  certificate: new Uint8Array([1, 2, 3]),
  server: 'enf.example:4444',
  provisionedAt: new Date('2026-11-28T04:00:00.000Z'),
};

function tempDir(t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'state-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('empty directory: nothing stored', async (t) => {
  t.is(await new FileStateStore(join(tempDir(t), 'sub')).load(), undefined);
});

test('save then load round-trips; the file is 0640 and no temp file remains', async (t) => {
  const dir = tempDir(t);
  const s = new FileStateStore(dir);
  await s.save(sample);
  t.deepEqual(await new FileStateStore(dir).load(), sample);
  t.deepEqual(readdirSync(dir), [STATE_FILE]);
  t.is(statSync(join(dir, STATE_FILE)).mode & 0o777, 0o640);
});

test('certificate is optional', async (t) => {
  const dir = tempDir(t);
  const { certificate: _c, ...noCert } = sample;
  await new FileStateStore(dir).save(noCert);
  t.deepEqual(await new FileStateStore(dir).load(), noCert);
});

test('a stored identity is never replaced', async (t) => {
  const dir = tempDir(t);
  const s = new FileStateStore(dir);
  await s.save(sample);
  const other = { ...sample, identity: new Uint8Array(16).fill(9) };
  await t.throwsAsync(s.save(other), { instanceOf: StateError, message: /already stored/ });
  t.deepEqual((await s.load())?.identity, sample.identity);
});

test('a truncated file is a clear StateError and is not overwritten by save', async (t) => {
  const dir = tempDir(t);
  const text = encodeState(sample);
  writeFileSync(join(dir, STATE_FILE), text.slice(0, 40));
  const s = new FileStateStore(dir);
  const e = await t.throwsAsync(s.load(), { instanceOf: StateError });
  t.is(e.code, 'STATE_CORRUPT');
  t.regex(e.message, /state\.json: not valid JSON \(truncated or corrupt, 40 bytes\)/);
  await t.throwsAsync(s.save(sample), { instanceOf: StateError });
  t.is(readFileSync(join(dir, STATE_FILE), 'utf8'), text.slice(0, 40));
});

test('crash leftovers (temp files) are ignored by load and cleaned by save', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '.state.json.tmp-999'), '{"partial');
  const s = new FileStateStore(dir);
  t.is(await s.load(), undefined);
  await s.save(sample);
  t.deepEqual(readdirSync(dir), [STATE_FILE]);
});

const bad: [string, (o: Record<string, unknown>) => unknown, RegExp][] = [
  ['array', () => [], /not a JSON object/],
  ['unknown field', (o) => ({ ...o, extra: 1 }), /unknown field extra/],
  ['version', (o) => ({ ...o, version: 2 }), /version 2/],
  ['identity length', (o) => ({ ...o, identity: 'fd00' }), /identity is 2 bytes/],
  ['identity hex', (o) => ({ ...o, identity: 'FD'.repeat(16) }), /identity is not lower-case hex/],
  ['identity missing', ({ identity: _i, ...o }) => o, /identity is not/],
  ['key empty', (o) => ({ ...o, longtermPublicKey: '' }), /longtermPublicKey is empty/],
  ['certificate odd', (o) => ({ ...o, certificate: 'abc' }), /certificate is not/],
  ['server', (o) => ({ ...o, server: '' }), /server is missing/],
  ['time', (o) => ({ ...o, provisionedAt: 'yesterday' }), /provisionedAt/],
  ['time not canonical', (o) => ({ ...o, provisionedAt: '2026-11-28T04:00:00Z' }), /provisionedAt/],
];
for (const [name, mutate, re] of bad) {
  test(`decodeState rejects: ${name}`, (t) => {
    const o = JSON.parse(encodeState(sample)) as Record<string, unknown>;
    const e = t.throws(() => decodeState(JSON.stringify(mutate(o)), '/x/state.json'), {
      instanceOf: StateError,
    });
    t.regex(e.message, re);
    t.is(e.path, '/x/state.json');
  });
}

test('encodeState refuses an identity that is not 16 bytes', (t) => {
  t.throws(() => encodeState({ ...sample, identity: new Uint8Array(15) }), { instanceOf: RangeError });
});
