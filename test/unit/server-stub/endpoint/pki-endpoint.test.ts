// PKI enrollment end to end in one process over loopback TLS 1.3: the agent's client
// (agent/pki-tls-client.ts) against PkiEndpoint + PkiPolicy on an in-memory registry, CAs made by
// openssl. Both proofs of possession; a signature bound to another TLS session (a relay) and a
// replayed request are refused without touching the registry; refusals are audited with their
// reason and change no device; an untrusted server certificate is the client's own error.
import test from 'ava';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ProtocolError } from '../../../../protocol/errors.ts';
import { parseCertificate } from '../../../../protocol/pki/certificate.ts';
import {
  bindingMessage,
  encodePkiMessage,
  PKI_EXPORTER_LABEL,
  PKI_MSG,
  PKI_PROOF,
  PkiFramer,
  type PkiMessage,
} from '../../../../protocol/pki/wire.ts';
import type { LongtermSigner } from '../../../../protocol/xtt/signers.ts';
import { enrollOverTls, type PkiCredentials } from '../../../../agent/pki-tls-client.ts';
import { memoryLogger } from '../../../../server-stub/log.ts';
import { PkiEndpoint } from '../../../../server-stub/endpoint/pki-endpoint.ts';
import { PkiPolicy } from '../../../../server-stub/policy/pki-policy.ts';
import { MemoryPkiRegistry } from '../../../fakes/memory-pki-registry.ts';
import {
  EXT,
  issue,
  issueCa,
  makeCrl,
  makeRoot,
  revoke,
  type IssuedCert,
  type TestCa,
} from '../../../helpers/openssl-ca.ts';

const base = mkdtempSync(join(tmpdir(), 'pki-endpoint-'));
const serverCa = makeRoot(base, 'server-ca');
const serverCert = issue(serverCa, base, 'enf-server', { ext: EXT.server });
const root = makeRoot(base, 'customer-root');
const inter = issueCa(root, base, 'customer-issuing');
const otherCa = makeRoot(base, 'stranger-ca');

const registry = new MemoryPkiRegistry();
const log = memoryLogger();
const policy = new PkiPolicy(registry, parseCertificate, { clock: { now: Date.now }, logger: log });
const endpoint = new PkiEndpoint(
  { host: '127.0.0.1', port: 0, cert: serverCert.pem, key: readFileSync(serverCert.keyPath) },
  { policy, logger: log },
);
let port = 0;
test.before(async () => {
  port = (await endpoint.listen()).port;
  await registry.addCa({ der: root.der, name: 'customer', network: 1, maxDevices: 5 });
});
test.after.always(async () => {
  await endpoint.close();
  rmSync(base, { recursive: true, force: true });
});

function target(over: { serverCa?: string } = {}) {
  return {
    host: '127.0.0.1',
    port,
    serverCa: over.serverCa ?? serverCa.pem,
    connectTimeoutMs: 20_000,
    handshakeTimeoutMs: 60_000,
    signal: new AbortController().signal,
  };
}

const chainOf = (leaf: IssuedCert): Uint8Array[] => [leaf.der, inter.der];
const tlsCreds = (leaf: IssuedCert): PkiCredentials => ({
  chain: chainOf(leaf),
  tls: { key: readFileSync(leaf.keyPath), cert: leaf.pem + inter.pem },
});

/** A P-256 key file as the LongtermSigner a TPM key would be. */
function fileSigner(leaf: IssuedCert): LongtermSigner {
  const key = createPrivateKey(readFileSync(leaf.keyPath));
  const jwk = key.export({ format: 'jwk' });
  const publicKey = Uint8Array.of(
    4,
    ...Buffer.from(jwk.x!, 'base64url'),
    ...Buffer.from(jwk.y!, 'base64url'),
  );
  return {
    publicKey,
    sign: async (m) => new Uint8Array(nodeSign('sha256', m, { key, dsaEncoding: 'ieee-p1363' })),
  };
}

test.serial('TLS client certificate: a new device, then the same identity for the same key', async (t) => {
  const leaf = issue(inter, base, 'gateway-1');
  const first = await enrollOverTls(tlsCreds(leaf), target());
  t.deepEqual(first.identity.subarray(0, 8), registry.networks.get(1));
  t.is(first.prefixLength, 64);
  const again = await enrollOverTls(tlsCreds(leaf), target());
  t.deepEqual(again.identity, first.identity);
  t.deepEqual(
    registry.audit.slice(-2).map((a) => [a.outcome, a.reason, a.method]),
    [
      ['provisioned', 'new-device', 'tls-client-certificate'],
      ['provisioned', 'returning-device', 'tls-client-certificate'],
    ],
  );
  const dev = registry.devices.find((d) => d.subject === 'CN=gateway-1')!;
  t.is(dev.enrollCount, 2);
  t.is(dev.serial, parseCertificate(leaf.der).serial);
  t.is(registry.audit.at(-1)!.sourceAddress, '127.0.0.1');
});

