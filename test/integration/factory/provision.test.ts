// xtt-factory against real swtpm: a batch provisions several TPMs, each then signs
// with tpm/ecdaa-signer.ts and the signatures verify against the batch GPK; the NV objects sit at the
// reference indices with the reference definitions (test/vectors/tpm-traces-provisioning); a second
// provision is refused without --force; a TPM with full NV is reported and left unchanged; foreign
// objects at our indices are refused; a provisioning killed after any step is completed by the next run.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { createBatch } from '../../../factory/batch.ts';
import { readManifest } from '../../../factory/batch-store.ts';
import { assessInventory, readInventory } from '../../../factory/device-state.ts';
import { EXIT } from '../../../factory/exit-codes.ts';
import { PROVISION_STEPS } from '../../../factory/provision.ts';
import { createRoot, writeRoot } from '../../../factory/root-certs.ts';
import {
  decodeGroupPublicKey,
  decodeSignature,
  verifySignature,
  prepareGroupPublicKey,
} from '../../../protocol/ecdaa/index.ts';
import { equalBytes, toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { nvDefineSpace } from '../../../tpm/commands/nv-define-space.ts';
import { readPublic } from '../../../tpm/commands/read-public.ts';
import { create } from '../../../tpm/commands/create.ts';
import { createPrimary } from '../../../tpm/commands/create-primary.ts';
import { evictControl } from '../../../tpm/commands/evict-control.ts';
import { flushContext } from '../../../tpm/commands/flush-context.ts';
import { load } from '../../../tpm/commands/load.ts';
import { TPM_ALG, TPM_RH_OWNER, TPM_RH_PLATFORM, TPMA_NV, TPMA_OBJECT } from '../../../tpm/constants.ts';
import { TEMPLATE_T1_STORAGE, TEMPLATE_T2_ECDAA } from '../../../tpm/templates.ts';
import { TpmDaaSigner } from '../../../tpm/ecdaa-signer.ts';
import { tryNvReadPublic } from '../../../tpm/handles.ts';
import { encodeNvPublic, encodePublic } from '../../../tpm/marshal.ts';
import { NV_INDEX, readDeviceObjects, XTPM_ECDAA_KEY_HANDLE } from '../../../tpm/nv-layout.ts';
import { fillNv, factory, withTpm, type Run } from './helpers/factory-run.ts';

const test = suiteRequires('factory provisioning', ['swtpm']);

const TRACE = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../vectors/tpm-traces-provisioning/nv-layout.json'), 'utf8'),
) as { nv_define_publicInfo: Record<string, string>; ecdaa_key_inPublic_TPM2B: string };

let work = '';
let batchDir = '';
let rootCert = '';
const tpms: SwtpmInstance[] = [];

async function swtpm(): Promise<SwtpmInstance> {
  const sw = await startSwtpm();
  tpms.push(sw);
  return sw;
}

function provision(sw: SwtpmInstance, ...extra: string[]): Promise<Run> {
  return factory([
    'provision',
    '--batch',
    batchDir,
    '--tpm',
    sw.spec,
    '--root-cert',
    rootCert,
    '--json',
    ...extra,
  ]);
}

async function state(sw: SwtpmInstance): Promise<ReturnType<typeof assessInventory>> {
  return withTpm(sw, async (tpm) => assessInventory(await readInventory(tpm)));
}

/** Signs two messages with the device's TPM key as the reference client would, verifies both. */
async function signAndVerify(sw: SwtpmInstance): Promise<Uint8Array> {
  return withTpm(sw, async (tpm) => {
    const signer = await TpmDaaSigner.fromTpm(tpm);
    const gpk = prepareGroupPublicKey(decodeGroupPublicKey(readFileSync(join(batchDir, 'gpk.bin'))));
    let pseudonym: Uint8Array = new Uint8Array(0);
    for (const msg of ['first handshake', 'second handshake']) {
      const message = new TextEncoder().encode(msg);
      const sig = await signer.sign(message);
      if (sig.length !== 421) throw new Error(`signature is ${sig.length} bytes`);
      const res = verifySignature(decodeSignature(sig, { hasBasename: true }), message, signer.basename, gpk);
      if (!res.ok) throw new Error(`signature does not verify: ${res.reason}`);
      pseudonym = sig.subarray(356);
    }
    return pseudonym;
  });
}

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'factory-it-'));
  batchDir = join(work, 'batch');
  createBatch({
    dir: batchDir,
    name: 'it-lot',
    size: 20,
    basename: new TextEncoder().encode('BASENAME'),
    rng: systemRng,
  });
  writeRoot(join(work, 'root'), createRoot(systemRng));
  rootCert = join(work, 'root', 'root_cert.bin');
});

