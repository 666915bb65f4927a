// Keys in a real swtpm: the ECDAA key at 0x81800000 (reference factory sequence), the SRK and the
// XTT long-term key; persistence across an orderly swtpm restart; decoded TPM errors.
import { p256 } from '@noble/curves/nist.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { readPublic } from '../../../tpm/commands/read-public.ts';
import { getCapability } from '../../../tpm/commands/get-capability.ts';
import { TPM_CAP_HANDLES, TPM_ECC } from '../../../tpm/constants.ts';
import { createEcdaaKey, readEcdaaKey } from '../../../tpm/ecdaa-key.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { ensureSrk, TpmLongtermKey } from '../../../tpm/longterm-key.ts';
import { flushTransients } from '../../../tpm/handles.ts';
import { load } from '../../../tpm/commands/load.ts';
import { XTPM_ECDAA_KEY_HANDLE, XTPM_SRK_HANDLE } from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';
import { ZtpError } from '../../../protocol/errors.ts';

const test = suiteRequires('tpm keys', ['swtpm']);

async function handles(spec: string, first: number): Promise<number[]> {
  const tpm = await openTpm(spec);
  const res = await tpm.run(getCapability(TPM_CAP_HANDLES, first, 64));
  return res.data.capability === TPM_CAP_HANDLES ? res.data.handles : [];
}

test('ECDAA key: created on BN_P256, persisted, no transient left, survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpm-keys-'));
  try {
    let sw = await startSwtpm({ stateDir: dir });
    const tpm = await openTpm(sw.spec);
    const key = await createEcdaaKey(tpm);
    t.is(key.handle, XTPM_ECDAA_KEY_HANDLE);
    t.is(key.outPublic.curveID, TPM_ECC.TPM_ECC_BN_P256);
    t.is(key.publicKey.length, 65);
    t.deepEqual(await handles(sw.spec, 0x80000000), [], 'transients flushed');
    t.deepEqual(await handles(sw.spec, 0x81000000), [XTPM_ECDAA_KEY_HANDLE]);
    const again = await t.throwsAsync(createEcdaaKey(tpm), { instanceOf: ZtpError });
    t.is(again?.code, 'TPM_KEY');
    await sw.stop();

    sw = await startSwtpm({ stateDir: dir });
    const tpm2 = await openTpm(sw.spec);
    t.is(toHex((await readEcdaaKey(tpm2)).publicKey), toHex(key.publicKey));
    const replaced = await createEcdaaKey(tpm2, { replace: true });
    t.not(toHex(replaced.publicKey), toHex(key.publicKey));
    await sw.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('long-term key: SRK created once, ECDSA signatures verify, blob usable after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpm-keys-'));
  try {
    let sw = await startSwtpm({ stateDir: dir });
    const tpm = await openTpm(sw.spec);
    t.deepEqual(await ensureSrk(tpm), { created: true });
    t.deepEqual(await ensureSrk(tpm), { created: false });
    const key = await TpmLongtermKey.create(tpm);
    t.is(key.publicKey.length, 65);
    const msg = new TextEncoder().encode('XTT client signature hash');
    const sig = await key.sign(msg);
    t.is(sig.length, 64);
    t.true(p256.verify(sig, msg, key.publicKey, { lowS: false }));
    t.false(p256.verify(sig, new TextEncoder().encode('other'), key.publicKey, { lowS: false }));
    t.deepEqual(await handles(sw.spec, 0x80000000), [], 'Load+Sign+Flush leaves nothing loaded');
    await sw.stop();

    sw = await startSwtpm({ stateDir: dir });
    const tpm2 = await openTpm(sw.spec);
    const same = TpmLongtermKey.fromBlob(tpm2, key.blob);
    t.true(p256.verify(await same.sign(msg), msg, key.publicKey, { lowS: false }));
    t.true(tpm2.retries >= 1, 'first DA-protected use after restart answered TPM_RC_RETRY and was retried');
    await sw.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors are decoded: missing persistent handle is TPM_RC_HANDLE on handle 1', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    const e = await t.throwsAsync(tpm.run(readPublic(XTPM_SRK_HANDLE)), { instanceOf: TpmError });
    t.is(e?.rcName, 'TPM_RC_HANDLE');
    t.is(e?.decoded.handle, 1);
    t.is(e?.command, 'TPM_CC_ReadPublic');
  } finally {
    await sw.stop();
  }
});

test('flushTransients clears objects a crashed client left loaded (swtpm has no resource manager)', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    const key = await TpmLongtermKey.create(tpm);
    const a = await tpm.run(load(XTPM_SRK_HANDLE, key.blob.private, key.blob.public));
    const b = await tpm.run(load(XTPM_SRK_HANDLE, key.blob.private, key.blob.public));
    t.deepEqual(await handles(sw.spec, 0x80000000), [a.handle, b.handle]);
    t.deepEqual((await flushTransients(tpm)).sort(), [a.handle, b.handle].sort());
    t.deepEqual(await handles(sw.spec, 0x80000000), []);
    t.deepEqual(await flushTransients(tpm), []);
    t.is((await key.sign(new Uint8Array([1]))).length, 64);
  } finally {
    await sw.stop();
  }
});
