// Randomness port. Production uses the platform CSPRNG (WebCrypto getRandomValues, no I/O module);
// tests inject a replaying source to reproduce the reference's recorded draws byte for byte.

export interface Rng {
  /** Fresh random bytes of the given length. */
  bytes(n: number): Uint8Array;
}

export const systemRng: Rng = {
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    // getRandomValues fills at most 65536 bytes per call.
    for (let off = 0; off < n; off += 65536) {
      globalThis.crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
    }
    return out;
  },
};
