// factory/root-certs.ts against the reference tool's files (test/vectors/xtt-0.12-static): the root and
// server key files and certificates parse, the root signature verifies, and replaying the tool's
// random draws reproduces every file byte for byte (genkeypair, genrootcert, genservercert).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT_FILES,
  SERVER_FILES,
  createRoot,
  createServerCertificate,
  parseReserved,
  readRoot,
  readRootCertificate,
  writeRoot,
  writeServerCertificate,
} from '../../../factory/root-certs.ts';
import { FactoryError } from '../../../factory/errors.ts';
import {
  decodeP256KeyFile,
  decodeRootCertificate,
  decodeServerCertificate,
  verifyServerCertificate,
} from '../../../protocol/xtt/certificates.ts';
import { fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { systemRng, type Rng } from '../../../protocol/util/rng.ts';

interface StaticVectors {
  root_keys_asn1: string;
  root_certificate: string;
  server_keys_asn1: string;
  server_certificate: string;
  root_signature: string;
  draws: { root_private_key: string; root_id: string; server_private_key: string; root_signature_k: string };
}
const V = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../vectors/xtt-0.12-static/certificates.json'), 'utf8'),
) as StaticVectors;

/** Replays recorded draws in order and fails if the code asks for anything else. */
function replay(...draws: string[]): Rng & { left(): number } {
  const queue = draws.map((h) => fromHex(h));
  return {
    bytes(n: number): Uint8Array {
      const next = queue.shift();
      if (!next || next.length !== n) throw new Error(`unexpected draw of ${n} bytes`);
      return next;
    },
    left: () => queue.length,
  };
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'root-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('reference files parse: 121-byte key files, 81-byte root cert, 169-byte server cert verifying', (t) => {
  const rootKeys = decodeP256KeyFile(fromHex(V.root_keys_asn1));
  const root = decodeRootCertificate(fromHex(V.root_certificate));
  t.is(fromHex(V.root_keys_asn1).length, 121);
  t.is(fromHex(V.root_certificate).length, 81);
  t.is(fromHex(V.server_certificate).length, 169);
  t.deepEqual(root.publicKey, rootKeys.publicKey);
  const cert = verifyServerCertificate(fromHex(V.server_certificate), [root]);
  t.is(toHex(cert.rootSignature), V.root_signature);
  t.deepEqual(cert.publicKey, decodeP256KeyFile(fromHex(V.server_keys_asn1)).publicKey);
});

test('replaying the tool draws reproduces root key file and root certificate byte for byte', (t) => {
  const rng = replay(V.draws.root_private_key, V.draws.root_id);
  const root = createRoot(rng);
  t.is(rng.left(), 0);
  const dir = tmp(t);
  const paths = writeRoot(dir, root);
  t.is(toHex(readFileSync(paths.keys)), V.root_keys_asn1);
  t.is(toHex(readFileSync(paths.certificate)), V.root_certificate);
  t.is(statSync(paths.keys).mode & 0o777, 0o600);
});

test('replaying the tool draws reproduces server key file and certificate (root signature with recorded k)', (t) => {
  const root = createRoot(replay(V.draws.root_private_key, V.draws.root_id));
  const rng = replay(V.draws.server_private_key, V.draws.root_signature_k);
  const server = createServerCertificate(root, rng);
  t.is(rng.left(), 0);
  const dir = tmp(t);
  const paths = writeServerCertificate(dir, server);
  t.is(toHex(readFileSync(paths.keys)), V.server_keys_asn1);
  t.is(toHex(readFileSync(paths.certificate)), V.server_certificate);
  t.is(toHex(server.certificate.rootSignature), V.root_signature);
});

