// ECDAA with the member key inside a real swtpm: TPM join accepted by the issuer, signatures with
// and without basename that protocol/ecdaa verifies, unlinkability without basename and linking by
// pseudonym with it, commit-counter reuse refused by the TPM, signing after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createIssuer,
  decodeSignature,
  encodeCredential,
  encodeG1,
  encodeGroupPublicKey,
  issueCredential,
  prepareGroupPublicKey,
  verifyJoinRequest,
  verifySignature,
  type PreparedGroupPublicKey,
} from '../../../protocol/ecdaa/index.ts';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { commit } from '../../../tpm/commands/commit.ts';
import { sign } from '../../../tpm/commands/sign.ts';
import { TPM_ALG } from '../../../tpm/constants.ts';
import { g1ToTpm } from '../../../tpm/ecdaa-commit.ts';
import { createEcdaaKey } from '../../../tpm/ecdaa-key.ts';
import { createTpmJoinRequest } from '../../../tpm/ecdaa-join.ts';
import { TpmDaaSigner } from '../../../tpm/ecdaa-signer.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { NV_INDEX, storeNvObject, XTPM_ECDAA_KEY_HANDLE } from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import type { Tpm } from '../../../tpm/tpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { G1 } from '../../../protocol/ecdaa/index.ts';

interface Ctx {
  dir: string;
  /** Shared by reference: ava hands tests a shallow copy of the context, hooks the original. */
  live: { sw: SwtpmInstance; tpm: Tpm };
  gpk: Uint8Array;
  credential: Uint8Array;
  pgpk: PreparedGroupPublicKey;
}

const test = suiteRequires<Ctx>('tpm ecdaa', ['swtpm']);
const enc = new TextEncoder();
const BASENAME = enc.encode('BASENAME');

test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpm-ecdaa-'));
  const sw = await startSwtpm({ stateDir: dir });
  const tpm = await openTpm(sw.spec);
  await createEcdaaKey(tpm);
  const nonce = systemRng.bytes(32);
  const { request, encoded } = await createTpmJoinRequest(tpm, nonce);
  if (encoded.length !== 161 || !verifyJoinRequest(request, nonce))
    throw new Error('TPM join request does not verify');
  const issuer = createIssuer(systemRng);
  const { credential } = issueCredential(issuer.secretKey, request, nonce, systemRng);
  const gpk = encodeGroupPublicKey(issuer.publicKey.gpk);
  const cred = encodeCredential(credential);
  await storeNvObject(tpm, NV_INDEX.gpk, gpk);
  await storeNvObject(tpm, NV_INDEX.credential, cred);
  await storeNvObject(tpm, NV_INDEX.basename, BASENAME);
  await storeNvObject(tpm, NV_INDEX.rootXttCert, new Uint8Array(81).fill(1));
  t.context = {
    dir,
    live: { sw, tpm },
    gpk,
    credential: cred,
    pgpk: prepareGroupPublicKey(issuer.publicKey.gpk),
  };
});