test.serial(
  'signed challenge (the TPM path): enrolls; the same key by TLS gets the same identity',
  async (t) => {
    const leaf = issue(inter, base, 'tpm-device');
    const byChallenge = await enrollOverTls({ chain: chainOf(leaf), signer: fileSigner(leaf) }, target());
    const byTls = await enrollOverTls(tlsCreds(leaf), target());
    t.deepEqual(byTls.identity, byChallenge.identity);
    t.is(registry.audit.at(-2)!.method, 'signed-challenge');
  },
);

/** Opens a raw session: its nonce, its exporter, and a way to send one request and read the answer. */
async function rawSession(): Promise<{
  nonce: Uint8Array;
  exporter: Uint8Array;
  send(m: PkiMessage): Promise<PkiMessage | 'closed'>;
}> {
  const sock = connect({
    host: '127.0.0.1',
    port,
    ca: serverCa.pem,
    servername: 'localhost',
    minVersion: 'TLSv1.3',
  });
  const framer = new PkiFramer();
  let onMessage: (m: PkiMessage | 'closed') => void = () => undefined;
  sock.on('data', (b: Buffer) => {
    const got = framer.push(new Uint8Array(b));
    if (got.kind === 'message') onMessage(got.message);
  });
  sock.on('close', () => onMessage('closed'));
  const challenge = await new Promise<PkiMessage | 'closed'>((resolve) => (onMessage = resolve));
  if (challenge === 'closed' || challenge.type !== PKI_MSG.Challenge) throw new Error('no challenge');
  return {
    nonce: challenge.nonce,
    exporter: new Uint8Array(sock.exportKeyingMaterial(32, PKI_EXPORTER_LABEL, Buffer.alloc(0))),
    send: (m) =>
      new Promise((resolve) => {
        onMessage = (x) => {
          resolve(x);
          sock.destroy();
        };
        sock.write(encodePkiMessage(m));
      }),
  };
}

test.serial(
  'a signature bound to another TLS session (relay) or replayed is refused; nothing recorded',
  async (t) => {
    const leaf = issue(inter, base, 'relayed');
    const signer = fileSigner(leaf);
    const before = { devices: registry.devices.length, audit: registry.audit.length };
    const victim = await rawSession();
    const attacker = await rawSession();
    // the device signed for the session it sees (the relay's), over the server's nonce
    const relayed = await signer.sign(bindingMessage(attacker.exporter, victim.nonce, leaf.der));
    const request = (signature: Uint8Array): PkiMessage => ({
      type: PKI_MSG.EnrollRequest,
      proof: PKI_PROOF.SignedChallenge,
      certificates: chainOf(leaf),
      signature,
    });
    t.like(await victim.send(request(relayed)), { type: PKI_MSG.Refused });
    // a valid signature for one session, replayed in a new one (new nonce, new exporter)
    const honest = await rawSession();
    const good = await signer.sign(bindingMessage(honest.exporter, honest.nonce, leaf.der));
    const replay = await rawSession();
    t.like(await replay.send(request(good)), { type: PKI_MSG.Refused });
    t.like(await honest.send(request(good)), { type: PKI_MSG.Enrolled });
    t.is(registry.devices.length, before.devices + 1);
    t.is(registry.audit.length, before.audit + 1);
    t.true(log.lines.filter((l) => l.includes('reason=bad-challenge-signature')).length >= 2);
  },
);

test.serial('proof 1 without a TLS client certificate, or with another one, is refused', async (t) => {
  const leaf = issue(inter, base, 'claims-tls');
  const s = await rawSession();
  t.like(
    await s.send({
      type: PKI_MSG.EnrollRequest,
      proof: PKI_PROOF.TlsClientCertificate,
      certificates: chainOf(leaf),
    }),
    {
      type: PKI_MSG.Refused,
    },
  );
  t.true(log.lines.some((l) => l.includes('reason=no-tls-client-certificate')));
  const other = issue(inter, base, 'other-tls');
  await t.throwsAsync(enrollOverTls({ chain: chainOf(leaf), tls: tlsCreds(other).tls! }, target()), {
    instanceOf: ProtocolError,
    message: /refused/,
  });
  t.true(log.lines.some((l) => l.includes('reason=tls-certificate-mismatch')));
});

