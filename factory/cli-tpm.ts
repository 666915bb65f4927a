// TPM subcommands of `xtt-factory`: preflight (the tpm/preflight.ts report), provision
// (provision.ts), inspect (device-state.ts) and pki-key (tpm/pki-key.ts: an ECDSA P-256 key
// persisted in the TPM and a PKCS#10 request for the customer's CA, protocol/pki/csr.ts). TPM = /dev/tpmrm0 or swtpm:HOST:PORT[:CTRLPORT]
// (tpm/open.ts). One TPM client per command, closed in `finally`.
//
// Test hook: XTT_FACTORY_KILL_AFTER=<step> makes `provision` SIGKILL itself right after that step
// (PROVISION_STEPS), which is how the integration tests simulate a power cut at the station. It only
// ever stops this process; it changes nothing else.
import { resolve } from 'node:path';
import { derToPem } from '../protocol/pki/certificate.ts';
import { buildCsr, SubjectSyntaxError } from '../protocol/pki/csr.ts';
import { PKI_KEY_HANDLE, PkiKeyError, TpmPkiKey, parsePersistentHandle } from '../tpm/pki-key.ts';
import type { Argv } from 'yargs';
import { systemRng } from '../protocol/util/rng.ts';
import { openTpm } from '../tpm/open.ts';
import { runPreflight, type PreflightReport } from '../tpm/preflight.ts';
import type { Tpm } from '../tpm/tpm.ts';
import { closeBatch, openBatch } from './batch.ts';
import type { Done } from './cli.ts';
import { assessInventory, describeInventory, readInventory } from './device-state.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { writeNewFile } from '../common/fs-atomic.ts';
import { PROVISION_STEPS, provisionDevice, type ProvisionStep } from './provision.ts';
import { readRootCertificate } from './root-certs.ts';

export const KILL_AFTER_ENV = 'XTT_FACTORY_KILL_AFTER';

