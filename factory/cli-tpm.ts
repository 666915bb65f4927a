// TPM subcommands of `xtt-factory` (issue 4): preflight (the tpm/preflight.ts report), provision
// (provision.ts) and inspect (device-state.ts). TPM = /dev/tpmrm0 or swtpm:HOST:PORT[:CTRLPORT]
// (tpm/open.ts). One TPM client per command, closed in `finally`.
//
// Test hook: XTT_FACTORY_KILL_AFTER=<step> makes `provision` SIGKILL itself right after that step
// (PROVISION_STEPS), which is how the integration tests simulate a power cut at the station. It only
// ever stops this process; it changes nothing else.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { systemRng } from '../protocol/util/rng.ts';
import { openTpm } from '../tpm/open.ts';
import { runPreflight, type PreflightReport } from '../tpm/preflight.ts';
import type { Tpm } from '../tpm/tpm.ts';
import { closeBatch, openBatch } from './batch.ts';
import type { Done } from './cli.ts';
import { assessInventory, describeInventory, readInventory } from './device-state.ts';
import { EXIT } from './exit-codes.ts';
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
}
