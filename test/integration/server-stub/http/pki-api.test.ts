// The management API's PKI routes against a running server and a SQLite registry: CAs made by openssl
// at test time; registration code and proof of the CA key; every refused registration or CRL names
// its field and changes nothing; certificate devices (enrolled by the real PkiPolicy) appear in the
// device list and detail with their certificate fields, are revoked through the device routes, and
// a CRL upload or a CA revocation refuses the next enrollment with its audit reason; /metrics counts
// certificate devices apart from DAA devices.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registrationCode } from '../../../../protocol/pki/ca-verification.ts';
import { parseCertificate } from '../../../../protocol/pki/certificate.ts';
import { PkiPolicy } from '../../../../server-stub/policy/pki-policy.ts';
import { issue, issueCa, makeCrl, makeRoot, revoke, type IssuedCert } from '../../../helpers/openssl-ca.ts';
import { CA_VERIFICATION_IDENTITY, startApi, type ApiFixture } from './_fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'pki-api-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const pem = (c: IssuedCert): string => readFileSync(c.certPath, 'utf8');

/** A full enrollment decision by the policy the PKI endpoint uses (proof of possession assumed). */
function enroll(f: ApiFixture, leaf: IssuedCert, chain: IssuedCert[] = [], port = 4000) {
  const policy = new PkiPolicy(f.registry.pki, parseCertificate, { clock: { now: Date.now } });
  return policy.enroll({
    leaf: parseCertificate(leaf.der),
    intermediates: chain.map((c) => parseCertificate(c.der)),
    method: 'tls-client-certificate',
    source: { address: '192.0.2.44', port },
  });
}

