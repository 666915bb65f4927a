// TPM-held keys through a whole XTT 0.12 handshake: a swtpm provisioned like the factory does
// (ECDAA key, TPM join, credential, NV objects), the client signing with TpmDaaSigner and
// TpmLongtermKey, the in-process protocol/xtt server verifying the DAA signature for real.
import {
  createIssuer,
  encodeCredential,
  encodeGroupPublicKey,
  issueCredential,
} from '../../../protocol/ecdaa/index.ts';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { createEcdaaKey } from '../../../tpm/ecdaa-key.ts';
import { createTpmJoinRequest } from '../../../tpm/ecdaa-join.ts';
import { TpmDaaSigner } from '../../../tpm/ecdaa-signer.ts';
import { TpmLongtermKey } from '../../../tpm/longterm-key.ts';
import { NV_INDEX, storeNvObject } from '../../../tpm/nv-layout.ts';
import { openTpm } from '../../../tpm/open.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';
import { MemoryPolicy, makeParties, makePki, pump } from '../../helpers/xtt-parties.ts';

const test = suiteRequires('tpm xtt handshake', ['swtpm']);

test('handshakes with TPM keys succeed and keep one pseudonym per basename', async (t) => {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    await createEcdaaKey(tpm);
    const nonce = systemRng.bytes(32);
    const { request } = await createTpmJoinRequest(tpm, nonce);
    const issuer = createIssuer(systemRng);
    const { credential } = issueCredential(issuer.secretKey, request, nonce, systemRng);
    const gpk = encodeGroupPublicKey(issuer.publicKey.gpk);
    const basename = new TextEncoder().encode('BASENAME');
    await storeNvObject(tpm, NV_INDEX.gpk, gpk);
    await storeNvObject(tpm, NV_INDEX.credential, encodeCredential(credential));
    await storeNvObject(tpm, NV_INDEX.basename, basename);
    const pki = makePki();
    await storeNvObject(tpm, NV_INDEX.rootXttCert, pki.rootCertificate);

    const daa = await TpmDaaSigner.fromTpm(tpm);
    const policy = new MemoryPolicy([{ gpk, basename }]);
    const pseudonyms: string[] = [];
    for (const suite of [1, 3] as const) {
      const longterm = await TpmLongtermKey.create(tpm);
      const p = makeParties({ suite, daa, policy, pki });
      const out = await pump(p.client({ longterm }), p.server.accept());
      t.is(out.client.kind, 'done', `suite ${suite} client`);
      t.is(out.server.kind, 'done', `suite ${suite} server`);
      if (out.server.kind === 'done' && out.client.kind === 'done') {
        t.is(toHex(out.server.result.longtermPublicKey), toHex(longterm.publicKey));
        t.is(toHex(out.server.result.gid), toHex(daa.gid));
        t.is(toHex(out.client.result.identity), toHex(out.server.result.identity));
        pseudonyms.push(toHex(out.server.result.pseudonym));
      }
    }
    t.is(pseudonyms.length, 2);
    t.is(pseudonyms[0], pseudonyms[1], 'same device, same basename: same pseudonym');
  } finally {
    await sw.stop();
  }
});
