// Ports through which the handshake reaches its keys and decisions (STYLE.md, "Boundaries"). The
// client signs through DaaSigner and LongtermSigner so the same state machine runs against a TPM
// (tpm/) or software keys; the server decides through ServerPolicy (server-stub/ implements it with
// its registry and batch DAA verification). Shapes are fixed: other helpers implement them.
import type { KeyObject } from 'node:crypto';
import { systemRng, type Rng } from '../util/rng.ts';
import { decodeP256KeyFile, encodeP256KeyFile } from './certificates.ts';
import { generateP256PrivateKey, p256PublicKey, signP256 } from './ecdsa-p256.ts';
import { opensslP256KeyPair, opensslSignP256 } from './openssl-primitives.ts';

export interface DaaSigner {
  /** SHA-256(gpk || basename), 32 bytes, the group id sent in Identity_ClientAttest. */
  readonly gid: Uint8Array;
  readonly basename: Uint8Array;
  /** 421-byte ecdaa 1.0 signature with basename (and pseudonym) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface LongtermSigner {
  /** 65 bytes, 04 || x || y */
  readonly publicKey: Uint8Array;
  /** 64 raw bytes r || s: ECDSA-P256 over SHA-256(message) */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** The server's certificate key has the same shape (software key in server-stub, or an HSM). */
export type ServerSigner = LongtermSigner;

export type DaaVerdict = { ok: true; pseudonym: Uint8Array } | { ok: false; reason: string };
export type IdentityVerdict = { ok: true; id: Uint8Array } | { ok: false; reason: string };

export interface ServerPolicy {
  /** Verify the DAA signature for group `gid` over `message` (ClientDAASigHash); `suite` for the audit. */
  verifyDaa(req: {
    gid: Uint8Array;
    message: Uint8Array;
    signature: Uint8Array;
    suite: number;
  }): Promise<DaaVerdict>;
  /** Decide the identity; an all-zero requestedId means "assign one". */
  assignIdentity(req: {
    gid: Uint8Array;
    pseudonym: Uint8Array;
    longtermPublicKey: Uint8Array;
    requestedId: Uint8Array;
    suite: number;
  }): Promise<IdentityVerdict>;
}

/**
 * Software P-256 key (the reference's non-TPM mode). Each signature draws k from `rng` (32 bytes mod
 * n, as AMCL does), which is what lets the vector tests replay the reference's draws. With
 * `systemRng` the key also lives in an OpenSSL KeyObject that signs with its own k (nothing to
 * replay there), a small fraction of the pure-JS cost.
 */
export class SoftwareP256Signer implements LongtermSigner {
  readonly publicKey: Uint8Array;
  readonly #privateKey: Uint8Array;
  readonly #rng: Rng;
  #openssl: KeyObject | undefined;

  private constructor(privateKey: Uint8Array, rng: Rng) {
    this.#privateKey = privateKey.slice();
    this.publicKey = p256PublicKey(this.#privateKey);
    this.#rng = rng;
    this.#openssl = rng === systemRng ? opensslP256KeyPair(this.#privateKey, this.publicKey) : undefined;
  }

  /** A fresh key: one 32-byte draw reduced mod n (reference client context init). */
  static generate(rng: Rng): SoftwareP256Signer {
    const d = generateP256PrivateKey(rng);
    try {
      return new SoftwareP256Signer(d, rng);
    } finally {
      d.fill(0);
    }
  }

  static fromPrivateKey(privateKey: Uint8Array, rng: Rng): SoftwareP256Signer {
    return new SoftwareP256Signer(privateKey, rng);
  }

  /** From the reference's 121-byte SEC1 DER key file (`xtt genkeypair`, longterm_priv.bin). */
  static fromKeyFile(der: Uint8Array, rng: Rng): SoftwareP256Signer {
    const kp = decodeP256KeyFile(der);
    try {
      return new SoftwareP256Signer(kp.privateKey, rng);
    } finally {
      kp.privateKey.fill(0);
    }
  }

  /** The 121-byte key file the reference writes. Contains the secret: store it with care. */
  toKeyFile(): Uint8Array {
    return encodeP256KeyFile({ privateKey: this.#privateKey, publicKey: this.publicKey });
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    if (this.#openssl) return Promise.resolve(opensslSignP256(this.#openssl, message));
    return Promise.resolve(signP256(this.#privateKey, message, this.#rng));
  }

  destroy(): void {
    this.#openssl = undefined;
    this.#privateKey.fill(0);
  }
}
