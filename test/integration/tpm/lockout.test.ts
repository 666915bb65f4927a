// Dictionary-attack state seen by preflight on a real swtpm: authorization failures on a
// DA-protected NV index raise TPM_PT_LOCKOUT_COUNTER (verdict warn), reaching the maximum puts the
// TPM in lockout (TPM_RC_LOCKOUT, verdict fail), DictionaryAttackLockReset clears it.
import { dictionaryAttackLockReset } from '../../../tpm/commands/dictionary-attack-lock-reset.ts';
import { dictionaryAttackParameters } from '../../../tpm/commands/dictionary-attack-parameters.ts';
import { nvDefineSpace } from '../../../tpm/commands/nv-define-space.ts';
import { nvRead } from '../../../tpm/commands/nv-read.ts';
import { nvWrite } from '../../../tpm/commands/nv-write.ts';
import { TPM_ALG, TPM_RH_OWNER, TPMA_NV } from '../../../tpm/constants.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { openTpm } from '../../../tpm/open.ts';
import { runPreflight } from '../../../tpm/preflight.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';

const test = suiteRequires('tpm lockout', ['swtpm']);
const INDEX = 0x01500000;

test('auth failures: counter, lockout, reset, as preflight reports them', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    await tpm.run(dictionaryAttackParameters(3, 1000, 0));
    const attrs = TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_AUTHREAD;
    const auth = new TextEncoder().encode('not-empty');
    await tpm.run(
      nvDefineSpace(TPM_RH_OWNER, auth, {
        nvIndex: INDEX,
        nameAlg: TPM_ALG.TPM_ALG_SHA256,
        attributes: attrs,
        authPolicy: new Uint8Array(0),
        dataSize: 4,
      }),
    );
    await tpm.run(nvWrite(TPM_RH_OWNER, INDEX, new Uint8Array(4), 0));
    t.is((await runPreflight(tpm)).verdict, 'pass');

    // Our empty password against the index's non-empty authValue: a DA-counted failure.
    const fail = await t.throwsAsync(tpm.run(nvRead(INDEX, INDEX, 4, 0)), { instanceOf: TpmError });
    t.is(fail?.rcName, 'TPM_RC_AUTH_FAIL');
    t.is(fail?.decoded.session, 1);
    let r = await runPreflight(tpm);
    t.is(r.lockout.counter, 1);
    t.is(r.verdict, 'warn');
    t.is(r.checks.find((c) => c.name === 'lockout')?.status, 'warn');

    await t.throwsAsync(tpm.run(nvRead(INDEX, INDEX, 4, 0)), { instanceOf: TpmError });
    await t.throwsAsync(tpm.run(nvRead(INDEX, INDEX, 4, 0)), { instanceOf: TpmError });
    const locked = await t.throwsAsync(tpm.run(nvRead(INDEX, INDEX, 4, 0)), { instanceOf: TpmError });
    t.is(locked?.rcName, 'TPM_RC_LOCKOUT');
    r = await runPreflight(tpm);
    t.true(r.lockout.inLockout);
    t.is(r.verdict, 'fail');
    t.regex(r.summary, /lockout/);

    await tpm.run(dictionaryAttackLockReset());
    r = await runPreflight(tpm);
    t.false(r.lockout.inLockout);
    t.is(r.lockout.counter, 0);
    t.is(r.verdict, 'pass');
  } finally {
    await sw.stop();
  }
});
