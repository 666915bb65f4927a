// TPMs that misbehave, simulated by a real swtpm behind a transport that changes one thing:
// - a TPM that cannot do ECDAA on BN_P256 is refused by preflight, and nothing is written to it.
//   swtpm 0.7.1 (Debian bookworm) has no profiles that drop algorithms, so the TPM here is a real swtpm
// behind a transport that removes TPM_ECC_BN_P256 from its TPM_CAP_ECC_CURVES answer, the way a
// chip without that curve reports itself (TCG Part 3, 30.2 GetCapability). Every other command and
// answer passes through unchanged.
// - a connection lost in the middle of the NV writes: the error says the TPM is partially provisioned
//   and the next run completes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type SwtpmInstance } from '../../helpers/swtpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { createBatch, openBatch } from '../../../factory/batch.ts';
import { readManifest } from '../../../factory/batch-store.ts';
import { assessInventory, readInventory } from '../../../factory/device-state.ts';
import { FactoryError } from '../../../factory/errors.ts';
import { provisionDevice } from '../../../factory/provision.ts';
import { createRoot } from '../../../factory/root-certs.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { TPM_CAP_ECC_CURVES, TPM_CC, TPM_ECC } from '../../../tpm/constants.ts';
import { TpmTransportError } from '../../../tpm/errors.ts';
import { NV_INDEX } from '../../../tpm/nv-layout.ts';
import { Tpm } from '../../../tpm/tpm.ts';
import type { TpmTransport } from '../../../tpm/transport/transport.ts';

const test = suiteRequires('factory provisioning', ['swtpm']);

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at);

/** Forwards everything; in GetCapability(ECC_CURVES) answers, drops one curve and fixes the sizes. */
class CurveHidingTransport implements TpmTransport {
  constructor(
    private readonly inner: TpmTransport,
    private readonly hidden: number,
  ) {}
  get description(): string {
    return `${this.inner.description} without curve 0x${this.hidden.toString(16)}`;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const resp = await this.inner.transmit(command);
    // Command: tag u16, size u32, code u32, capability u32, ...; response: header 10, moreData u8,
    // capability u32, count u32, curves u16[count].
    if (u32(command, 6) !== TPM_CC.TPM_CC_GetCapability || u32(command, 10) !== TPM_CAP_ECC_CURVES)
      return resp;
    if (u32(resp, 6) !== 0) return resp;
    const view = new DataView(resp.buffer, resp.byteOffset, resp.length);
    const count = view.getUint32(15);
    const curves: number[] = [];
    for (let i = 0; i < count; i++) curves.push(view.getUint16(19 + 2 * i));
    const kept = curves.filter((c) => c !== this.hidden);
    const out = new Uint8Array(19 + 2 * kept.length);
    out.set(resp.subarray(0, 15));
    const o = new DataView(out.buffer);
    o.setUint32(2, out.length);
    o.setUint32(15, kept.length);
    kept.forEach((c, i) => o.setUint16(19 + 2 * i, c));
    return out;
  }
}

/** Forwards everything until the first NV_Write to `index`, which fails as a lost connection. */
class DroppingTransport implements TpmTransport {
  dropped = false;
  constructor(
    private readonly inner: TpmTransport,
    private readonly index: number,
  ) {}
  get description(): string {
    return this.inner.description;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  transmit(command: Uint8Array): Promise<Uint8Array> {
    // NV_Write handles: authHandle u32 at 10, nvIndex u32 at 14.
    if (!this.dropped && u32(command, 6) === TPM_CC.TPM_CC_NV_Write && u32(command, 14) === this.index) {
      this.dropped = true;
      return Promise.reject(new TpmTransportError('connection reset (simulated)'));
    }
    return this.inner.transmit(command);
  }
}

let work = '';
let sw: SwtpmInstance | undefined;

test.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'factory-unsuitable-'));
  sw = await startSwtpm();
});

test.after.always(async () => {
  await sw?.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test.serial(
  'a TPM without BN_P256 is refused by preflight with a clear reason and left unchanged',
  async (t) => {
    const dir = join(work, 'batch');
    createBatch({ dir, name: 'x', size: 5, basename: new TextEncoder().encode('BASENAME'), rng: systemRng });
    const batch = openBatch(dir, { withSecret: true });
    const tpm = new Tpm(new CurveHidingTransport(sw!.transport(), TPM_ECC.TPM_ECC_BN_P256));
    try {
      const e = await t.throwsAsync(
        provisionDevice({
          tpm,
          batch,
          rootCertificate: createRoot(systemRng).certificateBytes,
          force: false,
          rng: systemRng,
        }),
        { instanceOf: FactoryError },
      );
      t.is(e?.code, 'TPM_UNSUITABLE');
      t.regex(
        e?.message ?? '',
        /preflight failed: curve-BN_P256: TPM_ECC_BN_P256 missing: no ECDAA key possible; nothing changed/,
      );
      t.is(assessInventory(await readInventory(tpm)).state, 'empty');
      t.is(readManifest(dir).issued, 0);
      // A malformed root certificate is refused first (library callers skip the CLI's file check).
      const bad = await t.throwsAsync(
        provisionDevice({ tpm, batch, rootCertificate: new Uint8Array(80), force: false, rng: systemRng }),
        { instanceOf: FactoryError },
      );
      t.is(bad?.code, 'BAD_VALUE');
    } finally {
      await tpm.close();
    }
  },
);

test.serial(
  'a connection lost during the NV writes is reported as partial; the next run completes it',
  async (t) => {
    const dir = join(work, 'batch2');
    createBatch({ dir, name: 'y', size: 5, basename: new TextEncoder().encode('BASENAME'), rng: systemRng });
    const batch = openBatch(dir, { withSecret: true });
    const rootCertificate = createRoot(systemRng).certificateBytes;
    const faulty = new DroppingTransport(sw!.transport(), NV_INDEX.credential);
    const tpm = new Tpm(faulty);
    try {
      const e = await t.throwsAsync(
        provisionDevice({ tpm, batch, rootCertificate, force: false, rng: systemRng }),
      );
      t.true(faulty.dropped);
      t.is((e as { code?: string }).code, 'TPM_TRANSPORT');
      t.regex(
        e?.message ?? '',
        /stopped after step write-credentialSignature: the TPM is partially provisioned; run provision again/,
      );
      t.is(assessInventory(await readInventory(tpm)).state, 'partial');
      const report = await provisionDevice({ tpm, batch, rootCertificate, force: false, rng: systemRng });
      t.is(report.outcome, 'resumed');
      t.false(report.credentialIsNew, 'the same key: counted once');
      t.is(readManifest(dir).issued, 1);
      t.is(assessInventory(await readInventory(tpm)).state, 'provisioned');
    } finally {
      await tpm.close();
    }
  },
);