test('fresh root and server certificate: formats, custom reserved field, verification', (t) => {
  const dir = tmp(t);
  writeRoot(join(dir, 'root'), createRoot(systemRng));
  const root = readRoot(join(dir, 'root'));
  const server = createServerCertificate(root, systemRng, parseReserved('ACMESERVER00012030123100'));
  writeServerCertificate(join(dir, 'server'), server);
  const bytes = new Uint8Array(readFileSync(join(dir, 'server', SERVER_FILES.certificate)));
  t.is(bytes.length, 169);
  const cert = decodeServerCertificate(bytes);
  t.is(new TextDecoder().decode(cert.reserved), 'ACMESERVER00012030123100');
  t.deepEqual(cert.rootId, root.certificate.rootId);
  t.notThrows(() => verifyServerCertificate(bytes, [root.certificate]));
  // A different root does not accept it.
  const other = createRoot(systemRng);
  t.throws(() => verifyServerCertificate(bytes, [{ ...other.certificate, rootId: root.certificate.rootId }]));
});

test('refuses to overwrite a root or a server certificate', (t) => {
  const dir = tmp(t);
  writeRoot(dir, createRoot(systemRng));
  const before = readFileSync(join(dir, ROOT_FILES.keys));
  const e = t.throws(() => writeRoot(dir, createRoot(systemRng)), { instanceOf: FactoryError });
  t.is(e?.code, 'EXISTS');
  t.deepEqual(readFileSync(join(dir, ROOT_FILES.keys)), before);
  const root = readRoot(dir);
  writeServerCertificate(dir, createServerCertificate(root, systemRng));
  t.is(
    t.throws(() => writeServerCertificate(dir, createServerCertificate(root, systemRng)), {
      instanceOf: FactoryError,
    })?.code,
    'EXISTS',
  );
});

test('readRoot reports a certificate that does not belong to the key file, and bad files', (t) => {
  const dir = tmp(t);
  writeRoot(dir, createRoot(systemRng));
  const certPath = join(dir, ROOT_FILES.certificate);
  const good = readFileSync(certPath);
  writeFileSync(
    certPath,
    Buffer.concat([good.subarray(0, 16), Buffer.from(createRoot(systemRng).keys.publicKey)]),
  );
  const e = t.throws(() => readRoot(dir), { instanceOf: FactoryError });
  t.is(e?.field, 'public_key');
  t.regex(e?.message ?? '', /root_cert\.bin: public_key: is not the key in root_keys\.asn1\.bin/);
  writeFileSync(certPath, Buffer.concat([good, Buffer.from([0])]));
  // The codec's wording is protocol/xtt's; here: the file is named and the layout error is passed on.
  const long = t.throws(() => readRootCertificate(certPath), { instanceOf: FactoryError });
  t.is(long?.code, 'BATCH_CORRUPT');
  t.regex(long?.message ?? '', /root_cert\.bin: RootCertificate.* at offset \d+: .*(81|82|trailing)/);
  writeFileSync(certPath, good.subarray(0, 80));
  const short = t.throws(() => readRootCertificate(certPath), { instanceOf: FactoryError });
  t.regex(short?.message ?? '', /root_cert\.bin: RootCertificate.* at offset \d+: .*(80|81|64|65)/);
  const keyPath = join(dir, ROOT_FILES.keys);
  const key = readFileSync(keyPath);
  key[key.length - 1]! ^= 1;
  writeFileSync(keyPath, key);
  t.is(t.throws(() => readRoot(dir), { instanceOf: FactoryError })?.code, 'BATCH_CORRUPT');
  t.is(
    t.throws(() => readRootCertificate(join(dir, 'nope')), { instanceOf: FactoryError })?.code,
    'NOT_FOUND',
  );
});

test('parseReserved: default, exact 24 bytes only', (t) => {
  t.is(new TextDecoder().decode(parseReserved(undefined)), 'XAPTUMSERVER000199991231');
  t.is(t.throws(() => parseReserved('short'), { instanceOf: FactoryError })?.code, 'BAD_VALUE');
  t.throws(() => parseReserved('x'.repeat(25)));
});
