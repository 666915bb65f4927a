// Test CAs made by the openssl command at test time (never by our own code): roots with
// `openssl req -x509`, everything else with `openssl ca` so validity windows in the past or future,
// any extension set, revocations and CRLs are all possible. Each CA lives in its own directory
// (key, certificate, index.txt database). Keys are P-256 unless asked otherwise.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pemToDerList } from '../../protocol/pki/certificate.ts';

export interface IssuedCert {
  name: string;
  dir: string;
  keyPath: string;
  certPath: string;
  pem: string;
  der: Uint8Array;
}

export interface TestCa extends IssuedCert {
  cnf: string;
}

export const EXT = {
  ca: 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid',
  leaf: 'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid',
  serverAuthOnly:
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid',
  server:
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
} as const;

export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

const DAY = 86_400_000;

function finish(name: string, dir: string, keyPath: string, certPath: string): IssuedCert {
  const pem = readFileSync(certPath, 'utf8');
  return { name, dir, keyPath, certPath, pem, der: pemToDerList(pem)[0]! };
}

export function newKey(path: string, kind: 'p256' | 'rsa' = 'p256'): void {
  if (kind === 'p256')
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  else openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path]);
}

function caDir(base: string, name: string): { dir: string; cnf: string } {
  const dir = join(base, name);
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'serial'),
    (1000 + Math.floor(Math.random() * 1e6)).toString(16).padStart(6, '0') + '\n',
  );
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const cnf = join(dir, 'ca.cnf');
  writeFileSync(
    cnf,
    `[ca]\ndefault_ca=CA_default\n[CA_default]\ndir=${dir}\ndatabase=$dir/index.txt\nnew_certs_dir=$dir/newcerts\n` +
      `serial=$dir/serial\ncrlnumber=$dir/crlnumber\ncertificate=$dir/cert.pem\nprivate_key=$dir/key.pem\n` +
      `default_md=sha256\npolicy=policy_any\nunique_subject=no\ncopy_extensions=none\ndefault_crl_days=30\n` +
      `[policy_any]\ncommonName=supplied\n`,
  );
  return { dir, cnf };
}

/** A self-signed root CA. */
export function makeRoot(base: string, name: string, ext: string = EXT.ca): TestCa {
  const { dir, cnf } = caDir(base, name);
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  newKey(keyPath);
  const extFile = join(dir, 'root.ext');
  writeFileSync(
    extFile,
    `[v3]\n${ext.replace('authorityKeyIdentifier=keyid', 'authorityKeyIdentifier=keyid:always')}\n`,
  );
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyPath,
    '-subj',
    `/CN=${name}`,
    '-days',
    '3650',
    '-sha256',
    '-config',
    extFile,
    '-extensions',
    'v3',
    '-out',
    certPath,
  ]);
  return { ...finish(name, dir, keyPath, certPath), cnf };
}

export interface IssueOptions {
  ext?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Issue for this existing CSR (PEM file) instead of a new key. */
  csrPath?: string;
  keyKind?: 'p256' | 'rsa';
}

/** A certificate issued by `ca` (a new key unless `csrPath`), written to base/name/. */
export function issue(ca: TestCa, base: string, name: string, o: IssueOptions = {}): IssuedCert {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, 'key.pem');
  let csr = o.csrPath;
  if (!csr) {
    newKey(keyPath, o.keyKind);
    csr = join(dir, 'req.csr');
    openssl(['req', '-new', '-key', keyPath, '-subj', `/CN=${name}`, '-out', csr]);
  }
  const extFile = join(dir, 'issue.ext');
  writeFileSync(extFile, `[v3]\n${o.ext ?? EXT.leaf}\n`);
  const now = Date.now();
  const certPath = join(dir, 'cert.pem');
  openssl([
    'ca',
    '-batch',
    '-config',
    ca.cnf,
    '-in',
    csr,
    '-out',
    certPath,
    '-notext',
    '-subj',
    `/CN=${name}`,
    '-startdate',
    stamp(o.notBefore ?? new Date(now - DAY)),
    '-enddate',
    stamp(o.notAfter ?? new Date(now + 365 * DAY)),
    '-extfile',
    extFile,
    '-extensions',
    'v3',
  ]);
  return finish(name, dir, keyPath, certPath);
}

/** An intermediate CA under `ca`, usable as a CA itself. */
export function issueCa(ca: TestCa, base: string, name: string, o: IssueOptions = {}): TestCa {
  const cert = issue(ca, base, name, { ext: EXT.ca, ...o });
  const { cnf } = caDir(base, name);
  return { ...cert, cnf };
}

/** Revokes `cert` in the CA's database. */
export function revoke(ca: TestCa, cert: IssuedCert): void {
  openssl(['ca', '-batch', '-config', ca.cnf, '-revoke', cert.certPath]);
}

/** The CA's current CRL (DER). */
export function makeCrl(ca: TestCa, out = join(ca.dir, 'crl.pem')): { pemPath: string; der: Uint8Array } {
  openssl(['ca', '-batch', '-config', ca.cnf, '-gencrl', '-out', out]);
  const der = new Uint8Array(execFileSync('openssl', ['crl', '-in', out, '-outform', 'DER']));
  return { pemPath: out, der };
}
