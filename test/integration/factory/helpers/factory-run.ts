// Helpers for the factory integration tests, in a helpers/ folder so ava does not take it for a test
// file: run the real `xtt-factory` program as a child process, open a TPM client on a test swtpm, and
// fill its NV memory.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { SwtpmInstance } from '../../../helpers/swtpm.ts';
import { nvDefineSpace } from '../../../../tpm/commands/nv-define-space.ts';
import { TPM_ALG, TPM_RH_OWNER, TPMA_NV } from '../../../../tpm/constants.ts';
import { TpmError, TPM_RC_NV_SPACE } from '../../../../tpm/errors.ts';
import { Tpm } from '../../../../tpm/tpm.ts';

const MAIN = join(import.meta.dirname, '../../../../factory/main.ts');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function factory(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import=tsx', MAIN, ...args],
      { env: { ...process.env, ...env }, timeout: 600_000 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

export async function withTpm<T>(sw: SwtpmInstance, fn: (tpm: Tpm) => Promise<T>): Promise<T> {
  const tpm = new Tpm(sw.transport());
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

/** Index range for filler objects: owner range, far from the reference's 0x0141xxxx. */
export const FILLER_BASE = 0x01500000;

/**
 * Defines owner NV indices (size halving from 2048 down to 8 bytes) until the TPM answers
 * TPM_RC_NV_SPACE even for 8 bytes. Returns how many indices it defined.
 */
export async function fillNv(tpm: Tpm): Promise<number> {
  let n = 0;
  for (let size = 2048; size >= 8;) {
    try {
      await tpm.run(
        nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), {
          nvIndex: FILLER_BASE + n,
          nameAlg: TPM_ALG.TPM_ALG_SHA256,
          attributes: TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_OWNERREAD,
          authPolicy: new Uint8Array(0),
          dataSize: size,
        }),
      );
      n++;
    } catch (err) {
      // NV_SPACE: out of room; libtpms also refuses more indices than its table holds.
      if (!(err instanceof TpmError)) throw err;
      if (err.baseCode !== TPM_RC_NV_SPACE && n === 0) throw err;
      size = Math.floor(size / 2);
    }
  }
  return n;
}
