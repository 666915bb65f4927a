// An Rng that returns a scripted sequence of 32-bit values (big-endian), for deterministic jitter.
import type { Rng } from '../../protocol/util/rng.ts';

export class SeqRng implements Rng {
  private i = 0;
  constructor(private readonly values: number[]) {}
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 4) {
      const v = this.values[this.i++ % this.values.length]! >>> 0;
      const word = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
      out.set(word.slice(0, Math.min(4, n - off)), off);
    }
    return out;
  }
}
