// Tests for agent/longterm-key-files.ts and the software long-term key reuse in
// agent/identity-provisioner.ts: the key is stored before first use, the same key comes back on
// every later attempt (the server refuses a changed key), files are strict and never replaced.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../../agent/errors.ts';
import { softwareLongtermKey } from '../../../agent/identity-provisioner.ts';
import {
  LongtermKeyFiles,
  SOFTWARE_KEY_FILE,
  TPM_KEY_FILE,
  decodeTpmKeyBlob,
  encodeTpmKeyBlob,
  type TpmKeyBlob,
} from '../../../agent/longterm-key-files.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { TPM_ALG } from '../../../tpm/constants.ts';

function tempDir(t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ltk-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const blob: TpmKeyBlob = {
  parent: 0x81000001,
  private: new Uint8Array(126).fill(0xaa),
  public: {
    type: TPM_ALG.TPM_ALG_ECC,
    nameAlg: TPM_ALG.TPM_ALG_SHA256,
    objectAttributes: 0x00040072,
    authPolicy: new Uint8Array(0),
    symmetric: { algorithm: TPM_ALG.TPM_ALG_NULL },
    scheme: { scheme: TPM_ALG.TPM_ALG_NULL },
    curveID: 0x0003,
    kdf: { scheme: TPM_ALG.TPM_ALG_NULL },
    unique: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) },
  },
};

test('software key: created and stored (0600) on first use, the same key afterwards', async (t) => {
  const dir = tempDir(t);
  const files = new LongtermKeyFiles(dir);
  const first = await softwareLongtermKey(files, systemRng);
  t.is(statSync(join(dir, SOFTWARE_KEY_FILE)).mode & 0o777, 0o600);
  const again = await softwareLongtermKey(new LongtermKeyFiles(dir), systemRng);
  t.deepEqual(again.publicKey, first.publicKey);
  t.is(again.publicKey.length, 65);
});

test('software key file of the wrong size or content is a StateError, and is not replaced', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, SOFTWARE_KEY_FILE), new Uint8Array(100));
  await t.throwsAsync(softwareLongtermKey(new LongtermKeyFiles(dir), systemRng), {
    instanceOf: StateError,
    message: /not 121 bytes/,
  });
  writeFileSync(join(dir, SOFTWARE_KEY_FILE), new Uint8Array(121));
  await t.throwsAsync(softwareLongtermKey(new LongtermKeyFiles(dir), systemRng), { instanceOf: StateError });
  t.deepEqual(new Uint8Array(readFileSync(join(dir, SOFTWARE_KEY_FILE))), new Uint8Array(121));
});

test('TPM key blob round-trips in TPM wire format and is never replaced', async (t) => {
  const dir = tempDir(t);
  const files = new LongtermKeyFiles(dir);
  t.is(await files.loadTpm(), undefined);
  await files.saveTpm(blob);
  t.deepEqual(await files.loadTpm(), blob);
  const bytes = new Uint8Array(readFileSync(join(dir, TPM_KEY_FILE)));
  t.deepEqual([...bytes.subarray(0, 6)], [0x81, 0, 0, 1, 0, 126]);
  await t.throwsAsync(files.saveTpm({ ...blob, parent: 0x81000002 }), {
    instanceOf: StateError,
    message: /refusing/,
  });
});

test('TPM key blob decoding is strict: truncated and trailing bytes are StateErrors naming the file', (t) => {
  const enc = encodeTpmKeyBlob(blob);
  t.throws(() => decodeTpmKeyBlob(enc.subarray(0, enc.length - 1), '/s/longterm-key.tpm'), {
    instanceOf: StateError,
    message: /longterm-key\.tpm: long-term key blob does not decode/,
  });
  t.throws(() => decodeTpmKeyBlob(new Uint8Array([...enc, 0]), '/s/longterm-key.tpm'), {
    instanceOf: StateError,
  });
  t.throws(() => decodeTpmKeyBlob(new Uint8Array(3), '/s/longterm-key.tpm'), { instanceOf: StateError });
});
