// `xtt-factory preflight` and `inspect` as a station runs them (the real program, --json) against
// real swtpm: a fresh TPM passes; a TPM with full NV fails the --probe-nv check with exit code 7;
// inspect reports an empty TPM, then the provisioned one with sizes, gid and a verifying credential.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { EXIT } from '../../../factory/exit-codes.ts';
import { NV_INDEX, removeNvObject } from '../../../tpm/nv-layout.ts';
import { factory, fillNv, withTpm } from './helpers/factory-run.ts';

const test = suiteRequires('factory provisioning', ['swtpm']);

let work = '';
const tpms: SwtpmInstance[] = [];

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'factory-pi-'));
});

test.after.always(async () => {
  for (const sw of tpms) await sw.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

interface Report {
  verdict: string;
  checks: { name: string; status: string; reason: string }[];
}

test.serial('preflight: a fresh swtpm passes; with full NV the probe fails with exit 7', async (t) => {
  const sw = await startSwtpm();
  tpms.push(sw);
  const ok = await factory(['preflight', '--tpm', sw.spec, '--json', '--probe-nv']);
  t.is(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as Report;
  t.is(report.verdict, 'pass');
  t.truthy(report.checks.find((c) => c.name === 'curve-BN_P256' && c.status === 'pass'));
  await withTpm(sw, fillNv);
  const full = await factory(['preflight', '--tpm', sw.spec, '--json', '--probe-nv']);
  t.is(full.code, EXIT.TPM_UNSUITABLE);
  const failed = JSON.parse(full.stdout) as Report;
  t.is(failed.verdict, 'fail');
  t.is(failed.checks.find((c) => c.name === 'nv-space')?.status, 'fail');
  const human = await factory(['preflight', '--tpm', sw.spec, '--probe-nv']);
  t.regex(human.stdout, /FAIL nv-space/);
});

test.serial('inspect: empty, then provisioned with sizes, gid and a verifying credential', async (t) => {
  const sw = await startSwtpm();
  tpms.push(sw);
  const empty = await factory(['inspect', '--tpm', sw.spec, '--json']);
  t.is(empty.code, 0, empty.stderr);
  t.like(JSON.parse(empty.stdout), {
    state: 'empty',
    ecdaaKey: { present: false },
    gid: null,
    credentialVerifies: null,
  });
  const batch = join(work, 'batch');
  t.is((await factory(['create-batch', '--out', batch])).code, 0);
  t.is((await factory(['root', 'create', '--out', join(work, 'root')])).code, 0);
  const p = await factory([
    'provision',
    '--batch',
    batch,
    '--tpm',
    sw.spec,
    '--root-cert',
    join(work, 'root', 'root_cert.bin'),
  ]);
  t.is(p.code, 0, p.stderr);
  const full = JSON.parse((await factory(['inspect', '--tpm', sw.spec, '--json'])).stdout) as Record<
    string,
    unknown
  >;
  t.like(full, {
    state: 'provisioned',
    ecdaaKey: { handle: '0x81800000', present: true },
    nv: {
      basename: { index: '0x01410007', size: 8, attributes: '0x20060006', written: true },
      gpk: { index: '0x01410000', size: 258 },
      credential: { index: '0x01410001', size: 260 },
      credentialSignature: { index: '0x01410002', size: 64 },
      rootXttCert: { index: '0x01410009', size: 81 },
    },
    basename: 'BASENAME',
    credentialVerifies: true,
  });
  const manifest = JSON.parse((await factory(['label', '--batch', batch, '--json'])).stdout) as {
    gid: string;
  };
  t.is(full.gid, manifest.gid);
  const human = await factory(['inspect', '--tpm', sw.spec]);
  t.regex(human.stdout, /credential verifies against the GPK for this key/);

  // The reference tools write no credential signature: such a TPM is provisioned too (pairings only),
  // and provision leaves it alone.
  await withTpm(sw, (tpm) => removeNvObject(tpm, NV_INDEX.credentialSignature));
  const ref = JSON.parse((await factory(['inspect', '--tpm', sw.spec, '--json'])).stdout) as Record<
    string,
    unknown
  >;
  t.like(ref, {
    state: 'provisioned',
    credentialVerifies: true,
    credentialBoundToKey: false,
    nv: { credentialSignature: { defined: false } },
  });
  const again = await factory([
    'provision',
    '--batch',
    batch,
    '--tpm',
    sw.spec,
    '--root-cert',
    join(work, 'root', 'root_cert.bin'),
  ]);
  t.is(again.code, EXIT.ALREADY_PROVISIONED, again.stderr);
});
