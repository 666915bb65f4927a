// Registry suite, PKI part: CAs, CRLs and certificate devices through the PKI policy, on every
// backend (registrySuite runs these, so SQLite and PostgreSQL both do). CAs and leaves are made by
// openssl at test time. Refused inputs change nothing; every decision is in the audit with its
// certificate facts.
import type { TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate } from '../../../../protocol/pki/certificate.ts';
import { parseCrl } from '../../../../protocol/pki/crl.ts';
import { PkiPolicy } from '../../../../server-stub/policy/pki-policy.ts';
import { RegistryError, ValidationError } from '../../../../server-stub/registry/errors.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { issue, issueCa, makeCrl, makeRoot, revoke } from '../../../helpers/openssl-ca.ts';
import type { RegistryFactory } from './_registry-suite.ts';

const base = mkdtempSync(join(tmpdir(), 'registry-pki-'));
process.once('exit', () => rmSync(base, { recursive: true, force: true }));
let made: ReturnType<typeof makeCas> | undefined;
function makeCas() {
  const root = makeRoot(base, 'suite-root');
  const inter = issueCa(root, base, 'suite-inter');
  return { root, inter };
}
const cas = () => (made ??= makeCas());
let n = 0;
const leaf = (subject?: string) => {
  const name = subject ?? `dev-${process.pid}-${n++}`;
  const c = issue(cas().inter, join(base, `l${n++}`), name);
  return parseCertificate(c.der);
};

