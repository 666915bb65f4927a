// The preflight report against a real swtpm: a fresh TPM passes, a provisioned one reports its key
// and NV layout, a foreign NV definition makes the verdict "fail" with a reason.
import { nvDefineSpace } from '../../../tpm/commands/nv-define-space.ts';
import { TPM_RH_OWNER, TPMA_NV } from '../../../tpm/constants.ts';
import { createEcdaaKey } from '../../../tpm/ecdaa-key.ts';
import { NV_ATTRIBUTES, NV_INDEX, nvPublicFor, storeNvObject } from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import { runPreflight } from '../../../tpm/preflight.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';

const test = suiteRequires('tpm preflight', ['swtpm']);

test('fresh swtpm: TPM 2.0, IBM libtpms, ECDAA and BN_P256, verdict pass, JSON round trip', async (t) => {
  const sw = await startSwtpm();
  try {
    const r = await runPreflight(await openTpm(sw.spec));
    t.is(r.verdict, 'pass', r.summary);
    t.is(r.tpm.family, '2.0');
    t.is(r.tpm.manufacturer, 'IBM');
    t.true(r.checks.every((c) => c.status === 'pass'));
    for (const name of [
      'tpm-2.0',
      'alg-ECDAA',
      'curve-BN_P256',
      'lockout',
      'persistent-handles',
      'nv-indices',
    ]) {
      t.truthy(
        r.checks.find((c) => c.name === name),
        name,
      );
    }
    t.false(r.lockout.inLockout);
    t.is(r.lockout.counter, 0);
    t.false(r.persistent.ecdaaKeyPresent);
    t.true(Object.values(r.nv.referenceIndices).every((v) => v === 'free'));
    t.deepEqual(JSON.parse(JSON.stringify(r)), r);
  } finally {
    await sw.stop();
  }
});

test('provisioned swtpm: key and layout reported; a foreign NV index fails the verdict', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    await createEcdaaKey(tpm);
    await storeNvObject(tpm, NV_INDEX.basename, new TextEncoder().encode('BASENAME'));
    let r = await runPreflight(tpm);
    t.is(r.verdict, 'pass', r.summary);
    t.true(r.persistent.ecdaaKeyPresent);
    t.is(r.nv.referenceIndices.basename, 'reference-layout');
    t.is(r.nv.definedIndices, 1);

    const foreign = {
      ...nvPublicFor(NV_INDEX.credential, 260),
      attributes: NV_ATTRIBUTES | TPMA_NV.TPMA_NV_NO_DA,
    };
    await tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), foreign));
    r = await runPreflight(tpm);
    t.is(r.verdict, 'fail');
    t.is(r.nv.referenceIndices.credential, 'other');
    t.regex(r.summary, /credential/);
    t.is(r.checks.find((c) => c.name === 'nv-indices')?.status, 'fail');
  } finally {
    await sw.stop();
  }
});
