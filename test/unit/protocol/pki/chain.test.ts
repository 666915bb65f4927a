// Path validation against CAs made by openssl at test time: every refusal reason, a good chain
// through an intermediate, a registered intermediate, CRL revocation and CRL signature checks.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate, type Certificate } from '../../../../protocol/pki/certificate.ts';
import { verifyChain, type ChainInput, type ChainRefusal } from '../../../../protocol/pki/chain.ts';
import { checkCrlIssuedBy, CrlError, parseCrl } from '../../../../protocol/pki/crl.ts';
import { DecodeError } from '../../../../protocol/errors.ts';
import {
  EXT,
  issue,
  issueCa,
  makeCrl,
  makeRoot,
  newKey,
  openssl,
  revoke,
  type IssuedCert,
  type TestCa,
} from '../../../helpers/openssl-ca.ts';

const DAY = 86_400_000;
const base = mkdtempSync(join(tmpdir(), 'pki-chain-'));
test.after.always(() => rmSync(base, { recursive: true, force: true }));

const root = makeRoot(base, 'root-ca');
const inter = issueCa(root, base, 'intermediate-ca');
const other = makeRoot(base, 'other-ca');
const p = (c: IssuedCert): Certificate => parseCertificate(c.der);

function check(leaf: IssuedCert, extra: Partial<ChainInput<string>> = {}, inters: IssuedCert[] = [inter]) {
  return verifyChain<string>({
    leaf: p(leaf),
    intermediates: inters.map(p),
    anchors: [{ cert: p(root), ref: 'root' }],
    now: Date.now(),
    ...extra,
  });
}

test('a leaf under an intermediate chains to the registered root', (t) => {
  const leaf = issue(inter, base, 'good-device');
  const v = check(leaf);
  t.true(v.ok);
  if (v.ok) {
    t.is(v.anchor, 'root');
    t.deepEqual(
      v.path.map((c) => c.subject),
      ['CN=good-device', 'CN=intermediate-ca'],
    );
  }
});

test('a registered intermediate is an anchor by itself', (t) => {
  const leaf = issue(inter, base, 'under-inter');
  const v = verifyChain({
    leaf: p(leaf),
    intermediates: [],
    anchors: [{ cert: p(inter), ref: 'i' }],
    now: Date.now(),
  });
  t.true(v.ok);
});

test('an RSA leaf is accepted (TLS client certificates may use any key OpenSSL verifies)', (t) => {
  t.true(check(issue(inter, base, 'rsa-device', { keyKind: 'rsa' })).ok);
});

const refusals: [string, () => IssuedCert, ChainRefusal, IssuedCert[]?][] = [
  [
    'expired',
    () =>
      issue(inter, base, 'expired', {
        notBefore: new Date(Date.now() - 10 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
    'certificate-expired',
  ],
  [
    'not yet valid',
    () =>
      issue(inter, base, 'future', {
        notBefore: new Date(Date.now() + DAY),
        notAfter: new Date(Date.now() + 10 * DAY),
      }),
    'certificate-not-yet-valid',
  ],
  ['wrong EKU', () => issue(inter, base, 'server-only', { ext: EXT.serverAuthOnly }), 'extended-key-usage'],
  [
    'KU without digitalSignature',
    () =>
      issue(inter, base, 'ku-encipher', { ext: 'basicConstraints=CA:false\nkeyUsage=critical,keyAgreement' }),
    'key-usage',
  ],
  ['leaf is a CA', () => issue(inter, base, 'leaf-ca', { ext: EXT.ca }), 'leaf-is-ca'],
  ['wrong CA', () => issue(other, base, 'other-device'), 'unknown-ca', []],
  [
    'unknown critical extension',
    () => issue(inter, base, 'crit-ext', { ext: `${EXT.leaf}\n1.2.3.4.5=critical,DER:05:00` }),
    'unsupported-critical-extension',
  ],
];
for (const [title, make, reason, inters] of refusals) {
  test(`refused: ${title} -> ${reason}`, (t) => {
    const v = check(make(), {}, inters);
    t.false(v.ok);
    if (!v.ok) t.is(v.reason, reason);
  });
}

test('refused: a self-signed leaf -> self-signed', (t) => {
  const key = join(base, 'selfsigned.key');
  newKey(key);
  const pem = openssl(['req', '-x509', '-new', '-key', key, '-subj', '/CN=selfsigned', '-days', '30']);
  const der = new Uint8Array(Buffer.from(pem.split('-----')[2]!.replace(/\s+/g, ''), 'base64'));
  const v = verifyChain({
    leaf: parseCertificate(der),
    intermediates: [],
    anchors: [{ cert: p(root), ref: 'r' }],
    now: Date.now(),
  });
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'self-signed');
});

test('refused: a self-signed leaf without keyCertSign (leaf extensions) -> self-signed', (t) => {
  const self = makeRoot(base, 'self-signed-leaf', EXT.leaf);
  const v = check(self, {}, []);
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'self-signed');
});

test('refused: the intermediate missing from what the device sent -> unknown-ca', (t) => {
  const v = check(issue(inter, base, 'no-inter'), {}, []);
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'unknown-ca');
});

