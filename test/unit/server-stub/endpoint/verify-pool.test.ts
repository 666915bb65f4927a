// The DAA verification pool with real worker threads and real signatures from the reference sample
// member (test/vectors/xtt-0.12-sample-data): batching when signatures wait together, a bad
// signature singled out, the bounded queue, unknown-format input.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { SoftwareDaaSigner } from '../../../../protocol/xtt/software-daa-signer.ts';
import { VerifyPool } from '../../../../server-stub/endpoint/verify-pool.ts';

const dir = 'test/vectors/xtt-0.12-sample-data/client/';
const file = (n: string) => new Uint8Array(readFileSync(dir + n));
const files = {
  secretKey: file('daa_secretkey.bin'),
  credential: file('daa_cred.bin'),
  gpk: file('daa_gpk.bin'),
  basename: file('basename.bin'),
};
// The sample member's pseudonym over "BASENAME" (test/vectors/xtt-0.12-sample-data/README.md).
const PSEUDONYM =
  '044a837955cb202af0c115afde5396255d5a46c14edd3a95cecd0d122cf7bcb7f5f455339b2d8b35228d2120a7e4d47b2af7b76641377ccfb38187865de0a04691';

async function requests(n: number) {
  const signer = new SoftwareDaaSigner(files, systemRng);
  const out = [];
  for (let i = 0; i < n; i++) {
    const message = new TextEncoder().encode(`handshake ${i}`);
    out.push({
      gid: signer.gid,
      gpk: files.gpk,
      basename: files.basename,
      message,
      signature: await signer.sign(message),
    });
  }
  return out;
}

test('signatures waiting together are batch-verified; each verdict carries the pseudonym', async (t) => {
  const pool = new VerifyPool({ workers: 1, maxBatch: 16 });
  const reqs = await requests(9);
  const verdicts = await Promise.all(reqs.map((r) => pool.verify(r)));
  for (const v of verdicts) t.deepEqual(v.ok && Buffer.from(v.pseudonym).toString('hex'), PSEUDONYM);
  // The first goes alone to the idle worker; the other eight wait and go as one batch.
  t.deepEqual([...pool.batchSizes.entries()].sort(), [
    [1, 1],
    [8, 1],
  ]);
  await pool.close();
});

test('a bad signature in a batch is refused while the others pass', async (t) => {
  const pool = new VerifyPool({ workers: 1 });
  const reqs = await requests(6);
  reqs[3] = { ...reqs[3]!, message: new TextEncoder().encode('not what was signed') };
  const malformed = { ...reqs[4]!, signature: reqs[4]!.signature.subarray(0, 100) };
  const verdicts = await Promise.all([...reqs, malformed].map((r) => pool.verify(r)));
  t.deepEqual(
    verdicts.map((v) => v.ok),
    [true, true, true, false, true, true, false],
  );
  t.deepEqual(verdicts[6], { ok: false, reason: 'signature-malformed' });
  // Alone, a bad signature gets the verifier's precise reason.
  t.deepEqual(await pool.verify(reqs[3]!), { ok: false, reason: 'signature-challenge' });
  await pool.close();
});

test('past maxQueue waiting signatures new ones are refused at once', async (t) => {
  const pool = new VerifyPool({ workers: 1, maxQueue: 2 });
  const reqs = await requests(5);
  const verdicts = await Promise.all(reqs.map((r) => pool.verify(r)));
  // One in the worker, two waiting, two refused.
  t.deepEqual(
    verdicts.map((v) => (v.ok ? 'ok' : v.reason)),
    ['ok', 'ok', 'ok', 'overloaded', 'overloaded'],
  );
  t.is(pool.queueDepth, 0);
  await pool.close();
  t.deepEqual(await pool.verify(reqs[0]!), { ok: false, reason: 'verifier-closed' });
});
