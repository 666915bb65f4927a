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

  test(`${name}: pki: CA names are unique per organization; a scoped lookup never reaches another's CA`, async (t) => {
    const { r, done } = await open();
    try {
      const acme = (await r.addOrganization({ name: 'acme' })).id;
      const globex = (await r.addOrganization({ name: 'globex' })).id;
      // Each organization has a network named plant (and the default one too).
      await r.addNetwork({ name: 'plant', prefix: '2001:db8:78::/64' }, acme);
      await r.addNetwork({ name: 'plant', prefix: '2001:db8:79::/64' }, globex);
      const a = await r.pki.addCa(
        { der: cas().root.der, name: 'factory-ca', network: 'plant', maxDevices: null },
        acme,
      );
      const g = await r.pki.addCa(
        { der: cas().inter.der, name: 'factory-ca', network: 'plant', maxDevices: null },
        globex,
      );
      t.not(a.id, g.id);
      t.is(a.networkId, (await r.getNetwork('plant', acme))!.id, "the network named in acme, not another's");
      t.is(g.networkId, (await r.getNetwork('plant', globex))!.id);
      t.deepEqual(
        (await r.pki.listCas(acme)).map((c) => c.id),
        [a.id],
      );
      t.deepEqual(
        (await r.pki.listCas(globex)).map((c) => c.id),
        [g.id],
      );
      t.deepEqual(
        (await r.pki.listCas()).map((c) => c.id),
        [a.id, g.id],
      );
      t.is((await r.pki.findCa('factory-ca', acme))?.id, a.id);
      t.is((await r.pki.findCa('factory-ca', globex))?.id, g.id);
      // Another organization's CA by id or fingerprint: absent for a scoped caller.
      t.is(await r.pki.findCa(String(g.id), acme), undefined);
      t.is(await r.pki.findCa(g.fingerprint, acme), undefined);
      t.is((await r.pki.findCa(String(g.id)))?.id, g.id, 'unscoped, an id reaches every organization');
      // Unscoped, a name resolves in the default organization, where there is none.
      t.is(await r.pki.findCa('factory-ca'), undefined);
      const before = await state(r);
      const dup = await t.throwsAsync(
        r.pki.addCa(
          {
            der: issueCa(cas().root, base, `third-${name}`).der,
            name: 'factory-ca',
            network: 'plant',
            maxDevices: null,
          },
          acme,
        ),
        { instanceOf: RegistryError },
      );
      t.is(dup?.code, 'CONFLICT');
      // The same certificate in another organization: CONFLICT that names no owner.
      const taken = await t.throwsAsync(
        r.pki.addCa({ der: cas().root.der, name: 'mine', network: 'plant', maxDevices: null }, globex),
        { instanceOf: RegistryError },
      );
      t.is(taken?.code, 'CONFLICT');
      t.notRegex(taken?.message ?? '', /acme|factory-ca/);
      // A network of another organization, by id: not found.
      const acmePlant = (await r.getNetwork('plant', acme))!.id;
      await t.throwsAsync(
        r.pki.addCa({ der: cas().root.der, name: 'x', network: acmePlant, maxDevices: null }, globex),
        { instanceOf: RegistryError, code: 'NOT_FOUND', message: /ca.network/ },
      );
      t.deepEqual(await state(r), before);
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
