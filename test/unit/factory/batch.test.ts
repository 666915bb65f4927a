// factory/batch.ts: a created batch opens with every consistency check, and each kind of tampering
// (foreign GPK, broken issuer proof, wrong secret key, wrong gid) is reported with file and field.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeBatch, createBatch, openBatch } from '../../../factory/batch.ts';
import { FactoryError } from '../../../factory/errors.ts';
import {
  createJoinRequest,
  decodeGroupPublicKey,
  groupId,
  issueCredential,
  verifyCredential,
} from '../../../protocol/ecdaa/index.ts';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'batch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BASENAME = new TextEncoder().encode('BASENAME');

test('created batch opens; gid = SHA-256(gpk ‖ basename); issuer key issues verifying credentials', (t) => {
  const dir = join(tmp(t), 'b');
  const created = createBatch({ dir, name: 'lot', size: 5, basename: BASENAME, rng: systemRng });
  t.is(created.manifest.gid, toHex(groupId(created.gpkBytes, BASENAME)));
  const b = openBatch(dir, { withSecret: true });
  t.deepEqual(b.gpkBytes, created.gpkBytes);
  t.truthy(b.isk);
  const nonce = systemRng.bytes(32);
  const req = createJoinRequest(12345n, nonce, systemRng);
  const { credential, credentialSignature } = issueCredential(b.isk!, req, nonce, systemRng);
  t.true(verifyCredential(credential, credentialSignature, req.Q, decodeGroupPublicKey(b.gpkBytes)));
  closeBatch(b);
  t.is(b.isk, undefined);
  t.is(openBatch(dir, { withSecret: false }).isk, undefined);
});

test('tampering is reported with the file and field', (t) => {
  const root = tmp(t);
  const a = join(root, 'a');
  const other = join(root, 'other');
  createBatch({ dir: a, name: 'a', size: 5, basename: BASENAME, rng: systemRng });
  createBatch({ dir: other, name: 'o', size: 5, basename: BASENAME, rng: systemRng });
  const restore = (f: string): (() => void) => {
    const bytes = readFileSync(join(a, f));
    return () => writeFileSync(join(a, f), bytes);
  };
  const cases: [string, () => void, string, RegExp][] = [
    [
      'gpk.bin',
      () => writeFileSync(join(a, 'gpk.bin'), readFileSync(join(other, 'gpk.bin'))),
      'gpk',
      /ipk\.bin: gpk: differs from gpk\.bin/,
    ],
    [
      'ipk.bin',
      () => writeFileSync(join(a, 'ipk.bin'), readFileSync(join(other, 'ipk.bin'))),
      'gpk',
      /ipk\.bin: gpk: differs/,
    ],
    [
      'ipk.bin',
      () => {
        const ipk = readFileSync(join(a, 'ipk.bin'));
        ipk[ipk.length - 1]! ^= 1; // sy
        writeFileSync(join(a, 'ipk.bin'), ipk);
      },
      'proof',
      /ipk\.bin: proof: the issuer proof of knowledge does not verify/,
    ],
    [
      'issuer-secret.key',
      () => writeFileSync(join(a, 'issuer-secret.key'), readFileSync(join(other, 'issuer-secret.key'))),
      'isk',
      /issuer-secret\.key: isk: is not the secret key of gpk\.bin/,
    ],
    [
      'basename.bin',
      () => writeFileSync(join(a, 'basename.bin'), 'OTHER'),
      'gid',
      /manifest\.json: gid: is [0-9a-f]{64}, but SHA-256/,
    ],
    [
      'gpk.bin',
      () => {
        const g = readFileSync(join(a, 'gpk.bin'));
        g[0] = 0x05;
        writeFileSync(join(a, 'gpk.bin'), g);
      },
      'gpk',
      /gpk\.bin: gpk: /,
    ],
  ];
  for (const [file, damage, field, re] of cases) {
    const undo = restore(file);
    damage();
    const e = t.throws(() => openBatch(a, { withSecret: true }), { instanceOf: FactoryError }, file);
    t.is(e?.code, 'BATCH_CORRUPT');
    t.is(e?.field, field, file);
    t.regex(e?.message ?? '', re, file);
    undo();
  }
  t.notThrows(() => openBatch(a, { withSecret: true }));
});
