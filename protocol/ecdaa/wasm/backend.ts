// Host side of the FP256BN WebAssembly arithmetic (assembly/fp256bn.ts, compiled into
// fp256bn-wasm.ts by scripts/build-ecdaa-wasm.mjs): instantiation, the constants the module needs,
// conversion of noble points and field elements to and from linear memory, and the three
// operations verification needs: a product of pairings over precomputed G2 lines compared with 1,
// a G1 multi-scalar multiplication, and (for the tests) Miller loop and final exponentiation.
//
// The noble-based code in ../curve.ts and ../pairing.ts stays the reference: G2 line tables are
// computed there (once per fixed point) and copied in; the property tests compare every operation
// here with noble's. Variable time: public inputs only (verification).
import { _splitEndoScalar } from '@noble/curves/abstract/weierstrass.js';
import {
  CURVE_ORDER,
  FIELD_PRIME,
  Fp2F,
  G1,
  GLV_BASIS,
  GLV_BETA,
  type Fp12,
  type Fp2,
  type G1Point,
} from '../curve.ts';
import { P2_LINES, U_NAF, type G2Lines } from '../pairing.ts';
import { FP256BN_WASM_BASE64 } from './fp256bn-wasm.ts';

// Node's global WebAssembly object (lib ES2022 and @types/node 20 do not declare it).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: object };
};

interface Exports {
  memory: { buffer: ArrayBuffer };
  alloc(size: number): number;
  init(): number;
  setTables(unafLen: number, ateLen: number): void;
  fpFromWords(r: number, w: number): void;
  fpToWords(w: number, a: number): void;
  fpMul(r: number, a: number, b: number): void;
  millerLoop(out: number, n: number, pairs: number): void;
  finalExponentiate(r: number, f: number): void;
  pairingProductIsOne(n: number, pairs: number): number;
  g1Msm(out: number, n: number, points: number, scalars: number, work: number): void;
  g1ToAffine(out: number, p: number): number;
}

const FP = 36;
const FP2 = 72;
const FP12 = 432;
const G1J = 108;
const PAIR_RECORD = 80; // lines pointer u32, pad, Px, Py
const MSM_WORK_PER_POINT = 8 * G1J + 260;
const R_BITS = 261n;

function decodeBase64(b64: string): Uint8Array {
  return Uint8Array.from(Buffer.from(b64, 'base64'));
}

const instance = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(FP256BN_WASM_BASE64)), {
  env: {
    abort: () => {
      throw new Error('fp256bn wasm: abort');
    },
  },
});
const wasm = instance.exports as unknown as Exports;

let u8 = new Uint8Array(wasm.memory.buffer);
let u32 = new Uint32Array(wasm.memory.buffer);
let u64 = new BigUint64Array(wasm.memory.buffer);

/** Views over linear memory, renewed when the memory grew (growth detaches the old buffer). */
function views(): void {
  if (u8.buffer !== wasm.memory.buffer) {
    u8 = new Uint8Array(wasm.memory.buffer);
    u32 = new Uint32Array(wasm.memory.buffer);
    u64 = new BigUint64Array(wasm.memory.buffer);
  }
}

function alloc(size: number): number {
  const ptr = wasm.alloc(size);
  views();
  return ptr;
}

const WORDS = alloc(32);
const M64 = (1n << 64n) - 1n;

/** Writes x (0 <= x < p) at ptr in Montgomery form. */
function writeFp(ptr: number, x: bigint): void {
  const w = WORDS >>> 3;
  u64[w] = x & M64;
  u64[w + 1] = (x >> 64n) & M64;
  u64[w + 2] = (x >> 128n) & M64;
  u64[w + 3] = x >> 192n;
  wasm.fpFromWords(ptr, WORDS);
}

function readFp(ptr: number): bigint {
  wasm.fpToWords(WORDS, ptr);
  const w = WORDS >>> 3;
  return u64[w]! | (u64[w + 1]! << 64n) | (u64[w + 2]! << 128n) | (u64[w + 3]! << 192n);
}

function writePlain(ptr: number, x: bigint): void {
  for (let i = 0; i < 9; i++) u32[(ptr >>> 2) + i] = Number((x >> (29n * BigInt(i))) & 0x1fffffffn);
}

