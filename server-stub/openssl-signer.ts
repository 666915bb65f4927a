// The server certificate key as an XTT ServerSigner (protocol/xtt/signers.ts) backed by Node's
// OpenSSL: ECDSA P-256 over SHA-256(message), raw r || s (ieee-p1363), which is what the reference
// and protocol/xtt's verifier expect. Same result as protocol/xtt's SoftwareP256Signer, at a small
// fraction of the CPU (the signature over ServerInitAndAttest is on every handshake's path).
// The private key lives in an OpenSSL KeyObject; the bytes handed in are wiped by the caller.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { equalBytes } from '../protocol/util/bytes.ts';
import { p256PublicKey } from '../protocol/xtt/ecdsa-p256.ts';
import type { ServerSigner } from '../protocol/xtt/signers.ts';

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

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
    this.#key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: b64u(privateKey),
        x: b64u(publicKey.subarray(1, 33)),
        y: b64u(publicKey.subarray(33)),
      },
    });
    this.publicKey = publicKey.slice();
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(
      new Uint8Array(sign('sha256', message, { key: this.#key, dsaEncoding: 'ieee-p1363' })),
    );
  }
}
