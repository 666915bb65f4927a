// Tests for agent/identity-provisioner.ts: one attempt = fresh keys + XttClient + runner; keys are
// released on success and on failure; the identity certificate is made with the long-term key;
// development-mode files are read and bad ones named.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../agent/errors.ts';
import { devModeKeys, makeProvisionIdentity, type AttemptKeys } from '../../../agent/identity-provisioner.ts';
import { LongtermKeyFiles } from '../../../agent/longterm-key-files.ts';
import { ProtocolError } from '../../../protocol/errors.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SoftwareP256Signer } from '../../../protocol/xtt/signers.ts';
import type { ClientResult } from '../../../protocol/xtt/client.ts';

const ID = new Uint8Array(Buffer.from('2001db8000000000000000000000abcd'.padEnd(32, '0'), 'hex'));

function keys(released: string[]): () => Promise<AttemptKeys> {
  return async () => ({
    daa: { gid: new Uint8Array(32), basename: new Uint8Array([1]), sign: async () => new Uint8Array(421) },
    longterm: SoftwareP256Signer.generate(systemRng),
    roots: [],
    release: async () => {
      released.push('released');
    },
  });
}

const opts = {
  suite: 1,
  host: '127.0.0.1',
  port: 4444,
  connectTimeoutMs: 100,
  handshakeTimeoutMs: 100,
  rng: systemRng,
  now: () => Date.UTC(2026, 10, 28),
};

test('a successful attempt returns identity, long-term key and a DER identity certificate; keys released', async (t) => {
  const released: string[] = [];
  let target: unknown;
  const provision = makeProvisionIdentity(
    keys(released),
    async (_client, tg) => {
      target = tg;
      return { identity: ID, longtermPublicKey: new Uint8Array(65).fill(4) } as ClientResult;
    },
    opts,
  );
  const signal = new AbortController().signal;
  const got = await provision(signal);
  t.deepEqual(got.identity, ID);
  t.is(got.longtermPublicKey.length, 65);
  t.is(got.certificate?.[0], 0x30, 'DER SEQUENCE');
  t.deepEqual(released, ['released']);
  t.like(target, { host: '127.0.0.1', port: 4444, connectTimeoutMs: 100, handshakeTimeoutMs: 100 });
});

test('a failed attempt rethrows the runner error and still releases the keys', async (t) => {
  const released: string[] = [];
  const provision = makeProvisionIdentity(
    keys(released),
    async () => {
      throw new ProtocolError('RECEIVED_ERROR', 'ServerInitAndAttest', 'refused');
    },
    opts,
  );
  await t.throwsAsync(provision(new AbortController().signal), { instanceOf: ProtocolError });
  t.deepEqual(released, ['released']);
});

test('an unknown suite is a ConfigError at construction', (t) => {
  t.throws(() => makeProvisionIdentity(keys([]), async () => ({}) as ClientResult, { ...opts, suite: 7 }), {
    instanceOf: ConfigError,
    message: /suite/,
  });
});

test('development mode: missing and malformed files are ConfigErrors naming the setting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'devkeys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dev = {
    gpk: join(dir, 'daa_gpk.bin'),
    credential: join(dir, 'daa_cred.bin'),
    secretKey: join(dir, 'daa_secretkey.bin'),
    basename: join(dir, 'basename.bin'),
    rootCert: join(dir, 'root_cert.bin'),
  };
  const files = new LongtermKeyFiles(join(dir, 'state'));
  let e = await t.throwsAsync(devModeKeys(dev, systemRng, files)(), { instanceOf: ConfigError });
  t.regex(e.field, /^dev\./);
  for (const p of Object.values(dev)) writeFileSync(p, new Uint8Array(3));
  e = await t.throwsAsync(devModeKeys(dev, systemRng, files)(), { instanceOf: ConfigError });
  t.is(e.field, 'dev');
  t.regex(e.message, /do not decode/);
});
