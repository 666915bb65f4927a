// NV objects at the reference indices in a real swtpm: define/write/read round trips with the
// reference attributes, persistence across a restart, the TPM_RC_RETRY after restart retried,
// conflicting definitions refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { nvDefineSpace } from '../../../tpm/commands/nv-define-space.ts';
import { nvReadPublic } from '../../../tpm/commands/nv-read-public.ts';
import { TPM_RH_OWNER, TPMA_NV } from '../../../tpm/constants.ts';
import { TpmError } from '../../../tpm/errors.ts';
import {
  NV_ATTRIBUTES,
  NV_INDEX,
  NvLayoutError,
  nvPublicFor,
  readDeviceObjects,
  readNvObject,
  removeNvObject,
  storeNvObject,
} from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import type { RetryEvent } from '../../../tpm/tpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';

const test = suiteRequires('tpm nv', ['swtpm']);

const SIZES: Record<keyof typeof NV_INDEX, number> = {
  gpk: 258,
  credential: 260,
  credentialSignature: 64,
  rootAsn1Cert: 300,
  basename: 8,
  serverId: 16,
  rootXttCert: 81,
};

test('every reference index round trips, keeps 0x00060006 (+WRITTEN) and survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpm-nv-'));
  try {
    let sw = await startSwtpm({ stateDir: dir });
    const tpm = await openTpm(sw.spec);
    const objects = new Map<number, Uint8Array>();
    for (const [name, index] of Object.entries(NV_INDEX)) {
      const data = systemRng.bytes(SIZES[name as keyof typeof NV_INDEX]);
      objects.set(index, data);
      await storeNvObject(tpm, index, data);
      const pub = await tpm.run(nvReadPublic(index));
      t.is(pub.nvPublic.attributes, NV_ATTRIBUTES | TPMA_NV.TPMA_NV_WRITTEN);
      t.is(pub.nvPublic.dataSize, data.length);
      t.is(toHex(await readNvObject(tpm, index)), toHex(data));
    }
    // Rewriting with the same size is allowed; another size needs replace.
    const base2 = new TextEncoder().encode('BASENAM2');
    await storeNvObject(tpm, NV_INDEX.basename, base2);
    objects.set(NV_INDEX.basename, base2);
    await t.throwsAsync(storeNvObject(tpm, NV_INDEX.basename, new Uint8Array(9)), {
      instanceOf: NvLayoutError,
    });
    await sw.stop();

    sw = await startSwtpm({ stateDir: dir });
    const events: RetryEvent[] = [];
    const tpm2 = await openTpm(sw.spec, { onRetry: (e) => events.push(e) });
    const dev = await readDeviceObjects(tpm2);
    t.is(toHex(dev.basename), toHex(base2));
    t.is(toHex(dev.gpk), toHex(objects.get(NV_INDEX.gpk)!));
    t.is(toHex(dev.credential), toHex(objects.get(NV_INDEX.credential)!));
    t.is(toHex(dev.rootXttCert), toHex(objects.get(NV_INDEX.rootXttCert)!));
    // The reference client dies here (trace 05); we retry the identical NV_Read.
    t.deepEqual(
      events.map((e) => [e.command, e.rc]),
      [['TPM_CC_NV_Read', 0x922]],
    );
    for (const index of Object.values(NV_INDEX)) {
      t.is(toHex(await readNvObject(tpm2, index)), toHex(objects.get(index)!));
    }
    t.true(await removeNvObject(tpm2, NV_INDEX.serverId));
    t.false(await removeNvObject(tpm2, NV_INDEX.serverId));
    await t.throwsAsync(readNvObject(tpm2, NV_INDEX.serverId), {
      instanceOf: NvLayoutError,
      message: /not defined/,
    });
    await sw.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('foreign definitions and unwritten indices are reported, double definition is TPM_RC_NV_DEFINED', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    const foreign = { ...nvPublicFor(NV_INDEX.gpk, 258), attributes: NV_ATTRIBUTES | TPMA_NV.TPMA_NV_NO_DA };
    await tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), foreign));
    await t.throwsAsync(storeNvObject(tpm, NV_INDEX.gpk, new Uint8Array(258)), { message: /attributes/ });
    await t.throwsAsync(readNvObject(tpm, NV_INDEX.gpk), { message: /never written/ });
    const e = await t.throwsAsync(tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), foreign)), {
      instanceOf: TpmError,
    });
    t.is(e?.rcName, 'TPM_RC_NV_DEFINED');
    await storeNvObject(tpm, NV_INDEX.gpk, new Uint8Array(258).fill(7), { replace: true });
    t.is(
      (await tpm.run(nvReadPublic(NV_INDEX.gpk))).nvPublic.attributes,
      NV_ATTRIBUTES | TPMA_NV.TPMA_NV_WRITTEN,
    );
  } finally {
    await sw.stop();
  }
});
