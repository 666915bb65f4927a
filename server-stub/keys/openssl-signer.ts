// The server certificate key as an XTT ServerSigner (protocol/xtt/signers.ts) backed by Node's
// OpenSSL: ECDSA P-256 over SHA-256(message), raw r || s (ieee-p1363), which is what the reference
// and protocol/xtt's verifier expect. Same result as protocol/xtt's SoftwareP256Signer, at a small
// fraction of the CPU (the signature over ServerInitAndAttest is on every handshake's path).
// The private key lives in an OpenSSL KeyObject; the bytes handed in are wiped by the caller.
// The OpenSSL key setup and signing are protocol/xtt/openssl-primitives.ts's (shared with
// SoftwareP256Signer).
import type { KeyObject } from 'node:crypto';
import { equalBytes } from '../../protocol/util/bytes.ts';
import { p256PublicKey } from '../../protocol/xtt/ecdsa-p256.ts';
import { opensslP256KeyPair, opensslSignP256 } from '../../protocol/xtt/openssl-primitives.ts';
import type { ServerSigner } from '../../protocol/xtt/signers.ts';

export class OpensslP256Signer implements ServerSigner {
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;

  /** `privateKey` 32 bytes, `publicKey` 65 bytes 04 || x || y (as decodeP256KeyFile returns them). */
  constructor(privateKey: Uint8Array, publicKey: Uint8Array) {
    if (privateKey.length !== 32 || publicKey.length !== 65 || publicKey[0] !== 0x04) {
      throw new RangeError('P-256 key sizes');
    }
    // OpenSSL takes a JWK's x, y on trust: check them against d once.
    if (!equalBytes(p256PublicKey(privateKey), publicKey))
      throw new RangeError('public key does not match private key');
    this.#key = opensslP256KeyPair(privateKey, publicKey);
    this.publicKey = publicKey.slice();
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(opensslSignP256(this.#key, message));
  }
}