export function registryPkiSuite(
  test: TestFn,
  name: string,
  factory: RegistryFactory,
  snapshot: (r: Registry) => Promise<unknown>,
): void {
  async function open() {
    const backend = await factory();
    const r = await backend.open();
    await r.addNetwork({ name: 'plant', prefix: '2001:db8:77::/64' });
    const policy = new PkiPolicy(r.pki, parseCertificate, { clock: { now: Date.now } });
    const enroll = (l: ReturnType<typeof leaf>) =>
      policy.enroll({
        leaf: l,
        intermediates: [parseCertificate(cas().inter.der)],
        method: 'tls-client-certificate',
        source: { address: '2001:db8::9', port: 5555 },
      });
    return {
      r,
      enroll,
      done: async () => {
        await r.close();
        await backend.cleanup();
      },
    };
  }
  const state = async (r: Registry) => ({
    base: await snapshot(r),
    cas: await r.pki.listCas(),
    devices: await r.pki.listCertDevices(),
  });

  test(`${name}: pki: ca add refuses a non-CA, an unknown network, a duplicate; nothing changes`, async (t) => {
    const { r, done } = await open();
    try {
      const ca = await r.pki.addCa({ der: cas().root.der, name: 'acme', network: 'plant', maxDevices: null });
      t.like(ca, { name: 'acme', status: 'active', isVerified: false, maxDevices: null });
      const before = await state(r);
      const notCa = issue(cas().inter, join(base, 'nca'), 'not-a-ca').der;
      await t.throwsAsync(r.pki.addCa({ der: notCa, name: 'x', network: 'plant', maxDevices: null }), {
        instanceOf: ValidationError,
        message: /ca.certificate/,
      });
      await t.throwsAsync(
        r.pki.addCa({ der: cas().inter.der, name: 'y', network: 'nowhere', maxDevices: null }),
        {
          instanceOf: RegistryError,
          code: 'NOT_FOUND',
          message: /ca.network/,
        },
      );
      const dup = await t.throwsAsync(
        r.pki.addCa({ der: cas().root.der, name: 'z', network: 'plant', maxDevices: null }),
      );
      t.true(dup instanceof RegistryError && dup.code === 'CONFLICT');
      await t.throwsAsync(
        r.pki.addCa({ der: cas().inter.der, name: 'acme', network: 'plant', maxDevices: 0 }),
        {
          instanceOf: ValidationError,
        },
      );
      t.deepEqual(await state(r), before);
      t.like(await r.pki.markCaVerified(ca.id), { isVerified: true });
      t.like(await r.pki.findCa(ca.fingerprint), { id: ca.id });
      t.like(await r.pki.findCa(String(ca.id)), { name: 'acme' });
    } finally {
      await done();
    }
  });

  test(`${name}: pki: same key same identity, audit with certificate facts, revocations, rekey, quota`, async (t) => {
    const { r, enroll, done } = await open();
    try {
      const ca = await r.pki.addCa({ der: cas().root.der, name: 'acme', network: 'plant', maxDevices: 3 });
      const a = leaf();
      const first = await enroll(a);
      t.true(first.ok);
      const again = await enroll(a);
      t.true(again.ok && first.ok && Buffer.from(again.identity).equals(first.identity));
      const [newest] = await r.queryAudit({ limit: 1 });
      t.like(newest, { outcome: 'provisioned', reason: 'returning-device', sourceAddress: '2001:db8::9' });
      t.like(newest!.pki, { caId: ca.id, subject: a.subject, serial: a.serial, fingerprint: a.fingerprint });
      const dev = (await r.pki.listCertDevices())[0]!;
      t.like(dev, { enrollCount: 2, status: 'active', subject: a.subject, method: 'tls-client-certificate' });

      // rekey: same CA and subject, new key; first a new device, then (allowed) the old identity
      await r.pki.setCertDeviceAllowRekey(dev.id, true);
      const b = leaf(a.subject.replace(/^CN=/, ''));
      const rekeyed = await enroll(b);
      t.true(rekeyed.ok && first.ok && Buffer.from(rekeyed.identity).equals(first.identity));
      t.false((await r.pki.getCertDeviceByIdentity(dev.identity))!.allowRekey);

      // revoked device; then the CRL; then the whole CA
      await r.pki.revokeCertDevice(dev.id);
      t.like(await enroll(b), { ok: false, reason: 'device-revoked' });
      const c = issue(cas().inter, join(base, `crl-${name}`), `crl-${name}`);
      revoke(cas().inter, c);
      const interCa = await r.pki.addCa({
        der: cas().inter.der,
        name: 'issuing',
        network: 'plant',
        maxDevices: null,
      });
      const crl = parseCrl(makeCrl(cas().inter).der);
      t.like(
        await r.pki.putCrl(interCa.id, {
          der: crl.der,
          thisUpdate: crl.thisUpdate,
          nextUpdate: null,
          serials: [...crl.revokedSerials],
        }),
        {
          replaced: false,
        },
      );
      const before = await state(r);
      t.like(await enroll(parseCertificate(c.der)), { ok: false, reason: 'certificate-revoked' });
      const older = await t.throwsAsync(
        r.pki.putCrl(interCa.id, {
          der: crl.der,
          thisUpdate: crl.thisUpdate - 1000,
          nextUpdate: null,
          serials: [],
        }),
      );
      t.true(older instanceof RegistryError && older.code === 'CONFLICT');
      await r.pki.revokeCa(interCa.id);
      t.like(await enroll(leaf()), { ok: false, reason: 'ca-revoked' });
      t.deepEqual((await state(r)).devices, before.devices);

      // a's device, re-keyed in place: still one device under the root
      t.is((await r.pki.listCas()).find((x) => x.id === ca.id)!.devices, 1);
      const audit = await r.queryAudit({ limit: 20 });
      t.deepEqual(
        audit
          .filter((e) => e.pki)
          .map((e) => e.reason)
          .slice(0, 5),
        ['ca-revoked', 'certificate-revoked', 'device-revoked', 'rekeyed', 'returning-device'],
      );
    } finally {
      await done();
    }
  });

  test(`${name}: pki: quota per CA, identity unique across DAA and certificate devices`, async (t) => {
    const { r, done } = await open();
    try {
      const ca = await r.pki.addCa({ der: cas().inter.der, name: 'small', network: 'plant', maxDevices: 1 });
      const policy = new PkiPolicy(r.pki, parseCertificate, { clock: { now: Date.now } });
      const go = (l: ReturnType<typeof leaf>) =>
        policy.enroll({
          leaf: l,
          intermediates: [],
          method: 'signed-challenge',
          source: { address: '192.0.2.7', port: 1 },
        });
      const one = await go(leaf());
      t.true(one.ok);
      const before = await state(r);
      t.like(await go(leaf()), { ok: false, reason: 'ca-quota-exceeded' });
      t.deepEqual((await state(r)).devices, before.devices);
      t.is((await r.pki.listCas())[0]!.devices, 1);
      if (one.ok) {
        t.true(await r.pki.withPkiTransaction((tx) => tx.isIdentityTaken(one.identity)));
        t.like(await r.pki.getCertDeviceByIdentity(one.identity), { caId: ca.id });
      }
      t.false(await r.pki.withPkiTransaction((tx) => tx.isIdentityTaken(new Uint8Array(16).fill(9))));
    } finally {
      await done();
    }
  });
}