test.after.always(async (t) => {
  await t.context.live.sw.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test.serial('TPM join request: verifies for its nonce only', async (t) => {
  const nonce = systemRng.bytes(32);
  const { request } = await createTpmJoinRequest(t.context.live.tpm, nonce);
  t.true(verifyJoinRequest(request, nonce));
  t.false(verifyJoinRequest(request, systemRng.bytes(32)));
});

test.serial('signature with basename: 421 bytes, verifies, bound to message and basename', async (t) => {
  const signer = await TpmDaaSigner.fromTpm(t.context.live.tpm);
  t.is(toHex(signer.basename), toHex(BASENAME));
  t.is(signer.gid.length, 32);
  const msg = systemRng.bytes(64);
  const bytes = await signer.sign(msg);
  t.is(bytes.length, 421);
  const sig = decodeSignature(bytes, { hasBasename: true });
  t.deepEqual(verifySignature(sig, msg, BASENAME, t.context.pgpk), { ok: true });
  t.false(verifySignature(sig, systemRng.bytes(64), BASENAME, t.context.pgpk).ok);
  t.false(verifySignature(sig, msg, enc.encode('OTHER'), t.context.pgpk).ok);
});

test.serial(
  'signature without basename: 356 bytes, verifies, two signatures share no component',
  async (t) => {
    const { gpk, credential, pgpk } = t.context;
    const { tpm } = t.context.live;
    const signer = new TpmDaaSigner(tpm, { gpk, credential, basename: new Uint8Array(0) });
    const msg = enc.encode('same message');
    const a = await signer.signStructure(msg);
    const b = await signer.signStructure(msg);
    t.is((await signer.sign(msg)).length, 356);
    t.is(a.K, undefined);
    t.deepEqual(verifySignature(a, msg, undefined, pgpk), { ok: true });
    t.deepEqual(verifySignature(b, msg, undefined, pgpk), { ok: true });
    for (const k of ['R', 'S', 'T', 'W'] as const) t.false(a[k].equals(b[k]), k);
    t.not(a.c, b.c);
    t.not(a.n, b.n);
  },
);

test.serial('with basename the pseudonym links signatures; another basename gives another one', async (t) => {
  const { gpk, credential, pgpk } = t.context;
  const { tpm } = t.context.live;
  const signer = new TpmDaaSigner(tpm, { gpk, credential, basename: BASENAME });
  const other = new TpmDaaSigner(tpm, { gpk, credential, basename: enc.encode('another-network') });
  const a = await signer.signStructure(enc.encode('one'));
  const b = await signer.signStructure(enc.encode('two'));
  const c = await other.signStructure(enc.encode('one'));
  t.true(verifySignature(c, enc.encode('one'), enc.encode('another-network'), pgpk).ok);
  t.is(toHex(encodeG1(a.K!)), toHex(encodeG1(b.K!)));
  t.not(toHex(encodeG1(a.K!)), toHex(encodeG1(c.K!)));
  t.false(a.S.equals(b.S));
});

test.serial('a commit counter is usable once: reuse and unknown counters are refused', async (t) => {
  const { tpm } = t.context.live;
  const ecdaa = (count: number) => ({
    scheme: TPM_ALG.TPM_ALG_ECDAA,
    hashAlg: TPM_ALG.TPM_ALG_SHA256,
    count,
  });
  const out = await tpm.run(
    commit(XTPM_ECDAA_KEY_HANDLE, g1ToTpm(G1.BASE), new Uint8Array(0), new Uint8Array(0)),
  );
  const digest = systemRng.bytes(32);
  await tpm.run(sign(XTPM_ECDAA_KEY_HANDLE, digest, ecdaa(out.counter)));
  const reuse = await t.throwsAsync(tpm.run(sign(XTPM_ECDAA_KEY_HANDLE, digest, ecdaa(out.counter))), {
    instanceOf: TpmError,
  });
  t.is(reuse?.command, 'TPM_CC_Sign');
  // libtpms answers TPM_RC_VALUE (format one, no position) for a counter that is not pending.
  t.is(reuse?.rcName, 'TPM_RC_VALUE');
  t.log(`reused counter ${out.counter}: ${reuse?.message}`);
  const future = await t.throwsAsync(
    tpm.run(sign(XTPM_ECDAA_KEY_HANDLE, digest, ecdaa((out.counter + 100) & 0xffff))),
    {
      instanceOf: TpmError,
    },
  );
  t.is(future?.command, 'TPM_CC_Sign');
});

test.serial('after an orderly restart the persisted key still signs (first use retried)', async (t) => {
  await t.context.live.sw.stop();
  const sw = await startSwtpm({ stateDir: t.context.dir });
  const tpm = await openTpm(sw.spec);
  t.context.live.sw = sw;
  t.context.live.tpm = tpm;
  const signer = await TpmDaaSigner.fromTpm(tpm);
  const msg = enc.encode('after restart');
  const sig = decodeSignature(await signer.sign(msg), { hasBasename: true });
  t.deepEqual(verifySignature(sig, msg, BASENAME, t.context.pgpk), { ok: true });
  t.true(tpm.retries >= 1);
});