function writeFp2(ptr: number, a: Fp2): void {
  writeFp(ptr, a.c0);
  writeFp(ptr + FP, a.c1);
}

function readFp2(ptr: number): Fp2 {
  return { c0: readFp(ptr), c1: readFp(ptr + FP) };
}

// ---- constants ---------------------------------------------------------------------------------

/** Line triples per Miller-loop iteration (the same for every G2 point: it follows the ate NAF). */
const ATE_COUNTS: readonly number[] = P2_LINES.map((iteration) => iteration.length);

function setUp(): void {
  const base = wasm.init();
  views();
  const p = FIELD_PRIME;
  const R = (1n << R_BITS) % p;
  writePlain(base, R); // ONE
  writePlain(base + FP, (R * R) % p); // R2
  writePlain(base + 2 * FP, 1n); // RAW1
  const frob = base + 3 * FP;
  const xi = Fp2F.NONRESIDUE;
  for (let k = 1; k <= 3; k++) {
    const e = (p ** BigInt(k) - 1n) / 6n;
    for (let j = 1; j <= 5; j++) writeFp2(frob + ((k - 1) * 5 + (j - 1)) * FP2, Fp2F.pow(xi, e * BigInt(j)));
  }
  const pm2 = frob + 15 * FP2;
  for (let i = 0; i < 32; i++) u8[pm2 + i] = Number(((p - 2n) >> BigInt(8 * i)) & 0xffn);
  const unaf = pm2 + 32;
  U_NAF.forEach((d, i) => (u8[unaf + i] = d & 0xff));
  const ate = unaf + 128;
  ATE_COUNTS.forEach((c, i) => (u8[ate + i] = c));
  wasm.setTables(U_NAF.length, ATE_COUNTS.length);
}
setUp();

// ---- G2 line tables ----------------------------------------------------------------------------

const lineTables = new WeakMap<G2Lines, number>();

/** The line table of a prepared G2 point in linear memory (copied once per G2Lines object). */
function linesPointer(lines: G2Lines): number {
  let ptr = lineTables.get(lines);
  if (ptr !== undefined) return ptr;
  if (lines.length !== ATE_COUNTS.length || lines.some((it, i) => it.length !== ATE_COUNTS[i])) {
    throw new Error('fp256bn wasm: G2 line table of an unexpected shape');
  }
  const total = ATE_COUNTS.reduce((a, b) => a + b, 0);
  ptr = alloc(total * 3 * FP2);
  let off = ptr;
  for (const iteration of lines) {
    for (const [c0, c1, c2] of iteration) {
      writeFp2(off, c0);
      writeFp2(off + FP2, c1);
      writeFp2(off + 2 * FP2, c2);
      off += 3 * FP2;
    }
  }
  lineTables.set(lines, ptr);
  return ptr;
}

// ---- pairings ----------------------------------------------------------------------------------

let pairs = 0;
let pairsCapacity = 0;

/** Writes the pair records of the terms whose G1 point is not the identity; returns their count. */
function writePairs(terms: readonly (readonly [G1Point, G2Lines])[]): number {
  const live = terms.filter(([P]) => !P.is0());
  if (live.length > pairsCapacity) {
    pairsCapacity = Math.max(live.length, 8);
    pairs = alloc(pairsCapacity * PAIR_RECORD);
  }
  live.forEach(([P, lines], i) => {
    const rec = pairs + i * PAIR_RECORD;
    const linesPtr = linesPointer(lines);
    const { x, y } = P.toAffine();
    u32[rec >>> 2] = linesPtr;
    writeFp(rec + 8, x);
    writeFp(rec + 8 + FP, y);
  });
  return live.length;
}

/** True when the product of pairings e(P_i, Q_i) equals 1 (the wasm twin of isPairingProductOne). */
export function isPairingProductOneWasm(terms: readonly (readonly [G1Point, G2Lines])[]): boolean {
  const n = writePairs(terms);
  return wasm.pairingProductIsOne(n, pairs) === 1;
}

const F12_A = alloc(FP12);

function writeFp12(ptr: number, f: Fp12): void {
  const parts = [f.c0.c0, f.c0.c1, f.c0.c2, f.c1.c0, f.c1.c1, f.c1.c2];
  parts.forEach((a, i) => writeFp2(ptr + i * FP2, a));
}

