// The preflight report against a real swtpm: a fresh TPM passes, a provisioned one reports its key
// and NV layout, a foreign NV definition makes the verdict "fail" with a reason.
import { nvDefineSpace } from '../../../tpm/commands/nv-define-space.ts';
import { TPM_RH_OWNER, TPMA_NV } from '../../../tpm/constants.ts';
import { createEcdaaKey } from '../../../tpm/ecdaa-key.ts';
import { NV_ATTRIBUTES, NV_INDEX, nvPublicFor, storeNvObject } from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import { PREFLIGHT_PROBE_INDEX, runPreflight } from '../../../tpm/preflight.ts';
import { tryNvReadPublic } from '../../../tpm/handles.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { TPM_ALG } from '../../../tpm/constants.ts';
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

test('NV space probe: passes on a fresh TPM and leaves nothing behind; fails when NV is full', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    let r = await runPreflight(tpm, { probeNv: true });
    t.is(r.verdict, 'pass', r.summary);
    t.true(r.nv.probe?.ok);
    t.is(r.checks.find((c) => c.name === 'nv-space')?.status, 'pass');
    t.is(await tryNvReadPublic(tpm, PREFLIGHT_PROBE_INDEX), undefined);
    t.is(r.nv.definedIndices, 0);
    t.is((await runPreflight(tpm)).nv.probe, null);

    // Fill NV with 2 KB, then 1 KB indices until the TPM refuses, then probe again.
    let next = 0x01300000;
    for (const size of [2048, 1024]) {
      for (let i = 0; i < 512; i++) {
        const pub = {
          nvIndex: next++,
          nameAlg: TPM_ALG.TPM_ALG_SHA256,
          attributes: TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_OWNERREAD | TPMA_NV.TPMA_NV_NO_DA,
          authPolicy: new Uint8Array(0),
          dataSize: size,
        };
        try {
          await tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), pub));
        } catch (e) {
          if (!(e instanceof TpmError)) throw e;
          t.log(`no room for another ${size}-byte index after ${i}: ${e.rcName}`);
          break;
        }
      }
    }
    r = await runPreflight(tpm, { probeNv: true });
    t.false(r.nv.probe?.ok);
    t.is(r.verdict, 'fail');
    t.regex(r.nv.probe?.reason ?? '', /TPM_RC_/);
  } finally {
    await sw.stop();
  }
});
