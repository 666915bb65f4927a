// ECDAA on FP256BN benchmarks (issue 2): one pairing, member sign (software key, basename),
// single verify (3 Miller loops + 1 final exponentiation over prepared GPK lines), and batch
// verification cost per signature at batch sizes 1, 8, 32, 128. Medians in milliseconds.
// Figures only: targets (verify <= 18 ms, batch <= 5 ms/sig at >= 32) are read, not asserted.
import * as E from '../protocol/ecdaa/index.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { emit, median, round, timeIt } from './stats.ts';

export async function run(): Promise<void> {
  const rng = systemRng;
  const { secretKey: isk, publicKey: ipk } = E.createIssuer(rng);
  const sk = E.randomScalar(rng);
  const nonce = rng.bytes(32);
  const { credential } = E.issueCredential(isk, E.createJoinRequest(sk, nonce, rng), nonce, rng);
  const pgpk = E.prepareGroupPublicKey(ipk.gpk);
  const basename = new TextEncoder().encode('BASENAME');
  const message = rng.bytes(64);

  const P = E.G1.BASE.multiply(E.randomScalar(rng));
  const Q = E.G2.BASE.multiply(E.randomScalar(rng));
  const pairing = await timeIt(() => E.pairing(P, Q), 30);
  emit({ bench: 'ecdaa.pairing', unit: 'ms', median: round(median(pairing)), n: pairing.length });

  const sign = () => E.signWithSecretKey({ message, basename, secretKey: sk, credential, rng });
  const signT = await timeIt(sign, 30);
  emit({ bench: 'ecdaa.sign', unit: 'ms', median: round(median(signT)), n: signT.length });

  const sig = sign();
  const verifyT = await timeIt(() => {
    if (!E.verifySignature(sig, message, basename, pgpk).ok) throw new Error('bench signature invalid');
  }, 40);
  emit({ bench: 'ecdaa.verify', unit: 'ms', median: round(median(verifyT)), n: verifyT.length });

  const signed = Array.from({ length: 128 }, () => {
    const m = rng.bytes(64);
    return {
      signature: E.signWithSecretKey({ message: m, basename, secretKey: sk, credential, rng }),
      message: m,
      basename,
    };
  });
  for (const size of [1, 8, 32, 128]) {
    const batch = signed.slice(0, size);
    const runs = size >= 128 ? 3 : size >= 32 ? 5 : 10;
    const t = await timeIt(
      () => {
        if (!E.batchVerify(batch, pgpk, { rng }).every(Boolean)) throw new Error('bench batch invalid');
      },
      runs,
      1,
    );
    emit({
      bench: 'ecdaa.batch_verify',
      unit: 'ms_per_sig',
      batch: size,
      median: round(median(t) / size),
      n: t.length,
    });
  }
}