test('CAs: register with proof, refusals change nothing, devices, CRL, revocation, metrics', async (t) => {
  t.timeout(600_000); // openssl and a shared machine: no timing assumptions
  const f = await startApi();
  try {
    t.is((await f.call('POST', '/api/v1/networks', { name: 'plant', prefix: 'fd00:16:1::/64' })).status, 201);
    const root = makeRoot(work, 'acme-root');
    const inter = issueCa(root, work, 'acme-issuing');
    const other = makeRoot(work, 'other-root');
    const leaf = issue(inter, work, 'gw-1');

    // The registration code is bound to this deployment and this CA.
    const rc = await f.call('POST', '/api/v1/cas/registration-code', { certificate: pem(inter) });
    t.is(rc.status, 200, rc.text);
    const code = registrationCode(CA_VERIFICATION_IDENTITY, parseCertificate(inter.der).fingerprint);
    t.deepEqual(rc.json, { registrationCode: code, fingerprint: parseCertificate(inter.der).fingerprint });
    const proof = issue(inter, work, code, { ext: 'basicConstraints=CA:false' });
    const wrongProof = issue(other, join(work, 'wrong'), code, { ext: 'basicConstraints=CA:false' });
    const wrongCode = issue(inter, work, 'not-the-code', { ext: 'basicConstraints=CA:false' });

    const refused: [unknown, string][] = [
      [{ certificate: 'nope', network: 'plant', unverified: true }, 'certificate'],
      [
        {
          certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
          network: 'plant',
          unverified: true,
        },
        'certificate',
      ],
      [{ certificate: pem(leaf), network: 'plant', unverified: true }, 'certificate'],
      [{ certificate: pem(inter), network: 'nowhere', unverified: true }, 'network'],
      [{ certificate: pem(inter), unverified: true }, 'network'],
      [{ certificate: pem(inter), network: 'plant' }, 'verificationCertificate'],
      [
        { certificate: pem(inter), network: 'plant', verificationCertificate: pem(wrongProof) },
        'verificationCertificate',
      ],
      [
        { certificate: pem(inter), network: 'plant', verificationCertificate: pem(wrongCode) },
        'verificationCertificate',
      ],
      [
        { certificate: pem(inter), network: 'plant', verificationCertificate: pem(proof), unverified: true },
        'verificationCertificate',
      ],
      [{ certificate: pem(inter), network: 'plant', unverified: 'yes' }, 'unverified'],
      [{ certificate: pem(inter), network: 'plant', unverified: true, maxDevices: 0 }, 'maxDevices'],
      [{ certificate: pem(inter), network: 'plant', unverified: true, name: '' }, 'name'],
      [{ certificate: pem(inter), network: 'plant', unverified: true, colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of refused) {
      const r = await f.call('POST', '/api/v1/cas', body);
      t.is(r.status, 400, `${field}: ${r.text}`);
      t.is(r.json.error.field, field, r.text);
    }
    t.deepEqual((await f.call('GET', '/api/v1/cas')).json, { items: [] }, 'no refused CA was stored');

    const added = await f.call('POST', '/api/v1/cas', {
      certificate: pem(inter),
      network: 'plant',
      verificationCertificate: pem(proof),
      maxDevices: 10,
    });
    t.is(added.status, 201, added.text);
    t.like(added.json, {
      name: 'acme-issuing',
      subject: 'CN=acme-issuing',
      verified: true,
      status: 'active',
      maxDevices: 10,
      devices: 0,
      crlEntries: 0,
    });
    const caId = added.json.id as number;
    const again = await f.call('POST', '/api/v1/cas', {
      certificate: pem(inter),
      network: 'plant',
      name: 'x',
      unverified: true,
    });
    t.is(again.status, 409, again.text);
    const unverified = await f.call('POST', '/api/v1/cas', {
      certificate: Buffer.from(other.der).toString('base64'),
      network: 1,
      unverified: true,
    });
    t.is(unverified.status, 201, unverified.text);
    t.like(unverified.json, { name: 'other-root', verified: false });
    t.is((await f.call('GET', '/api/v1/cas')).json.items.length, 2);
    t.is((await f.call('GET', `/api/v1/cas/${added.json.fingerprint as string}`)).json.id, caId);
    t.is((await f.call('GET', '/api/v1/cas/nope')).status, 404);

    // A certificate device enrolls and shows up beside DAA devices, with its certificate.
    const first = await enroll(f, leaf);
    t.true(first.ok, JSON.stringify(first));
    const list = await f.call('GET', '/api/v1/devices');
    t.is(list.json.items.length, 1);
    const dev = list.json.items[0];
    const cert = parseCertificate(leaf.der);
    t.like(dev, { kind: 'certificate', ca: 'acme-issuing', status: 'active', handshakeCount: 1 });
    t.like(dev.certificate, {
      subject: 'CN=gw-1',
      issuer: 'CN=acme-issuing',
      serial: cert.serial,
      fingerprint: cert.fingerprint,
      notBefore: new Date(cert.notBefore).toISOString(),
      notAfter: new Date(cert.notAfter).toISOString(),
      method: 'tls-client-certificate',
    });
    t.is((await f.call('GET', '/api/v1/devices?kind=daa')).json.items.length, 0);
    t.is((await f.call('GET', '/api/v1/devices?ca=acme-issuing')).json.items.length, 1);
    t.is((await f.call('GET', '/api/v1/devices?ca=other-root')).json.items.length, 0);
    const both = await f.call('GET', '/api/v1/devices?ca=acme-issuing&batch=x');
    t.is(both.status, 400);
    t.is(both.json.error.field, 'ca');
    t.is((await f.call('GET', '/api/v1/devices?kind=pki')).json.error.field, 'kind');
    const detail = await f.call('GET', `/api/v1/devices/${dev.identity as string}`);
    t.is(detail.status, 200, detail.text);
    t.deepEqual(
      detail.json.sources.map((s: { address: string }) => s.address),
      ['192.0.2.44'],
    );
    const history = await f.call('GET', `/api/v1/devices/${dev.id as string}/history`);
    t.like(history.json.items[0], { method: 'pki', outcome: 'provisioned', reason: 'new-device' });
    t.is(history.json.items[0].pki.fingerprint, cert.fingerprint);
    t.is((await f.call('GET', '/api/v1/audit?method=xtt')).json.items.length, 0);

    // CRL: bad input names the field and keeps what is stored.
    const second = issue(inter, work, 'gw-2');
    revoke(inter, second);
    const crl = makeCrl(inter);
    const otherCrl = makeCrl(other);
    for (const [body, field] of [
      [{ crl: 'garbage' }, 'crl'],
      [{ crl: readFileSync(otherCrl.pemPath, 'utf8') }, 'crl'],
      [{ crl: pem(leaf) }, 'crl'],
      [{ list: 'x' }, 'list'],
    ] as const) {
      const r = await f.call('PUT', `/api/v1/cas/${caId}/crl`, body);
      t.is(r.status, 400, r.text);
      t.is(r.json.error.field, field);
    }
    t.is((await f.call('GET', `/api/v1/cas/${caId}`)).json.crlEntries, 0);
    const put = await f.call('PUT', `/api/v1/cas/${caId}/crl`, { crl: readFileSync(crl.pemPath, 'utf8') });
    t.is(put.status, 200, put.text);
    t.like(put.json, { replaced: false, entries: 1, ca: { crlEntries: 1 } });
    const refusedByCrl = await enroll(f, second, [], 4001);
    t.deepEqual(refusedByCrl, { ok: false, reason: 'certificate-revoked', networkId: 1 });

    // The device routes act on certificate devices too.
    const rekey = await f.call('PUT', `/api/v1/devices/${dev.id as string}/allow-rekey`, { allow: true });
    t.is(rekey.json.allowRekey, true);
    const revoked = await f.call('POST', `/api/v1/devices/${dev.id as string}/revoke`);
    t.like(revoked.json, { kind: 'certificate', status: 'revoked' });
    t.deepEqual(await enroll(f, leaf, [], 4002), { ok: false, reason: 'device-revoked', networkId: 1 });

    // Revoking the CA refuses every device it certified, new ones too.
    const caRevoked = await f.call('POST', `/api/v1/cas/acme-issuing/revoke`);
    t.like(caRevoked.json, { status: 'revoked', devices: 1, revokedDevices: 1, crlEntries: 1 });
    t.deepEqual(await enroll(f, issue(inter, work, 'gw-3'), [], 4003), {
      ok: false,
      reason: 'ca-revoked',
      networkId: 1,
    });
    const reasons = (await f.call('GET', '/api/v1/audit?method=pki&outcome=refused')).json.items.map(
      (e: { reason: string }) => e.reason,
    );
    t.deepEqual(reasons, ['ca-revoked', 'device-revoked', 'certificate-revoked']);

    const metrics = await f.call('GET', '/metrics');
    t.regex(metrics.text, /^enf_pki_devices\{status="revoked"\} 1$/m);
    t.regex(metrics.text, /^enf_pki_devices\{status="active"\} 0$/m);
    t.regex(metrics.text, /^enf_devices\{status="active"\} 0$/m);
  } finally {
    await f.done();
  }
});
