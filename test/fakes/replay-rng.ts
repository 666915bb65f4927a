// Rng fake that replays the reference's recorded random draws (test/vectors/xtt-0.12/*.json,
// random_draws.{client,server}) in a chosen order of indices. Draw 0 of every process is libsodium's
// sodium_init() canary and is never protocol data, so callers start at 1. A size mismatch or running
// out throws: the code under test drew differently from the reference.
import type { Rng } from '../../protocol/util/rng.ts';
import { fromHex } from '../../protocol/util/bytes.ts';

export interface RecordedDraw {
  index: number;
  size: number;
  bytes: string;
  purpose?: string;
}

export class ReplayRng implements Rng {
  readonly #queue: RecordedDraw[];
  readonly consumed: number[] = [];

  constructor(draws: readonly RecordedDraw[], indices: readonly number[]) {
    this.#queue = indices.map((i) => {
      const d = draws.find((x) => x.index === i);
      if (!d) throw new Error(`no recorded draw ${i}`);
      return d;
    });
  }

  bytes(n: number): Uint8Array {
    const d = this.#queue.shift();
    if (!d)
      throw new Error(`ReplayRng exhausted (asked for ${n} bytes after draws ${this.consumed.join(',')})`);
    if (d.size !== n) throw new Error(`ReplayRng: draw ${d.index} has ${d.size} bytes, code asked for ${n}`);
    this.consumed.push(d.index);
    return fromHex(d.bytes);
  }

  get remaining(): number {
    return this.#queue.length;
  }
}
