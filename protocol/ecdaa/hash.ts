// Hashes and random scalars exactly as xaptum/ecdaa 1.0.0 on AMCL computes them
// (ECDAA-FP256BN.md "Hashes"; xtt-0.12-vectors/README.md "DAA details"):
// - hashToScalar: SHA-256 of the concatenated parts, read big-endian, reduced mod r.
// - hashToG1: try-and-increment, x = SHA-256(LE32(i) || m) mod r (mod r, not p: the
//   reference's quirk), first x with x^3+3 a square mod p, the even square root as y.
// - randomScalar: AMCL's BIG_randomnum as ecdaa drives it: 65 bytes drawn, the first 64 used,
//   each byte bit-reversed, read as one 512-bit big-endian integer, reduced mod r.
// - groupId: XTT's gid = SHA-256(GPK || basename) (a tool convention of xaptum/xtt).
import { createHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToBigInt, concatBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { CURVE_ORDER, FIELD_PRIME, Fp, G1, type G1Point } from './curve.ts';

/** SHA-256 on node:crypto (OpenSSL): the challenge hashes are a fifth of batch verification in noble-hashes. */
export function hashToScalar(...parts: Uint8Array[]): bigint {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return bytesToBigInt(h.digest()) % CURVE_ORDER;
}

/** Bytes drawn per random scalar (AMCL draws one more byte than it uses). */
export const RANDOM_SCALAR_DRAW = 65;

const BITREV = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let r = 0;
  for (let b = 0; b < 8; b++) if (i & (1 << b)) r |= 0x80 >> b;
  BITREV[i] = r;
}

/** A uniform scalar in [0, r) from 512 random bits, reproducing the reference's draw layout. */
export function randomScalar(rng: Rng): bigint {
  const draw = rng.bytes(RANDOM_SCALAR_DRAW);
  let n = 0n;
  for (let i = 0; i < 64; i++) n = (n << 8n) | BigInt(BITREV[draw[i]!]!);
  draw.fill(0);
  return n % CURVE_ORDER;
}

const SQRT_EXP = (FIELD_PRIME + 1n) / 4n;

/** Upper bound on hash-to-G1 attempts (each succeeds with probability ~1/2). */
const MAX_HASH_ATTEMPTS = 256;

function le32(i: number): Uint8Array {
  return new Uint8Array([i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, (i >>> 24) & 0xff]);
}

export function hashToG1(message: Uint8Array): { point: G1Point; counter: number } {
  for (let counter = 0; counter < MAX_HASH_ATTEMPTS; counter++) {
    const x = bytesToBigInt(sha256(concatBytes(le32(counter), message))) % CURVE_ORDER;
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 3n);
    // p = 3 mod 4: the candidate root is rhs^((p+1)/4); it is a root iff rhs is a square.
    let y = Fp.pow(rhs, SQRT_EXP);
    if (!Fp.eql(Fp.sqr(y), rhs)) continue;
    if (y & 1n) y = Fp.neg(y);
    const point = G1.fromAffine({ x, y });
    return { point, counter };
  }
  // Probability 2^-256: unreachable in practice, but never loop forever.
  throw new RangeError('hashToG1: no point found');
}

export function groupId(gpkBytes: Uint8Array, basename: Uint8Array): Uint8Array {
  return sha256(concatBytes(gpkBytes, basename));
}