test.after.always(async () => {
  for (const sw of tpms) await sw.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test.serial(
  'several TPMs provisioned from one batch sign with signatures that verify against the GPK',
  async (t) => {
    const before = readManifest(batchDir).issued;
    const pseudonyms: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sw = await swtpm();
      const r = await provision(sw);
      t.is(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { outcome: string; before: string; steps: string[]; gid: string };
      t.is(out.outcome, 'provisioned');
      t.is(out.before, 'empty');
      t.deepEqual(out.steps, [...PROVISION_STEPS]);
      t.is(out.gid, readManifest(batchDir).gid);
      pseudonyms.push(toHex(await signAndVerify(sw)));
      t.is((await state(sw)).state, 'provisioned');
    }
    t.is(new Set(pseudonyms).size, 3, 'each device has its own key, hence its own pseudonym');
    t.is(readManifest(batchDir).issued, before + 3);
  },
);

test.serial(
  'NV objects are the reference bytes at the reference indices with the reference definitions',
  async (t) => {
    const sw = await swtpm();
    t.is((await provision(sw)).code, 0);
    await withTpm(sw, async (tpm) => {
      const objs = await readDeviceObjects(tpm);
      t.deepEqual(objs.basename, new Uint8Array(readFileSync(join(batchDir, 'basename.bin'))));
      t.deepEqual(objs.gpk, new Uint8Array(readFileSync(join(batchDir, 'gpk.bin'))));
      t.deepEqual(objs.rootXttCert, new Uint8Array(readFileSync(rootCert)));
      t.is(objs.credential.length, 260);
      for (const [index, publicInfo] of Object.entries(TRACE.nv_define_publicInfo)) {
        const pub = await tryNvReadPublic(tpm, Number(index));
        t.truthy(pub, index);
        t.is(pub!.nvPublic.attributes, 0x20060006, `${index}: 0x00060006 plus TPMA_NV_WRITTEN`);
        const defined = { ...pub!.nvPublic, attributes: pub!.nvPublic.attributes & ~TPMA_NV.TPMA_NV_WRITTEN };
        t.is(toHex(encodeNvPublic(defined)), publicInfo, `${index}: same TPM2B_NV_PUBLIC as the reference`);
      }
      const sig = await tryNvReadPublic(tpm, NV_INDEX.credentialSignature);
      t.is(sig?.nvPublic.dataSize, 64);
      // The persisted key has the reference template T2 (unique aside).
      const key = await tpm.run(readPublic(XTPM_ECDAA_KEY_HANDLE));
      const template = encodePublic({
        ...key.outPublic,
        unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
      });
      t.is(toHex(template), TRACE.ecdaa_key_inPublic_TPM2B);
    });
  },
);

test.serial(
  're-provisioning is refused without --force and changes nothing; --force replaces the key',
  async (t) => {
    const sw = await swtpm();
    t.is((await provision(sw)).code, 0);
    const objsBefore = await withTpm(sw, readDeviceObjects);
    const issued = readManifest(batchDir).issued;
    const again = await provision(sw);
    t.is(again.code, EXIT.ALREADY_PROVISIONED);
    t.regex(
      JSON.parse(again.stderr).error.message,
      /already provisioned for batch "it-lot".*nothing changed/,
    );
    t.like(JSON.parse(again.stderr), {
      error: { code: 'ALREADY_PROVISIONED', exitCode: EXIT.ALREADY_PROVISIONED },
    });
    writeRoot(join(work, 'root2'), createRoot(systemRng));
    const otherRoot = await factory([
      'provision',
      '--batch',
      batchDir,
      '--tpm',
      sw.spec,
      '--root-cert',
      join(work, 'root2', 'root_cert.bin'),
    ]);
    t.is(otherRoot.code, EXIT.ALREADY_PROVISIONED);
    t.regex(otherRoot.stderr, /with root [0-9a-f]{32} \(this run's root is [0-9a-f]{32}\); nothing changed/);
    const objsAfter = await withTpm(sw, readDeviceObjects);
    t.true(equalBytes(objsAfter.credential, objsBefore.credential));
    t.is(readManifest(batchDir).issued, issued);
    const forced = await provision(sw, '--force');
    t.is(forced.code, 0, forced.stderr);
    t.like(JSON.parse(forced.stdout), { outcome: 'reprovisioned', before: 'provisioned' });
    t.false(equalBytes((await withTpm(sw, readDeviceObjects)).credential, objsBefore.credential));
    await t.notThrowsAsync(signAndVerify(sw));
  },
);

test.serial('a TPM with full NV is reported clearly and left unchanged', async (t) => {
  const sw = await swtpm();
  const filled = await withTpm(sw, fillNv);
  t.true(filled > 0);
  const r = await provision(sw);
  t.is(r.code, EXIT.TPM_UNSUITABLE, r.stderr);
  t.like(JSON.parse(r.stderr), { error: { code: 'TPM_UNSUITABLE', exitCode: EXIT.TPM_UNSUITABLE } });
  t.regex(JSON.parse(r.stderr).error.message, /no (NV )?room.*nothing changed/);
  const s = await state(sw);
  t.is(s.state, 'empty', 'no key persisted and none of our indices left defined');
});

test.serial('foreign objects at the reference indices are refused; --force replaces them', async (t) => {
  const sw = await swtpm();
  await withTpm(sw, (tpm) =>
    tpm.run(
      nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), {
        nvIndex: NV_INDEX.gpk,
        nameAlg: TPM_ALG.TPM_ALG_SHA256,
        attributes: TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_OWNERREAD,
        authPolicy: new Uint8Array(0),
        dataSize: 100,
      }),
    ),
  );
  const r = await provision(sw);
  t.is(r.code, EXIT.TPM_FOREIGN_STATE, r.stderr);
  t.regex(r.stderr, /NV 0x01410000 \(gpk\): attributes 0x00020002, not the reference 0x00060006/);
  t.is((await state(sw)).state, 'foreign');
  const inspect = await factory(['inspect', '--tpm', sw.spec, '--json']);
  t.like(JSON.parse(inspect.stdout), { state: 'foreign', nv: { gpk: { defined: true, size: 100 } } });
  const forced = await provision(sw, '--force');
  t.is(forced.code, 0, forced.stderr);
  await t.notThrowsAsync(signAndVerify(sw));
});

test.serial(
  'a key of another template at 0x81800000 is foreign: refused, and --force replaces it',
  async (t) => {
    const sw = await swtpm();
    await withTpm(sw, async (tpm) => {
      // BN_P256 ECDAA like the reference key, but with noDA: not what the reference (or we) make.
      const template = {
        ...TEMPLATE_T2_ECDAA,
        objectAttributes: TEMPLATE_T2_ECDAA.objectAttributes | TPMA_OBJECT.noDA,
      };
      const primary = await tpm.run(createPrimary(TPM_RH_PLATFORM, TEMPLATE_T1_STORAGE));
      const key = await tpm.run(create(primary.handle, template));
      const loaded = await tpm.run(load(primary.handle, key.outPrivate, key.outPublic));
      await tpm.run(evictControl(TPM_RH_PLATFORM, loaded.handle, XTPM_ECDAA_KEY_HANDLE));
      await tpm.run(flushContext(loaded.handle));
      await tpm.run(flushContext(primary.handle));
    });
    const r = await provision(sw);
    t.is(r.code, EXIT.TPM_FOREIGN_STATE, r.stderr);
    t.regex(r.stderr, /0x81800000: an ECDAA key with another template than the reference T2/);
    const forced = await provision(sw, '--force');
    t.is(forced.code, 0, forced.stderr);
    await t.notThrowsAsync(signAndVerify(sw));
  },
);

for (const step of ['reserve-nv', 'persist-key', 'join', 'write-gpk', 'write-credentialSignature'] as const) {
  test.serial(
    `killed after ${step}: the TPM is partial, never provisioned-looking; the next run completes it`,
    async (t) => {
      const sw = await swtpm();
      const issued = readManifest(batchDir).issued;
      const r = await factory(['provision', '--batch', batchDir, '--tpm', sw.spec, '--root-cert', rootCert], {
        XTT_FACTORY_KILL_AFTER: step,
      });
      t.is(r.signal, 'SIGKILL', r.stderr);
      t.regex(r.stderr, new RegExp(`done ${step}\\n$`));
      t.is((await state(sw)).state, 'partial');
      const inspect = JSON.parse((await factory(['inspect', '--tpm', sw.spec, '--json'])).stdout) as {
        state: string;
      };
      t.is(inspect.state, 'partial');
      const resumed = await provision(sw);
      t.is(resumed.code, 0, resumed.stderr);
      const out = JSON.parse(resumed.stdout) as { outcome: string; before: string; credentialIsNew: boolean };
      t.like(out, { outcome: 'resumed', before: 'partial' });
      // A credential issued before the kill was for the same key: the resume counts as a reissue.
      t.is(out.credentialIsNew, PROVISION_STEPS.indexOf(step) < PROVISION_STEPS.indexOf('join'));
      t.is(readManifest(batchDir).issued, issued + 1, 'one device, one credential counted');
      t.is((await state(sw)).state, 'provisioned');
      await t.notThrowsAsync(signAndVerify(sw));
    },
  );
}
