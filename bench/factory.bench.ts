// Factory station throughput against a real swtpm (libtpms) on loopback: create-batch (issuer key
// pair with proof), label rendering (QR PNG/SVG/terminal), and one full device provisioning
// (preflight, reserve NV, ECDAA key, TPM join, credential issue + verify, manifest update, NV writes,
// final check), with --force so every round does the whole job on the same TPM. Figures only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBatch, openBatch } from '../factory/batch.ts';
import { renderLabel } from '../factory/label.ts';
import { provisionDevice } from '../factory/provision.ts';
import { createRoot } from '../factory/root-certs.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { startSwtpm } from '../test/helpers/swtpm.ts';
import { openTpm } from '../tpm/open.ts';
import { emit, median, percentile, round, timeIt } from './stats.ts';

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'factory-bench-'));
  const sw = await startSwtpm();
  try {
    const basename = new TextEncoder().encode('BASENAME');
    let i = 0;
    const create = await timeIt(
      () => createBatch({ dir: join(work, `b${i++}`), name: 'bench', size: 1000, basename, rng: systemRng }),
      10,
      1,
    );
    emit({ bench: 'factory.create_batch', unit: 'ms', median: round(median(create)), n: create.length });

    const batch = openBatch(join(work, 'b0'), { withSecret: true });
    const label = await timeIt(
      () => renderLabel({ gpk: batch.gpkBytes, basename, name: 'bench', gid: batch.manifest.gid }),
      20,
    );
    emit({ bench: 'factory.render_label', unit: 'ms', median: round(median(label)), n: label.length });

    const root = createRoot(systemRng).certificateBytes;
    const tpm = await openTpm(sw.spec);
    try {
      const provision = await timeIt(
        () => provisionDevice({ tpm, batch, rootCertificate: root, force: true, rng: systemRng }),
        10,
        1,
      );
      emit({
        bench: 'factory.provision_swtpm',
        unit: 'ms',
        median: round(median(provision)),
        p90: round(percentile(provision, 90)),
        n: provision.length,
      });
    } finally {
      await tpm.close();
    }
  } finally {
    await sw.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
