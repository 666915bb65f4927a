// `enf-server ca ...`: enrollment groups by CA for the PKI-style option (server-stub/README.md, "PKI
// enrollment"). An operator registers a CA certificate (root or intermediate, PEM or DER) with one
// network, proving possession of the CA key with a verification certificate for the registration
// code (protocol/pki/ca-verification.ts) unless --unverified; uploads the CA's CRLs; revokes a CA;
// lists, revokes and allows re-keying certificate devices. Every value goes through the registry's
// validation; a refused value changes nothing. CA names are unique per organization: a name (and a
// network name given to `ca add`) is looked up in --org, else in the default organization, as the
// other commands do; an id or fingerprint reaches any organization unless --org is given.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { MissingFileError } from '../../common/cli.ts';
import { registrationCode, checkVerificationCertificate } from '../../protocol/pki/ca-verification.ts';
import { parseCertificate, pemToDerList, type Certificate } from '../../protocol/pki/certificate.ts';
import { checkCrlIssuedBy, CrlError, parseCrl } from '../../protocol/pki/crl.ts';
import { short, table } from './format.ts';
import { UsageError, withRegistry, type Done, type GlobalArgs } from './cli.ts';
import { InputFileError, readInputFile } from '../labels/gpk-input.ts';
import { RegistryError, ValidationError } from '../registry/errors.ts';
import { formatIpv6, parseIpv6 } from '../registry/ipv6.ts';
import { KeyMaterialError } from '../keys/server-keys.ts';
import type { CaRecord, CertDevice, PkiRegistry } from '../registry/pki-registry.ts';
import { caView, certDeviceView } from '../http/views.ts';
import { caOrganization, changeCli } from './operator-audit-commands.ts';
import { organizationId } from './org-commands.ts';
import type { Registry } from '../registry/registry.ts';

const caObject = async (r: Registry, ca: CaRecord) => ({
  organizationId: await caOrganization(r, ca.networkId),
  objectType: 'ca' as const,
  objectId: String(ca.id),
  objectName: ca.name,
});

const certDeviceObject = async (r: Registry, d: CertDevice) => ({
  organizationId: await caOrganization(r, d.networkId),
  objectType: 'device' as const,
  objectId: Buffer.from(d.identity).toString('hex'),
  objectName: null,
});

const MAX_PKI_FILE = 1 << 20;

/** One DER object from a PEM (first block with `label`) or DER file. */
function readDerFile(path: string, label: string): Uint8Array {
  const data = readInputFile(path, MAX_PKI_FILE);
  const text = Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const der = pemToDerList(text, label)[0];
    if (!der) throw new InputFileError(path, `holds no PEM ${label}`);
    return der;
  }
  return data;
}

function readCertFile(path: string, what: string): Certificate {
  try {
    return parseCertificate(readDerFile(path, 'CERTIFICATE'));
  } catch (cause) {
    if (cause instanceof InputFileError || cause instanceof MissingFileError) throw cause;
    throw new InputFileError(path, `is not an X.509 ${what} certificate`, { cause });
  }
}

/** The deployment's identity for registration codes: the server certificate every instance shares. */
function serverIdentity(dir: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(join(dir, 'server_certificate.bin')));
  } catch (cause) {
    const file = join(dir, 'server_certificate.bin');
    throw new KeyMaterialError('KEYS_MISSING', file, "cannot read (run 'enf-server init')", { cause });
  }
}

async function caByRef(p: PkiRegistry, ref: string, org: number | undefined): Promise<CaRecord> {
  const ca = await p.findCa(ref, org);
  if (!ca) throw new RegistryError('NOT_FOUND', `ca: no CA named, numbered or with fingerprint '${ref}'`);
  return ca;
}

const orgOption = {
  type: 'string',
  describe: 'the organization whose CA (and network) names are meant (default: default)',
} as const;

/** The --org option as an organization id (NOT_FOUND naming it if there is none). */
const orgArg = (r: Registry, org: string | undefined): Promise<number | undefined> =>
  org === undefined ? Promise.resolve(undefined) : organizationId(r, org);

async function certDeviceByRef(p: PkiRegistry, ref: string): Promise<CertDevice> {
  const d = await p.getCertDeviceByIdentity(parseIpv6(ref, 'device'));
  if (!d) throw new RegistryError('NOT_FOUND', `device: no certificate device '${ref}'`);
  return d;
}