const refusals: [string, () => PkiCredentials, string][] = [
  [
    'wrong CA',
    () => ({
      chain: [issue(otherCa, base, 'stranger').der],
      tls: {
        key: readFileSync(join(base, 'stranger/key.pem')),
        cert: readFileSync(join(base, 'stranger/cert.pem')),
      },
    }),
    'unknown-ca',
  ],
  [
    'wrong EKU',
    () => tlsCreds(issue(inter, base, 'server-eku', { ext: EXT.serverAuthOnly })),
    'extended-key-usage',
  ],
  [
    'expired',
    () =>
      tlsCreds(
        issue(inter, base, 'old', {
          notBefore: new Date(Date.now() - 9e8),
          notAfter: new Date(Date.now() - 9e7),
        }),
      ),
    'certificate-expired',
  ],
  [
    'not yet valid',
    () =>
      tlsCreds(
        issue(inter, base, 'future', {
          notBefore: new Date(Date.now() + 9e7),
          notAfter: new Date(Date.now() + 9e8),
        }),
      ),
    'certificate-not-yet-valid',
  ],
  [
    'self-signed',
    () => {
      const self = makeRoot(base, 'self-signed-leaf', EXT.leaf);
      return { chain: [self.der], tls: { key: readFileSync(self.keyPath), cert: self.pem } };
    },
    'self-signed',
  ],
  [
    'chain too long',
    () => {
      // leaf, four more intermediates, the customer's issuing CA and its root: 7 > 5
      let ca: TestCa = inter;
      const deep: TestCa[] = [];
      for (let i = 1; i <= 4; i++) deep.unshift((ca = issueCa(ca, base, `deep-${i}`)));
      const leaf = issue(ca, base, 'deep-leaf');
      const below = [...deep, inter];
      return {
        chain: [leaf.der, ...below.map((c) => c.der)],
        tls: { key: readFileSync(leaf.keyPath), cert: [leaf, ...below].map((c) => c.pem).join('') },
      };
    },
    'chain-too-long',
  ],
];
for (const [title, creds, reason] of refusals) {
  test.serial(`refused (${title}): audited as ${reason}, no device`, async (t) => {
    const devices = registry.devices.length;
    await t.throwsAsync(enrollOverTls(creds(), target()), { instanceOf: ProtocolError, message: /refused/ });
    t.like(registry.audit.at(-1), { outcome: 'refused', reason });
    t.is(registry.devices.length, devices);
  });
}

test.serial('revocation: device, CRL, whole CA; then the quota', async (t) => {
  const a = issue(inter, base, 'rev-device');
  const first = await enrollOverTls(tlsCreds(a), target());
  const dev = (await registry.getCertDeviceByIdentity(first.identity))!;
  await registry.revokeCertDevice(dev.id);
  await t.throwsAsync(enrollOverTls(tlsCreds(a), target()), { message: /refused/ });
  t.like(registry.audit.at(-1), { reason: 'device-revoked' });

  // the root's CRL revokes the intermediate: every leaf under it is refused
  revoke(root, inter);
  const crl = makeCrl(root);
  await registry.putCrl(1, {
    der: crl.der,
    thisUpdate: 0,
    nextUpdate: null,
    serials: [parseCertificate(inter.der).serial],
  });
  await t.throwsAsync(enrollOverTls(tlsCreds(issue(inter, base, 'after-crl')), target()), {
    message: /refused/,
  });
  t.like(registry.audit.at(-1), { reason: 'certificate-revoked' });
  registry.crls.clear();

  await registry.revokeCa(1);
  await t.throwsAsync(enrollOverTls(tlsCreds(issue(inter, base, 'after-ca-revoke')), target()), {
    message: /refused/,
  });
  t.like(registry.audit.at(-1), { reason: 'ca-revoked' });
  registry.cas[0]!.status = 'active';

  registry.cas[0]!.maxDevices = registry.devices.length;
  const devices = registry.devices.length;
  await t.throwsAsync(enrollOverTls(tlsCreds(issue(inter, base, 'over-quota')), target()), {
    message: /refused/,
  });
  t.like(registry.audit.at(-1), { reason: 'ca-quota-exceeded' });
  t.is(registry.devices.length, devices);
  registry.cas[0]!.maxDevices = null;
});

test.serial('allow-rekey: a new key with the same subject takes over the identity, once', async (t) => {
  const old = issue(inter, base, 'rekey-me');
  const got = await enrollOverTls(tlsCreds(old), target());
  const dev = (await registry.getCertDeviceByIdentity(got.identity))!;
  // same subject CN, new key (issue() names the subject after its directory)
  const sameSubject = issue(inter, join(base, 'r2'), 'rekey-me');
  const fresh = await enrollOverTls(tlsCreds(sameSubject), target());
  t.notDeepEqual(fresh.identity, got.identity, 'without the allowance a new key is a new device');
  await registry.setCertDeviceAllowRekey(dev.id, true);
  const third = issue(inter, join(base, 'r3'), 'rekey-me');
  t.deepEqual((await enrollOverTls(tlsCreds(third), target())).identity, got.identity);
  t.like(registry.audit.at(-1), { reason: 'rekeyed' });
  t.false((await registry.getCertDeviceByIdentity(got.identity))!.allowRekey);
});

test.serial('an untrusted server certificate is BAD_SERVER_CERTIFICATE', async (t) => {
  const leaf = issue(inter, base, 'cautious');
  const e = await t.throwsAsync(enrollOverTls(tlsCreds(leaf), target({ serverCa: otherCa.pem })), {
    instanceOf: ProtocolError,
  });
  t.is(e!.code, 'BAD_SERVER_CERTIFICATE');
});