function readFp12(ptr: number): Fp12 {
  const at = (i: number): Fp2 => readFp2(ptr + i * FP2);
  return { c0: { c0: at(0), c1: at(1), c2: at(2) }, c1: { c0: at(3), c1: at(4), c2: at(5) } };
}

/** Product of Miller loops without the final exponentiation (the twin of multiMillerLoop). */
export function multiMillerLoopWasm(terms: readonly (readonly [G1Point, G2Lines])[]): Fp12 {
  const n = writePairs(terms);
  wasm.millerLoop(F12_A, n, pairs);
  return readFp12(F12_A);
}

/** The final exponentiation of ../pairing.ts, in wasm. */
export function finalExponentiateWasm(f: Fp12): Fp12 {
  writeFp12(F12_A, f);
  wasm.finalExponentiate(F12_A, F12_A);
  return readFp12(F12_A);
}

// ---- G1 multi-scalar multiplication ------------------------------------------------------------

let msmPoints = 0;
let msmScalars = 0;
let msmWork = 0;
let msmCapacity = 0;
const MSM_OUT = alloc(G1J);
const AFFINE_OUT = alloc(2 * FP);
const SCALAR_LIMIT = CURVE_ORDER;

/** One MSM term in affine coordinates, scalar below 2^256. */
interface Term {
  x: bigint;
  y: bigint;
  k: bigint;
}

const HALF = 1n << 128n;

/**
 * Terms of k*P: scalars of 128 bits or more are split by the GLV endomorphism,
 * k*P = k1*P + k2*phi(P) with phi(x, y) = (beta x, y) = [lambda]P and |k1|, |k2| < 2^128, halving
 * the shared doubling chain; a negative half negates its point.
 */
function termsOf(P: G1Point, k: bigint, out: Term[]): void {
  const { x, y } = P.toAffine();
  if (k < HALF) {
    out.push({ x, y, k });
    return;
  }
  const { k1neg, k1, k2neg, k2 } = _splitEndoScalar(k, GLV_BASIS, CURVE_ORDER);
  const negY = FIELD_PRIME - y;
  if (k1 !== 0n) out.push({ x, y: k1neg ? negY : y, k: k1 });
  if (k2 !== 0n) out.push({ x: (GLV_BETA * x) % FIELD_PRIME, y: k2neg ? negY : y, k: k2 });
}

/**
 * sum_i k_i P_i for public scalars 0 <= k_i < r (variable time). The twin of noble's
 * mulAddUnsafe / multiplyUnsafe.
 */
export function g1MsmWasm(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  if (points.length !== scalars.length)
    throw new RangeError('g1MsmWasm: points and scalars differ in length');
  const terms: Term[] = [];
  for (let i = 0; i < points.length; i++) {
    const k = scalars[i]!;
    if (k < 0n || k >= SCALAR_LIMIT) throw new RangeError('g1MsmWasm: scalar out of range');
    if (k !== 0n && !points[i]!.is0()) termsOf(points[i]!, k, terms);
  }
  if (terms.length === 0) return G1.ZERO;
  if (terms.length > msmCapacity) {
    msmCapacity = Math.max(terms.length, 16);
    msmPoints = alloc(msmCapacity * 2 * FP);
    msmScalars = alloc(msmCapacity * 32);
    msmWork = alloc(msmCapacity * MSM_WORK_PER_POINT);
  }
  terms.forEach(({ x, y, k }, i) => {
    writeFp(msmPoints + i * 2 * FP, x);
    writeFp(msmPoints + i * 2 * FP + FP, y);
    const w = (msmScalars + i * 32) >>> 3;
    u64[w] = k & M64;
    u64[w + 1] = (k >> 64n) & M64;
    u64[w + 2] = (k >> 128n) & M64;
    u64[w + 3] = k >> 192n;
  });
  wasm.g1Msm(MSM_OUT, terms.length, msmPoints, msmScalars, msmWork);
  if (wasm.g1ToAffine(AFFINE_OUT, MSM_OUT) === 0) return G1.ZERO;
  return G1.fromAffine({ x: readFp(AFFINE_OUT), y: readFp(AFFINE_OUT + FP) });
}