export function registerPkiCommands(y: Argv<GlobalArgs>, done: Done): void {
  y.command('ca', "PKI option: enrollment groups by the customer's CA, CRLs, certificate devices", (c) =>
    c
      .command(
        'registration-code',
        'the code a verification certificate must carry as its CN to prove possession of the CA key',
        (o) =>
          o.option('cert', { type: 'string', demandOption: true, describe: 'CA certificate (PEM or DER)' }),
        (a) => {
          const ca = readCertFile(a.cert, 'CA');
          const code = registrationCode(serverIdentity(a.dir), ca.fingerprint);
          done({
            human:
              `${code}\nHave the CA sign a certificate with this CN, e.g.:\n` +
              `  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout v.key -subj /CN=${code} -out v.csr\n` +
              `  openssl x509 -req -in v.csr -CA ca.pem -CAkey ca.key -days 1 -out verification.pem\n` +
              `then: enf-server ca add --cert ca.pem --verification-cert verification.pem --network NET`,
            json: { registrationCode: code, fingerprint: ca.fingerprint },
          });
        },
      )
      .command(
        'add',
        'register a CA certificate (root or intermediate) with a network',
        (o) =>
          o
            .option('cert', { type: 'string', demandOption: true, describe: 'CA certificate (PEM or DER)' })
            .option('network', { type: 'string', demandOption: true, describe: 'network name or id' })
            .option('name', { type: 'string', describe: 'CA name (default: its subject CN)' })
            .option('max-devices', { type: 'number', describe: 'quota: most devices this CA may enroll' })
            .option('verification-cert', {
              type: 'string',
              describe: 'certificate the CA issued for the registration code (proof of the CA key)',
            })
            .option('unverified', { type: 'boolean', describe: 'register without that proof' })
            .option('org', orgOption),
        (a) =>
          withRegistry(a, async (r) => {
            const ca = readCertFile(a.cert, 'CA');
            if (a['verification-cert'] && a.unverified)
              throw new UsageError('--verification-cert and --unverified exclude each other');
            if (!a['verification-cert'] && !a.unverified) {
              throw new UsageError(
                "--verification-cert is required (see 'enf-server ca registration-code'), or --unverified",
              );
            }
            if (a['verification-cert']) {
              const v = readCertFile(a['verification-cert'], 'verification');
              const code = registrationCode(serverIdentity(a.dir), ca.fingerprint);
              const why = checkVerificationCertificate(ca, v, code, Date.now());
              if (why) throw new ValidationError('ca.verificationCert', `does not prove the CA key: ${why}`);
            }
            const name = a.name ?? /(?:^|\n)CN=([^\n]*)/.exec(ca.subject)?.[1];
            if (!name) throw new UsageError('--name is required: the CA subject has no CN');
            const network = /^[0-9]+$/.test(a.network) ? Number(a.network) : a.network;
            const org = await orgArg(r, a.org);
            const rec = await changeCli(
              r,
              async () => {
                const added = await r.pki.addCa(
                  { der: ca.der, name, network, maxDevices: a['max-devices'] ?? null },
                  org,
                );
                return a['verification-cert'] ? r.pki.markCaVerified(added.id) : added;
              },
              async (x) => ({
                ...(await caObject(r, x)),
                action: 'ca.add',
                detail: { verified: x.isVerified, networkId: x.networkId, maxDevices: x.maxDevices },
              }),
            );
            done({
              human: `CA ${rec.name} (id ${rec.id}) ${rec.subject} -> network ${rec.networkId}${rec.isVerified ? ', key possession verified' : ', UNVERIFIED'}`,
              json: caView(rec),
            });
          }),
      )
      .command(
        'list',
        'list registered CAs with device counts and CRL sizes',
        (o) => o.option('org', { type: 'string', describe: "only this organization's CAs" }),
        (a) =>
          withRegistry(a, async (r) => {
            const cas = await r.pki.listCas(await orgArg(r, a.org));
            const rows = cas.map((x) => [
              x.id,
              x.name,
              x.networkId,
              x.status,
              x.isVerified ? 'yes' : 'no',
              x.devices,
              x.crlEntries,
              short(x.fingerprint),
            ]);
            done({
              human: table(
                ['ID', 'NAME', 'NETWORK', 'STATUS', 'VERIFIED', 'DEVICES', 'CRL', 'FINGERPRINT'],
                rows,
              ),
              json: cas.map(caView),
            });
          }),
      )
      .command(
        'revoke <ca>',
        'revoke a CA: every device it certified is refused at its next enrollment',
        (o) =>
          o
            .positional('ca', { type: 'string', demandOption: true, describe: 'name, id or fingerprint' })
            .option('org', orgOption),
        (a) =>
          withRegistry(a, async (r) => {
            const id = (await caByRef(r.pki, a.ca, await orgArg(r, a.org))).id;
            const rec = await changeCli(
              r,
              () => r.pki.revokeCa(id),
              async (x) => ({ ...(await caObject(r, x)), action: 'ca.revoke' }),
            );
            done({ human: `CA ${rec.name} revoked`, json: caView(rec) });
          }),
      )
      .command(
        'crl <ca>',
        "upload the CA's CRL (PEM or DER); it must be signed by the CA and newer than the stored one",
        (o) =>
          o
            .positional('ca', { type: 'string', demandOption: true, describe: 'name, id or fingerprint' })
            .option('file', { type: 'string', demandOption: true, describe: 'the CRL' })
            .option('org', orgOption),
        (a) =>
          withRegistry(a, async (r) => {
            const ca = await caByRef(r.pki, a.ca, await orgArg(r, a.org));
            let crl;
            try {
              crl = parseCrl(readDerFile(a.file, 'X509 CRL'));
              checkCrlIssuedBy(crl, parseCertificate(ca.der));
            } catch (cause) {
              if (cause instanceof InputFileError || cause instanceof MissingFileError) throw cause;
              const why =
                cause instanceof CrlError ? cause.message : `not a CRL: ${(cause as Error).message}`;
              throw new InputFileError(a.file, why, { cause });
            }
            const res = await changeCli(
              r,
              () =>
                r.pki.putCrl(ca.id, {
                  der: crl.der,
                  thisUpdate: crl.thisUpdate,
                  nextUpdate: crl.nextUpdate ?? null,
                  serials: [...crl.revokedSerials],
                }),
              async (x) => ({
                ...(await caObject(r, ca)),
                action: 'ca.crl',
                detail: { entries: x.entries, replaced: x.replaced },
              }),
            );
            done({
              human: `CRL for ${ca.name}: ${res.entries} revoked serial(s)${res.replaced ? ' (replaced the previous CRL)' : ''}`,
              json: { ca: ca.id, ...res, thisUpdate: new Date(crl.thisUpdate).toISOString() },
            });
          }),
      )
      .command(
        'devices',
        'list certificate devices',
        (o) =>
          o
            .option('ca', { type: 'string', describe: 'only this CA (name, id or fingerprint)' })
            .option('status', {
              choices: ['active', 'revoked'] as const,
              describe: 'only devices with this status (default: all)',
            })
            .option('org', {
              type: 'string',
              describe: "only this organization's devices; the organization --ca names a CA of",
            }),
        (a) =>
          withRegistry(a, async (r) => {
            const org = await orgArg(r, a.org);
            const caId = a.ca ? (await caByRef(r.pki, a.ca, org)).id : undefined;
            const list = await r.pki.listCertDevices({
              ...(caId !== undefined ? { caId } : {}),
              ...(a.status ? { status: a.status } : {}),
              ...(org !== undefined ? { organizationId: org } : {}),
            });
            const rows = list.map((d) => [
              formatIpv6(d.identity),
              d.caId,
              d.subject,
              d.serial,
              d.status,
              d.enrollCount,
            ]);
            done({
              human: table(['IDENTITY', 'CA', 'SUBJECT', 'SERIAL', 'STATUS', 'ENROLLMENTS'], rows),
              json: list.map(certDeviceView),
            });
          }),
      )
      .command(
        'revoke-device <identity>',
        'revoke one certificate device',
        (o) => o.positional('identity', { type: 'string', demandOption: true }),
        (a) =>
          withRegistry(a, async (r) => {
            const id = (await certDeviceByRef(r.pki, a.identity)).id;
            const d = await changeCli(
              r,
              () => r.pki.revokeCertDevice(id),
              async (x) => ({ ...(await certDeviceObject(r, x)), action: 'device.revoke' }),
            );
            done({ human: `device ${formatIpv6(d.identity)} revoked`, json: certDeviceView(d) });
          }),
      )
      .command(
        'allow-rekey <identity>',
        'let the next enrollment with the same CA and subject but a new key keep this identity',
        (o) => o.positional('identity', { type: 'string', demandOption: true }),
        (a) =>
          withRegistry(a, async (r) => {
            const id = (await certDeviceByRef(r.pki, a.identity)).id;
            const d = await changeCli(
              r,
              () => r.pki.setCertDeviceAllowRekey(id, true),
              async (x) => ({
                ...(await certDeviceObject(r, x)),
                action: 'device.allow-rekey',
                detail: { allow: true },
              }),
            );
            done({ human: `device ${formatIpv6(d.identity)} may re-key once`, json: certDeviceView(d) });
          }),
      )
      .demandCommand(1, 'name a ca command (see --help)'),
  );
}
