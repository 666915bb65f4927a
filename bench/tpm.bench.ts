// TPM signing latency against a real swtpm (libtpms) on loopback: the TPM-backed ECDAA signature
// (host randomisation + TPM2_Commit + TPM2_Sign + host check, 421 bytes) and the XTT long-term
// ECDSA signature (TPM2_Load + TPM2_Sign + TPM2_FlushContext). Figures only; a chip is slower.
import {
  createIssuer,
  encodeCredential,
  encodeGroupPublicKey,
  issueCredential,
} from '../protocol/ecdaa/index.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { startSwtpm } from '../test/helpers/swtpm.ts';
import { createEcdaaKey } from '../tpm/ecdaa-key.ts';
import { createTpmJoinRequest } from '../tpm/ecdaa-join.ts';
import { TpmDaaSigner } from '../tpm/ecdaa-signer.ts';
import { TpmLongtermKey } from '../tpm/longterm-key.ts';
import { openTpm } from '../tpm/open.ts';
import { emit, median, percentile, round, timeIt } from './stats.ts';

export async function run(): Promise<void> {
  const sw = await startSwtpm();
  try {
    const tpm = await openTpm(sw.spec);
    await createEcdaaKey(tpm);
    const nonce = systemRng.bytes(32);
    const { request } = await createTpmJoinRequest(tpm, nonce);
    const issuer = createIssuer(systemRng);
    const { credential } = issueCredential(issuer.secretKey, request, nonce, systemRng);
    const daa = new TpmDaaSigner(tpm, {
      gpk: encodeGroupPublicKey(issuer.publicKey.gpk),
      credential: encodeCredential(credential),
      basename: new TextEncoder().encode('BASENAME'),
    });
    const msg = systemRng.bytes(64);
    const n = 40;
    const ecdaa = await timeIt(() => daa.sign(msg), n);
    emit({
      bench: 'tpm.ecdaa_sign',
      unit: 'ms',
      median: round(median(ecdaa)),
      p90: round(percentile(ecdaa, 90)),
      n,
    });

    const lt = await TpmLongtermKey.create(tpm);
    const ecdsa = await timeIt(() => lt.sign(msg), n);
    emit({
      bench: 'tpm.ecdsa_sign',
      unit: 'ms',
      median: round(median(ecdsa)),
      p90: round(percentile(ecdsa, 90)),
      n,
    });
  } finally {
    await sw.stop();
  }
}