async function withTpm<T>(spec: string, fn: (tpm: Tpm) => Promise<T>): Promise<T> {
  const tpm = await openTpm(spec);
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

function preflightText(r: PreflightReport): string {
  const mark = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  return [r.summary, ...r.checks.map((c) => `  ${mark[c.status]} ${c.name.padEnd(20)} ${c.reason}`)].join(
    '\n',
  );
}

const tpmOption = {
  type: 'string',
  demandOption: true,
  describe: 'TPM: /dev/tpmrm0 or swtpm:HOST:PORT[:CTRLPORT]',
} as const;

export function registerTpmCommands(y: Argv<{ json: boolean }>, done: Done): void {
  y.command(
    'preflight',
    'check that a TPM can be provisioned (ECDAA on BN_P256, commands, NV room, persistent slots, lockout)',
    (c) =>
      c.option('tpm', tpmOption).option('probe-nv', {
        type: 'boolean',
        default: false,
        describe: 'also define and remove a scratch NV index to prove there is NV room (writes NV once)',
      }),
    async (a) => {
      const report = await withTpm(a.tpm, (tpm) => runPreflight(tpm, { probeNv: a['probe-nv'] }));
      done({
        human: preflightText(report),
        json: { ...report },
        ...(report.verdict === 'fail' ? { exitCode: EXIT.TPM_UNSUITABLE } : {}),
      });
    },
  );
  y.command(
    'provision',
    'provision one device TPM into the batch: ECDAA key at 0x81800000, join, and the reference NV objects (GPK, credential, credential signature, basename, root certificate)',
    (c) =>
      c
        .option('batch', {
          type: 'string',
          demandOption: true,
          describe: 'batch directory (from create-batch)',
        })
        .option('tpm', tpmOption)
        .option('root-cert', {
          type: 'string',
          demandOption: true,
          describe: 'root certificate (81 B, root_cert.bin from root create)',
        })
        .option('force', {
          type: 'boolean',
          default: false,
          describe: 'replace an existing or foreign provisioning',
        }),
    async (a) => {
      const killAfter = process.env[KILL_AFTER_ENV];
      if (killAfter !== undefined && !(PROVISION_STEPS as readonly string[]).includes(killAfter)) {
        throw new RangeError(`${KILL_AFTER_ENV} must be one of ${PROVISION_STEPS.join(', ')}`);
      }
      const root = readRootCertificate(a['root-cert']);
      const batch = openBatch(a.batch, { withSecret: true });
      try {
        const report = await withTpm(a.tpm, (tpm) =>
          provisionDevice({
            tpm,
            batch,
            rootCertificate: root.bytes,
            force: a.force,
            rng: systemRng,
            afterStep: (step: ProvisionStep) => {
              if (!a.json) process.stderr.write(`  done ${step}\n`);
              if (step === killAfter) process.kill(process.pid, 'SIGKILL');
            },
          }),
        );
        done({
          human: [
            `${report.outcome} TPM ${a.tpm} into batch "${batch.manifest.name}" (was ${report.before})`,
            `  gid         ${report.gid}`,
            `  member key  ${report.member.slice(0, 16)}… (${report.credentialIsNew ? 'new' : 'reissued'} credential; ${report.issued} issued)`,
          ].join('\n'),
          json: { ...report, batch: resolve(a.batch), tpm: a.tpm, preflight: report.preflight.verdict },
        });
      } finally {
        closeBatch(batch);
      }
    },
  );
  y.command(
    'inspect',
    'show what a TPM holds: persisted ECDAA key, NV objects with sizes, gid, whether the credential verifies',
    (c) => c.option('tpm', tpmOption),
    async (a) => {
      const { inv, assessment } = await withTpm(a.tpm, async (tpm) => {
        const inv = await readInventory(tpm);
        return { inv, assessment: assessInventory(inv) };
      });
      const view = describeInventory(inv, assessment);
      const lines = [`TPM ${a.tpm}: ${assessment.state}`];
      lines.push(
        `  ECDAA key 0x81800000  ${inv.key.present ? (inv.key.publicKey ? 'present' : 'present, not an ECDAA key') : 'absent'}`,
      );
      for (const [name, o] of Object.entries(inv.nv)) {
        const what = o.defined
          ? `${o.size} B${o.written ? '' : ', not written'}${o.referenceAttributes ? '' : `, attributes 0x${o.attributes.toString(16)}`}`
          : 'absent';
        lines.push(`  NV 0x${o.index.toString(16).padStart(8, '0')} ${name.padEnd(20)} ${what}`);
      }
      if (assessment.gid) lines.push(`  gid ${assessment.gid}`);
      if (assessment.rootId) lines.push(`  root ${assessment.rootId}`);
      if (assessment.credentialVerifies === true) {
        lines.push(
          assessment.credentialBoundToKey
            ? '  credential verifies against the GPK for this key'
            : '  credential verifies against the GPK (no credential signature, as the reference tools write: not checked against this key)',
        );
      } else if (assessment.credentialVerifies === false) {
        lines.push('  credential DOES NOT verify against the GPK');
      }
      for (const p of assessment.problems) lines.push(`  ! ${p}`);
      done({ human: lines.join('\n'), json: { tpm: a.tpm, ...view } });
    },
  );
  y.command(
    'pki-key',
    "PKI option: create (or reuse) an ECDSA P-256 key persisted in the TPM and write a PKCS#10 request (PEM) for the customer's CA",
    (c) =>
      c
        .option('tpm', tpmOption)
        .option('subject', {
          type: 'string',
          demandOption: true,
          describe: 'subject, e.g. "CN=device-42,O=Acme"',
        })
        .option('csr', {
          type: 'string',
          demandOption: true,
          describe: 'where to write the request (PEM; never overwritten)',
        })
        .option('handle', {
          type: 'string',
          default: `0x${PKI_KEY_HANDLE.toString(16)}`,
          describe: "owner persistent handle of the key (the agent's pki.tpmHandle)",
        }),
    async (a) => {
      let handle: number;
      try {
        handle = parsePersistentHandle(a.handle);
      } catch (e) {
        throw new FactoryError(FactoryErrorCode.BAD_VALUE, `--handle: ${(e as Error).message}`, {
          field: 'handle',
        });
      }
      const { csr, created, publicKey } = await withTpm(a.tpm, async (tpm) => {
        let got: { key: TpmPkiKey; created: boolean };
        try {
          got = await TpmPkiKey.ensure(tpm, handle);
        } catch (e) {
          if (e instanceof PkiKeyError)
            throw new FactoryError(FactoryErrorCode.TPM_FOREIGN_STATE, e.message, { cause: e });
          throw e;
        }
        try {
          return {
            csr: await buildCsr(a.subject, got.key),
            created: got.created,
            publicKey: got.key.publicKey,
          };
        } catch (e) {
          if (e instanceof SubjectSyntaxError)
            throw new FactoryError(FactoryErrorCode.BAD_VALUE, `--subject: ${e.message}`, {
              field: 'subject',
              cause: e,
            });
          throw e;
        }
      });
      try {
        writeNewFile(a.csr, new TextEncoder().encode(derToPem(csr, 'CERTIFICATE REQUEST')), 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new FactoryError(FactoryErrorCode.EXISTS, `${a.csr} exists; not overwritten`, {
            file: a.csr,
          });
        throw e;
      }
      const hex = `0x${handle.toString(16)}`;
      done({
        human: `${created ? 'created' : 'reused'} P-256 key at TPM handle ${hex}; request for "${a.subject}" in ${a.csr}`,
        json: {
          handle: hex,
          created,
          csr: resolve(a.csr),
          subject: a.subject,
          publicKey: Buffer.from(publicKey).toString('hex'),
        },
      });
    },
  );
}
