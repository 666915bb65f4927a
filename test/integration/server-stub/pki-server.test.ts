// PKI enrollment with the real `enf-server` program: init, network add, `ca registration-code`,
// `ca add` refused without or with a wrong verification certificate (nothing stored), accepted with
// one the CA signed; `start --pki-port` with an openssl-made TLS certificate; devices enroll over TLS
// (the agent's client, both proofs); `ca devices`, `ca crl`, `ca revoke-device`, `ca revoke`, `audit`.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollOverTls, type PkiCredentials } from '../../../agent/pki-tls-client.ts';
import { ProtocolError } from '../../../protocol/errors.ts';
import { EXT, issue, issueCa, makeCrl, makeRoot, revoke, type IssuedCert } from '../../helpers/openssl-ca.ts';
import { freePort } from '../../../qemu/ports.ts';
import { runEnfCli, type CliRun } from './_enf-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'pki-server-'));
const dir = join(work, 'enf');
let server: ChildProcess | undefined;
test.after.always(() => {
  server?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

function cli(...args: string[]): Promise<CliRun> {
  return runEnfCli(['--dir', dir, ...args]);
}

test.serial('ca add with proof, start --pki-port, enroll, list, CRL, revoke, audit', async (t) => {
  t.is((await cli('init')).code, 0);
  t.is((await cli('network', 'add', '--name', 'plant', '--prefix', 'fd00:16::/64')).code, 0);
  const root = makeRoot(work, 'acme-root');
  const inter = issueCa(root, work, 'acme-issuing');

  const noProof = await cli('ca', 'add', '--cert', inter.certPath, '--network', 'plant');
  t.is(noProof.code, 2, noProof.stderr);
  const code = (
    (await cli('ca', 'registration-code', '--cert', inter.certPath)).json as { registrationCode: string }
  ).registrationCode;
  t.regex(code, /^[0-9a-f]{32}$/);
  const wrong = issue(inter, work, 'not-the-code');
  const bad = await cli(
    'ca',
    'add',
    '--cert',
    inter.certPath,
    '--network',
    'plant',
    '--verification-cert',
    wrong.certPath,
  );
  t.is(bad.code, 6, bad.stderr);
  t.regex(bad.stderr, /verificationCert/);
  t.deepEqual((await cli('ca', 'list')).json, []);
  const proof = issue(inter, join(work, 'v'), code);
  const added = await cli(
    'ca',
    'add',
    '--cert',
    inter.certPath,
    '--network',
    'plant',
    '--verification-cert',
    proof.certPath,
  );
  t.is(added.code, 0, added.stderr);
  t.like(added.json, { name: 'acme-issuing', verified: true, status: 'active' });

  const serverCa = makeRoot(work, 'tls-ca');
  const tls = issue(serverCa, work, 'enf-tls', { ext: EXT.server });
  const [port, pkiPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const tokens = join(work, 'tokens');
  writeFileSync(tokens, 'pki-server-test-token-0123456789\n', { mode: 0o600 });
  server = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server-stub/main.ts',
      '--dir',
      dir,
      'start',
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--pki-port',
      String(pkiPort),
      '--pki-tls-cert',
      tls.certPath,
      '--pki-tls-key',
      tls.keyPath,
      '--http-port',
      String(httpPort),
      '--http-bind',
      '127.0.0.1',
      '--api-token-file',
      tokens,
      '--metrics-public',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ENF_SERVER_DIR: '' } },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    server!.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('server.listening')) resolve();
    });
    server!.once('exit', (c) => reject(new Error(`enf-server exited ${c}: ${log}`)));
  });
  t.regex(log, /server.pki-listening/);

  const target = {
    host: '127.0.0.1',
    port: pkiPort,
    serverCa: serverCa.pem,
    connectTimeoutMs: 30_000,
    handshakeTimeoutMs: 60_000,
    signal: new AbortController().signal,
  };
  const viaTls = (l: IssuedCert): PkiCredentials => ({
    chain: [l.der],
    tls: { key: readFileSync(l.keyPath), cert: l.pem },
  });
  const a = issue(inter, work, 'gw-a');
  const first = await enrollOverTls(viaTls(a), target);
  t.is(Buffer.from(first.identity.subarray(0, 8)).toString('hex'), 'fd00001600000000');
  const key = createPrivateKey(readFileSync(a.keyPath));
  const jwk = key.export({ format: 'jwk' });
  const signer = {
    publicKey: Uint8Array.of(4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')),
    sign: async (m: Uint8Array) => new Uint8Array(nodeSign('sha256', m, { key, dsaEncoding: 'ieee-p1363' })),
  };
  const second = await enrollOverTls({ chain: [a.der], signer }, target);
  t.deepEqual(second.identity, first.identity);

  const devices = (await cli('ca', 'devices')).json as {
    identity: string;
    subject: string;
    enrollCount: number;
  }[];
  t.is(devices.length, 1);
  t.like(devices[0], { subject: 'CN=gw-a', enrollCount: 2 });

  const b = issue(inter, work, 'gw-b');
  revoke(inter, b);
  const crl = makeCrl(inter);
  const up = await cli('ca', 'crl', 'acme-issuing', '--file', crl.pemPath);
  t.is(up.code, 0, up.stderr);
  t.like(up.json, { entries: 1 });
  const notSigned = await cli(
    'ca',
    'crl',
    'acme-issuing',
    '--file',
    makeCrl(root, join(root.dir, 'r.crl')).pemPath,
  );
  t.is(notSigned.code, 6, notSigned.stderr);
  await t.throwsAsync(enrollOverTls(viaTls(b), target), { instanceOf: ProtocolError, message: /refused/ });

  t.is((await cli('ca', 'revoke-device', devices[0]!.identity)).code, 0);
  await t.throwsAsync(enrollOverTls(viaTls(a), target), { message: /refused/ });
  t.is((await cli('ca', 'revoke', 'acme-issuing')).code, 0);
  await t.throwsAsync(enrollOverTls(viaTls(issue(inter, work, 'gw-c')), target), { message: /refused/ });

  // A certificate no registered CA issued: refused before any organization is known.
  const stranger = issue(makeRoot(work, 'stranger-root'), work, 'gw-x');
  await t.throwsAsync(enrollOverTls(viaTls(stranger), target), { message: /refused/ });
  // The enrollment counters carry the organization of the CA's network (the default one here).
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.regex(metrics, /^enf_pki_enrollments_total\{organization="default",outcome="provisioned"\} 2$/m);
  t.regex(metrics, /^enf_pki_enrollments_total\{organization="default",outcome="refused"\} 3$/m);
  t.regex(metrics, /^enf_pki_enrollments_total\{organization="\(none\)",outcome="refused"\} 1$/m);

  const audit = (await cli('audit', '--limit', '10')).json as { reason: string }[];
  t.deepEqual(
    audit.slice(1, 6).map((e) => e.reason),
    ['ca-revoked', 'device-revoked', 'certificate-revoked', 'returning-device', 'new-device'],
  );
});