test('refused: a chain longer than the limit -> chain-too-long; pathLenConstraint -> path-length-exceeded', (t) => {
  let ca: TestCa = root;
  const chain: TestCa[] = [];
  for (let i = 1; i <= 4; i++) {
    ca = issueCa(ca, base, `deep-${i}`);
    chain.push(ca);
  }
  const leaf = issue(ca, base, 'deep-leaf');
  const v = check(leaf, {}, chain);
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'chain-too-long');
  t.true(check(leaf, { maxLength: 6 }, chain).ok);

  const limited = issueCa(root, base, 'pathlen0', { ext: EXT.ca.replace('CA:true', 'CA:true,pathlen:0') });
  const below = issueCa(limited, base, 'below-pathlen0');
  const v2 = check(issue(below, base, 'pathlen-leaf'), {}, [limited, below]);
  t.false(v2.ok);
  if (!v2.ok) t.is(v2.reason, 'path-length-exceeded');
});

test('refused: an expired intermediate -> issuer-expired', (t) => {
  const old = issueCa(root, base, 'old-inter', {
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  // openssl ca refuses nothing about its own validity, so the leaf can still be issued
  const v = check(issue(old, base, 'under-old'), {}, [old]);
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'issuer-expired');
});

test('refused: an intermediate without CA:true -> issuer-not-ca', (t) => {
  const fake = issueCa(root, base, 'not-a-ca', {
    ext: 'basicConstraints=CA:false\nkeyUsage=critical,keyCertSign,digitalSignature',
  });
  const v = check(issue(fake, base, 'under-not-a-ca'), {}, [fake]);
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'issuer-not-ca');
});

test('CRL: a revoked leaf is refused; the CRL verifies against its CA only', (t) => {
  const leaf = issue(inter, base, 'to-revoke');
  const keep = issue(inter, base, 'to-keep');
  revoke(inter, leaf);
  const crl = parseCrl(makeCrl(inter).der);
  t.true(crl.revokedSerials.has(p(leaf).serial));
  checkCrlIssuedBy(crl, p(inter));
  t.throws(() => checkCrlIssuedBy(crl, p(root)), { instanceOf: CrlError });
  t.throws(() => checkCrlIssuedBy(crl, p(other)), { instanceOf: CrlError });
  const revokedBy = (fp: string) => (fp === p(inter).fingerprint ? crl.revokedSerials : undefined);
  const v = check(leaf, { revokedBy });
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'certificate-revoked');
  t.true(check(keep, { revokedBy }).ok);
});

test('CRL: a revoked intermediate on the root CRL refuses every leaf under it', (t) => {
  const bad = issueCa(root, base, 'revoked-inter');
  const leaf = issue(bad, base, 'under-revoked-inter');
  revoke(root, bad);
  const crl = parseCrl(makeCrl(root).der);
  const v = check(
    leaf,
    { revokedBy: (fp) => (fp === p(root).fingerprint ? crl.revokedSerials : undefined) },
    [bad],
  );
  t.false(v.ok);
  if (!v.ok) t.is(v.reason, 'certificate-revoked');
});

test('CRL parsing is strict: truncated, trailing bytes, a flipped signature byte', (t) => {
  const der = makeCrl(root, join(root.dir, 'crl2.pem')).der;
  t.throws(() => parseCrl(der.subarray(0, der.length - 1)), { instanceOf: DecodeError });
  const trailing = new Uint8Array(der.length + 1);
  trailing.set(der);
  t.throws(() => parseCrl(trailing), { instanceOf: DecodeError });
  const flipped = der.slice();
  flipped[flipped.length - 5]! ^= 1;
  t.throws(() => checkCrlIssuedBy(parseCrl(flipped), p(root)), { instanceOf: CrlError });
});

test('certificate parsing reads serial, validity, key usage and EKU', (t) => {
  const c = p(issue(inter, base, 'fields'));
  t.false(c.isCa);
  t.deepEqual(c.extKeyUsage, ['1.3.6.1.5.5.7.3.2']);
  t.true(c.keyUsage?.[0]);
  t.true(c.notAfter > c.notBefore);
  t.regex(c.serial, /^[0-9A-F]+$/);
  t.is(c.fingerprint.length, 64);
  const ca = p(inter);
  t.true(ca.isCa);
  t.throws(() => parseCertificate(c.der.subarray(0, 100)), { instanceOf: DecodeError });
});
