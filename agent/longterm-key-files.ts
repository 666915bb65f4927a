// The device's long-term key, kept in the state directory from before the first handshake attempt
// on: the server binds a device's DAA pseudonym to the long-term key it first saw and refuses a
// different one (server-stub identity policy, "longterm-key-changed"). If the agent is killed after
// the server registered the device but before the identity was stored, the next attempt must
// present the same key, or the device would lock itself out.
//   TPM mode:  longterm-key.tpm  u32 parent handle || TPM2B_PRIVATE || TPM2B_PUBLIC (big-endian,
//              TPM wire format). The private part is wrapped by the SRK: useless outside this TPM.
//   dev mode:  longterm-key.bin  the reference's 121-byte P-256 key file; a software secret (0600).
// Both are created atomically and never replaced (atomic-file.ts); decoding is strict.
import { join } from 'node:path';
import { ByteReader, concatBytes, u32be } from '../protocol/util/bytes.ts';
import { P256_KEY_FILE_LENGTH } from '../protocol/xtt/certificates.ts';
import { encodePublic, readPublic, readTpm2b, type EccPublic } from '../tpm/marshal.ts';
import { AlreadyExistsError, createFileAtomically, readOptional } from '../common/fs-atomic.ts';
import { StateError } from './errors.ts';

export const TPM_KEY_FILE = 'longterm-key.tpm';
export const SOFTWARE_KEY_FILE = 'longterm-key.bin';

export interface TpmKeyBlob {
  parent: number;
  private: Uint8Array;
  public: EccPublic;
}

export function encodeTpmKeyBlob(b: TpmKeyBlob): Uint8Array {
  if (b.private.length > 0xffff) throw new RangeError('TPM2B_PRIVATE too long');
  const len = new Uint8Array([b.private.length >>> 8, b.private.length & 0xff]);
  return concatBytes(u32be(b.parent), len, b.private, encodePublic(b.public));
}

export function decodeTpmKeyBlob(bytes: Uint8Array, path: string): TpmKeyBlob {
  try {
    const r = new ByteReader(bytes, TPM_KEY_FILE);
    const parent = r.u32('parent');
    const priv = readTpm2b(r, 'TPM2B_PRIVATE').slice();
    const pub = readPublic(r);
    r.end();
    return { parent, private: priv, public: pub };
  } catch (e) {
    throw new StateError(path, `long-term key blob does not decode: ${(e as Error).message}`, { cause: e });
  }
}

export class LongtermKeyFiles {
  constructor(readonly dir: string) {}

  private async load(name: string): Promise<Uint8Array | undefined> {
    try {
      return await readOptional(join(this.dir, name));
    } catch (e) {
      throw new StateError(join(this.dir, name), `cannot read: ${(e as Error).message}`, { cause: e });
    }
  }

  private async create(name: string, data: Uint8Array, mode: number): Promise<void> {
    try {
      await createFileAtomically(this.dir, name, data, mode);
    } catch (e) {
      const why =
        e instanceof AlreadyExistsError ? 'already exists; refusing to replace it' : (e as Error).message;
      throw new StateError(join(this.dir, name), why, { cause: e });
    }
  }

  async loadTpm(): Promise<TpmKeyBlob | undefined> {
    const b = await this.load(TPM_KEY_FILE);
    return b && decodeTpmKeyBlob(b, join(this.dir, TPM_KEY_FILE));
  }

  saveTpm(blob: TpmKeyBlob): Promise<void> {
    return this.create(TPM_KEY_FILE, encodeTpmKeyBlob(blob), 0o640);
  }

  /** The 121-byte key file (a secret: the caller wipes it after use). */
  async loadSoftware(): Promise<Uint8Array | undefined> {
    const b = await this.load(SOFTWARE_KEY_FILE);
    if (b && b.length !== P256_KEY_FILE_LENGTH) {
      b.fill(0);
      throw new StateError(join(this.dir, SOFTWARE_KEY_FILE), `is not ${P256_KEY_FILE_LENGTH} bytes`);
    }
    return b;
  }

  saveSoftware(keyFile: Uint8Array): Promise<void> {
    return this.create(SOFTWARE_KEY_FILE, keyFile, 0o600);
  }
}
