// Worker thread of the DAA verification pool (verify-pool.ts: signature verification in
// worker threads using batch verification). Receives jobs of signatures from one group and answers
// one verdict per signature: protocol/ecdaa batchVerify for two or more (random-coefficient pairing
// batch, then bisection to find the bad ones), verifySignature for one (its precise reason).
// Only public data crosses the thread boundary: GPKs, basenames, messages, signatures, pseudonyms.
import { parentPort } from 'node:worker_threads';
import {
  batchVerify,
  decodeGroupPublicKey,
  decodeSignature,
  encodeG1,
  prepareGroupPublicKey,
  verifySignature,
  type PreparedGroupPublicKey,
  type Signature,
} from '../../protocol/ecdaa/index.ts';
import { toHex } from '../../protocol/util/bytes.ts';
import { systemRng } from '../../protocol/util/rng.ts';

export interface VerifyJob {
  jobId: number;
  gid: Uint8Array;
  gpk: Uint8Array;
  basename: Uint8Array;
  items: { message: Uint8Array; signature: Uint8Array }[];
}

export type ItemVerdict = { ok: true; pseudonym: Uint8Array } | { ok: false; reason: string };

export interface VerifyJobResult {
  jobId: number;
  verdicts: ItemVerdict[];
}

const MAX_CACHED_GROUPS = 256;
const prepared = new Map<string, PreparedGroupPublicKey>();

function groupKey(gid: Uint8Array, gpk: Uint8Array): PreparedGroupPublicKey {
  const key = toHex(gid);
  let p = prepared.get(key);
  if (!p) {
    p = prepareGroupPublicKey(decodeGroupPublicKey(gpk));
    if (prepared.size >= MAX_CACHED_GROUPS) prepared.delete(prepared.keys().next().value!);
    prepared.set(key, p);
  }
  return p;
}

export function runJob(job: VerifyJob): ItemVerdict[] {
  const verdicts: ItemVerdict[] = job.items.map(() => ({ ok: false, reason: 'signature-invalid' }));
  let pgpk: PreparedGroupPublicKey;
  try {
    pgpk = groupKey(job.gid, job.gpk);
  } catch {
    return job.items.map(() => ({ ok: false, reason: 'group-key-invalid' }));
  }
  const decoded: { index: number; signature: Signature; message: Uint8Array }[] = [];
  job.items.forEach((it, index) => {
    try {
      const signature = decodeSignature(it.signature, { hasBasename: true });
      if (signature.K) decoded.push({ index, signature, message: it.message });
      else verdicts[index] = { ok: false, reason: 'signature-without-pseudonym' };
    } catch {
      verdicts[index] = { ok: false, reason: 'signature-malformed' };
    }
  });
  if (decoded.length === 1) {
    const d = decoded[0]!;
    const v = verifySignature(d.signature, d.message, job.basename, pgpk);
    verdicts[d.index] = v.ok
      ? { ok: true, pseudonym: encodeG1(d.signature.K!) }
      : { ok: false, reason: `signature-${v.reason}` };
  } else if (decoded.length > 1) {
    const ok = batchVerify(
      decoded.map((d) => ({ signature: d.signature, message: d.message, basename: job.basename })),
      pgpk,
      { rng: systemRng },
    );
    decoded.forEach((d, i) => {
      if (ok[i]) verdicts[d.index] = { ok: true, pseudonym: encodeG1(d.signature.K!) };
    });
  }
  return verdicts;
}

parentPort?.on('message', (job: VerifyJob) => {
  let verdicts: ItemVerdict[];
  try {
    verdicts = runJob(job);
  } catch {
    verdicts = job.items.map(() => ({ ok: false, reason: 'verifier-error' }));
  }
  parentPort!.postMessage({ jobId: job.jobId, verdicts } satisfies VerifyJobResult);
});
