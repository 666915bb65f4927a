// The device's PKI key: an ECDSA P-256 key created in the TPM under the owner SRK (0x81000001) with
// the long-term key's template (T3: fixedTPM, fixedParent, sensitiveDataOrigin, sign) and made
// persistent at an owner handle (default 0x81010010), so the customer's CA certifies a key that
// never leaves the TPM and the agent finds it without a stored blob. Signing is TPM2_Sign(ECDSA,
// SHA-256) on the persistent handle (no Load/Flush per signature). r and s are left-padded to 32
// bytes, as for the long-term key.
import { sha256 } from '@noble/hashes/sha2.js';
import { ZtpError } from '../protocol/errors.ts';
import { concatBytes } from '../protocol/util/bytes.ts';
import type { LongtermSigner } from '../protocol/xtt/signers.ts';
import { create } from './commands/create.ts';
import { evictControl } from './commands/evict-control.ts';
import { flushContext } from './commands/flush-context.ts';
import { load } from './commands/load.ts';
import { sign } from './commands/sign.ts';
import { TPM_ALG, TPM_ECC, TPM_RH_OWNER, TPMA_OBJECT } from './constants.ts';
import { tryReadPublic } from './handles.ts';
import { ensureSrk, pad32 } from './longterm-key.ts';
import { pointToSec1 } from './marshal.ts';
import { XTPM_SRK_HANDLE } from './nv-layout.ts';
import { TEMPLATE_T3_LONGTERM } from './templates.ts';
import type { Tpm } from './tpm.ts';

/** Default persistent handle of the PKI key (owner range, clear of the reference's handles). */
export const PKI_KEY_HANDLE = 0x81010010;

/** The handle is empty, or holds something that is not a P-256 signing key. */
export class PkiKeyError extends ZtpError {
  constructor(message: string) {
    super('TPM_NOT_PROVISIONED', message);
  }
}

export function parsePersistentHandle(text: string): number {
  const n = /^0x[0-9a-f]{8}$/i.test(text) ? Number.parseInt(text.slice(2), 16) : NaN;
  if (!Number.isInteger(n) || (n & 0xff800000) >>> 0 !== 0x81000000) {
    throw new RangeError(`${text} is not an owner persistent handle 0x81000000..0x817fffff`);
  }
  return n;
}

export class TpmPkiKey implements LongtermSigner {
  private constructor(
    private readonly tpm: Tpm,
    readonly handle: number,
    /** 65 bytes 04 || x || y */
    readonly publicKey: Uint8Array,
  ) {}

  /** The key at `handle`; PkiKeyError when there is none or it is not a P-256 signing key. */
  static async open(tpm: Tpm, handle = PKI_KEY_HANDLE): Promise<TpmPkiKey> {
    const found = await tryReadPublic(tpm, handle);
    if (!found) throw new PkiKeyError(`no key at TPM handle 0x${handle.toString(16)}`);
    const p = found.outPublic;
    if (
      p.type !== TPM_ALG.TPM_ALG_ECC ||
      p.curveID !== TPM_ECC.TPM_ECC_NIST_P256 ||
      (p.objectAttributes & TPMA_OBJECT.sign) === 0 ||
      (p.objectAttributes & TPMA_OBJECT.restricted) !== 0
    ) {
      throw new PkiKeyError(
        `the object at 0x${handle.toString(16)} is not an unrestricted P-256 signing key`,
      );
    }
    return new TpmPkiKey(tpm, handle, pointToSec1(p.unique));
  }

  /** Opens the key at `handle`, creating and persisting a new one when the handle is empty. */
  static async ensure(tpm: Tpm, handle = PKI_KEY_HANDLE): Promise<{ key: TpmPkiKey; created: boolean }> {
    if (await tryReadPublic(tpm, handle)) return { key: await TpmPkiKey.open(tpm, handle), created: false };
    await ensureSrk(tpm, XTPM_SRK_HANDLE);
    const made = await tpm.run(create(XTPM_SRK_HANDLE, TEMPLATE_T3_LONGTERM));
    const loaded = await tpm.run(load(XTPM_SRK_HANDLE, made.outPrivate, made.outPublic));
    try {
      await tpm.run(evictControl(TPM_RH_OWNER, loaded.handle, handle));
    } finally {
      await tpm.run(flushContext(loaded.handle));
    }
    return { key: await TpmPkiKey.open(tpm, handle), created: true };
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const sig = await this.tpm.run(
      sign(this.handle, sha256(message), { scheme: TPM_ALG.TPM_ALG_ECDSA, hashAlg: TPM_ALG.TPM_ALG_SHA256 }),
    );
    return concatBytes(pad32(sig.r, 'signatureR'), pad32(sig.s, 'signatureS'));
  }
}
