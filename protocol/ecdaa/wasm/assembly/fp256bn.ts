// FP256BN (TPM_ECC_BN_P256) field, tower and pairing arithmetic for WebAssembly, written in
// AssemblyScript. Compiled by scripts/build-ecdaa-wasm.mjs into ../fp256bn-wasm.ts; the TypeScript
// side (../backend.ts) converts values and owns all policy. Parameters: ECDAA-FP256BN.md "Curve".
//
// Representation: an Fp element is 9 little-endian 29-bit limbs in u32 slots (36 bytes), always
// fully reduced below p and in Montgomery form with R = 2^261. Multiplication accumulates 58-bit
// products in 64-bit lanes without carrying (at most 18 products per lane, below 2^63) and
// normalises once at the end (the multi-precision layout Mitscha-Baude used for wasm MSM); fpMul
// is that loop fully unrolled (rows i = 0..8, one reduction digit q per row, lanes shifted down).
// Fp2 = Fp[i]/(i^2+1), Fp6 = Fp2[v]/(v^3-xi) with xi = 1+i, Fp12 = Fp6[w]/(w^2-v): the same tower
// as @noble/curves' tower12, so element layouts map one to one (c0, c1[, c2]).
//
// Every function takes pointers into linear memory and is safe when the output aliases an input.
// Temporaries are static scratch areas taken once in init(); nothing here recurses or re-enters.
// Variable-time throughout: only public values (verification) pass through this module.

const MASK: u64 = 0x1fffffff;
const MU: u64 = 0x537e5e5; // -p^-1 mod 2^29
const P0: u64 = 0xed33013;
const P1: u64 = 0x19496edd;
const P2: u64 = 0x602a0b4;
const P3: u64 = 0x18cbf625;
const P4: u64 = 0x1a49f0cd;
const P5: u64 = 0x192f7738;
const P6: u64 = 0x3351b97;
const P7: u64 = 0x1fffff9e;
const P8: u64 = 0xffffff;

const FP: usize = 36;
const FP2: usize = 72;
const FP6: usize = 216;
const FP12: usize = 432;
const G1J: usize = 108; // Jacobian X, Y, Z

// ---- memory ---------------------------------------------------------------------------------

/** Bump allocation (never freed); the TypeScript side takes its long-lived buffers here. */
export function alloc(size: usize): usize {
  const ptr = heap.alloc((size + 7) & ~7);
  memory.fill(ptr, 0, size);
  return ptr;
}

// Constants written by the host in init order (Montgomery form): see ../index.ts.
let ONE: usize = 0; // R mod p
let R2: usize = 0; // R^2 mod p (to enter Montgomery form)
let RAW1: usize = 0; // the integer 1 (to leave Montgomery form)
let FROB: usize = 0; // gamma[k][j] = xi^(j(p^k-1)/6), k = 1..3, j = 1..5 (15 Fp2)
let UNAF: usize = 0; // signed digits of |u|, most significant first (i8)
let UNAF_LEN: i32 = 0;
let PM2: usize = 0; // p - 2 as 32 bytes little-endian (Fermat inversion)
let ATE: usize = 0; // lines per Miller-loop iteration (u8)
let ATE_LEN: i32 = 0;

// ---- Fp -------------------------------------------------------------------------------------

@inline
function normalizeStore(
  r: usize,
  t0: u64,
  t1: u64,
  t2: u64,
  t3: u64,
  t4: u64,
  t5: u64,
  t6: u64,
  t7: u64,
): void {
  t1 += t0 >> 29;
  t2 += t1 >> 29;
  t3 += t2 >> 29;
  t4 += t3 >> 29;
  t5 += t4 >> 29;
  t6 += t5 >> 29;
  t7 += t6 >> 29;
  const t8 = t7 >> 29;
  finishStore(r, t0 & MASK, t1 & MASK, t2 & MASK, t3 & MASK, t4 & MASK, t5 & MASK, t6 & MASK, t7 & MASK, t8);
}

/** Stores r = v mod p for normalised limbs v < 2p (one conditional subtraction). */
@inline
function finishStore(
  r: usize,
  v0: u64,
  v1: u64,
  v2: u64,
  v3: u64,
  v4: u64,
  v5: u64,
  v6: u64,
  v7: u64,
  v8: u64,
): void {
  let d0 = <i64>v0 - <i64>P0;
  let d1 = <i64>v1 - <i64>P1 + (d0 >> 29);
  let d2 = <i64>v2 - <i64>P2 + (d1 >> 29);
  let d3 = <i64>v3 - <i64>P3 + (d2 >> 29);
  let d4 = <i64>v4 - <i64>P4 + (d3 >> 29);
  let d5 = <i64>v5 - <i64>P5 + (d4 >> 29);
  let d6 = <i64>v6 - <i64>P6 + (d5 >> 29);
  let d7 = <i64>v7 - <i64>P7 + (d6 >> 29);
  let d8 = <i64>v8 - <i64>P8 + (d7 >> 29);
  if (d8 >= 0) {
    store<u32>(r, <u32>(d0 & <i64>MASK), 0);
    store<u32>(r, <u32>(d1 & <i64>MASK), 4);
    store<u32>(r, <u32>(d2 & <i64>MASK), 8);
    store<u32>(r, <u32>(d3 & <i64>MASK), 12);
    store<u32>(r, <u32>(d4 & <i64>MASK), 16);
    store<u32>(r, <u32>(d5 & <i64>MASK), 20);
    store<u32>(r, <u32>(d6 & <i64>MASK), 24);
    store<u32>(r, <u32>(d7 & <i64>MASK), 28);
    store<u32>(r, <u32>d8, 32);
  } else {
    store<u32>(r, <u32>v0, 0);
    store<u32>(r, <u32>v1, 4);
    store<u32>(r, <u32>v2, 8);
    store<u32>(r, <u32>v3, 12);
    store<u32>(r, <u32>v4, 16);
    store<u32>(r, <u32>v5, 20);
    store<u32>(r, <u32>v6, 24);
    store<u32>(r, <u32>v7, 28);
    store<u32>(r, <u32>v8, 32);
  }
}

/** r = a * b * R^-1 mod p (CIOS with lazy carries, unrolled: see the file comment). */
export function fpMul(r: usize, a: usize, b: usize): void {
  const a0: u64 = load<u32>(a, 0);
  const a1: u64 = load<u32>(a, 4);
  const a2: u64 = load<u32>(a, 8);
  const a3: u64 = load<u32>(a, 12);
  const a4: u64 = load<u32>(a, 16);
  const a5: u64 = load<u32>(a, 20);
  const a6: u64 = load<u32>(a, 24);
  const a7: u64 = load<u32>(a, 28);
  const a8: u64 = load<u32>(a, 32);
  const b0: u64 = load<u32>(b, 0);
  const b1: u64 = load<u32>(b, 4);
  const b2: u64 = load<u32>(b, 8);
  const b3: u64 = load<u32>(b, 12);
  const b4: u64 = load<u32>(b, 16);
  const b5: u64 = load<u32>(b, 20);
  const b6: u64 = load<u32>(b, 24);
  const b7: u64 = load<u32>(b, 28);
  const b8: u64 = load<u32>(b, 32);
  let t0: u64 = 0;
  let t1: u64 = 0;
  let t2: u64 = 0;
  let t3: u64 = 0;
  let t4: u64 = 0;
  let t5: u64 = 0;
  let t6: u64 = 0;
  let t7: u64 = 0;
  let x: u64, q: u64;
  // row 0
  x = t0 + a0 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a0 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a0 * b2 + q * P2;
  t2 = t3 + a0 * b3 + q * P3;
  t3 = t4 + a0 * b4 + q * P4;
  t4 = t5 + a0 * b5 + q * P5;
  t5 = t6 + a0 * b6 + q * P6;
  t6 = t7 + a0 * b7 + q * P7;
  t7 = a0 * b8 + q * P8;
  // row 1
  x = t0 + a1 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a1 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a1 * b2 + q * P2;
  t2 = t3 + a1 * b3 + q * P3;
  t3 = t4 + a1 * b4 + q * P4;
  t4 = t5 + a1 * b5 + q * P5;
  t5 = t6 + a1 * b6 + q * P6;
  t6 = t7 + a1 * b7 + q * P7;
  t7 = a1 * b8 + q * P8;
  // row 2
  x = t0 + a2 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a2 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a2 * b2 + q * P2;
  t2 = t3 + a2 * b3 + q * P3;
  t3 = t4 + a2 * b4 + q * P4;
  t4 = t5 + a2 * b5 + q * P5;
  t5 = t6 + a2 * b6 + q * P6;
  t6 = t7 + a2 * b7 + q * P7;
  t7 = a2 * b8 + q * P8;
  // row 3
  x = t0 + a3 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a3 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a3 * b2 + q * P2;
  t2 = t3 + a3 * b3 + q * P3;
  t3 = t4 + a3 * b4 + q * P4;
  t4 = t5 + a3 * b5 + q * P5;
  t5 = t6 + a3 * b6 + q * P6;
  t6 = t7 + a3 * b7 + q * P7;
  t7 = a3 * b8 + q * P8;
  // row 4
  x = t0 + a4 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a4 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a4 * b2 + q * P2;
  t2 = t3 + a4 * b3 + q * P3;
  t3 = t4 + a4 * b4 + q * P4;
  t4 = t5 + a4 * b5 + q * P5;
  t5 = t6 + a4 * b6 + q * P6;
  t6 = t7 + a4 * b7 + q * P7;
  t7 = a4 * b8 + q * P8;
  // row 5
  x = t0 + a5 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a5 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a5 * b2 + q * P2;
  t2 = t3 + a5 * b3 + q * P3;
  t3 = t4 + a5 * b4 + q * P4;
  t4 = t5 + a5 * b5 + q * P5;
  t5 = t6 + a5 * b6 + q * P6;
  t6 = t7 + a5 * b7 + q * P7;
  t7 = a5 * b8 + q * P8;
  // row 6
  x = t0 + a6 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a6 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a6 * b2 + q * P2;
  t2 = t3 + a6 * b3 + q * P3;
  t3 = t4 + a6 * b4 + q * P4;
  t4 = t5 + a6 * b5 + q * P5;
  t5 = t6 + a6 * b6 + q * P6;
  t6 = t7 + a6 * b7 + q * P7;
  t7 = a6 * b8 + q * P8;
  // row 7
  x = t0 + a7 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a7 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a7 * b2 + q * P2;
  t2 = t3 + a7 * b3 + q * P3;
  t3 = t4 + a7 * b4 + q * P4;
  t4 = t5 + a7 * b5 + q * P5;
  t5 = t6 + a7 * b6 + q * P6;
  t6 = t7 + a7 * b7 + q * P7;
  t7 = a7 * b8 + q * P8;
  // row 8
  x = t0 + a8 * b0;
  q = ((x & MASK) * MU) & MASK;
  x += q * P0;
  t0 = t1 + a8 * b1 + q * P1 + (x >> 29);
  t1 = t2 + a8 * b2 + q * P2;
  t2 = t3 + a8 * b3 + q * P3;
  t3 = t4 + a8 * b4 + q * P4;
  t4 = t5 + a8 * b5 + q * P5;
  t5 = t6 + a8 * b6 + q * P6;
  t6 = t7 + a8 * b7 + q * P7;
  t7 = a8 * b8 + q * P8;
  normalizeStore(r, t0, t1, t2, t3, t4, t5, t6, t7);
}

/**
 * r = a^2 * R^-1 mod p: the 45 distinct limb products (cross products doubled) summed by
 * column, then the same lazy Montgomery reduction as fpMul, one column at a time (unrolled).
 */
export function fpSqr(r: usize, a: usize): void {
  const a0: u64 = load<u32>(a, 0);
  const a1: u64 = load<u32>(a, 4);
  const a2: u64 = load<u32>(a, 8);
  const a3: u64 = load<u32>(a, 12);
  const a4: u64 = load<u32>(a, 16);
  const a5: u64 = load<u32>(a, 20);
  const a6: u64 = load<u32>(a, 24);
  const a7: u64 = load<u32>(a, 28);
  const a8: u64 = load<u32>(a, 32);
  const d0: u64 = a0 << 1;
  const d1: u64 = a1 << 1;
  const d2: u64 = a2 << 1;
  const d3: u64 = a3 << 1;
  const d4: u64 = a4 << 1;
  const d5: u64 = a5 << 1;
  const d6: u64 = a6 << 1;
  const d7: u64 = a7 << 1;
  const d8: u64 = a8 << 1;
  let c0: u64 = a0 * a0;
  let c1: u64 = d0 * a1;
  let c2: u64 = d0 * a2 + a1 * a1;
  let c3: u64 = d0 * a3 + d1 * a2;
  let c4: u64 = d0 * a4 + d1 * a3 + a2 * a2;
  let c5: u64 = d0 * a5 + d1 * a4 + d2 * a3;
  let c6: u64 = d0 * a6 + d1 * a5 + d2 * a4 + a3 * a3;
  let c7: u64 = d0 * a7 + d1 * a6 + d2 * a5 + d3 * a4;
  let c8: u64 = d0 * a8 + d1 * a7 + d2 * a6 + d3 * a5 + a4 * a4;
  let c9: u64 = d1 * a8 + d2 * a7 + d3 * a6 + d4 * a5;
  let c10: u64 = d2 * a8 + d3 * a7 + d4 * a6 + a5 * a5;
  let c11: u64 = d3 * a8 + d4 * a7 + d5 * a6;
  let c12: u64 = d4 * a8 + d5 * a7 + a6 * a6;
  let c13: u64 = d5 * a8 + d6 * a7;
  let c14: u64 = d6 * a8 + a7 * a7;
  let c15: u64 = d7 * a8;
  let c16: u64 = a8 * a8;
  let q: u64;
  q = ((c0 & MASK) * MU) & MASK;
  c1 += q * P1 + ((c0 + q * P0) >> 29);
  c2 += q * P2;
  c3 += q * P3;
  c4 += q * P4;
  c5 += q * P5;
  c6 += q * P6;
  c7 += q * P7;
  c8 += q * P8;
  q = ((c1 & MASK) * MU) & MASK;
  c2 += q * P1 + ((c1 + q * P0) >> 29);
  c3 += q * P2;
  c4 += q * P3;
  c5 += q * P4;
  c6 += q * P5;
  c7 += q * P6;
  c8 += q * P7;
  c9 += q * P8;
  q = ((c2 & MASK) * MU) & MASK;
  c3 += q * P1 + ((c2 + q * P0) >> 29);
  c4 += q * P2;
  c5 += q * P3;
  c6 += q * P4;
  c7 += q * P5;
  c8 += q * P6;
  c9 += q * P7;
  c10 += q * P8;
  q = ((c3 & MASK) * MU) & MASK;
  c4 += q * P1 + ((c3 + q * P0) >> 29);
  c5 += q * P2;
  c6 += q * P3;
  c7 += q * P4;
  c8 += q * P5;
  c9 += q * P6;
  c10 += q * P7;
  c11 += q * P8;
  q = ((c4 & MASK) * MU) & MASK;
  c5 += q * P1 + ((c4 + q * P0) >> 29);
  c6 += q * P2;
  c7 += q * P3;
  c8 += q * P4;
  c9 += q * P5;
  c10 += q * P6;
  c11 += q * P7;
  c12 += q * P8;
  q = ((c5 & MASK) * MU) & MASK;
  c6 += q * P1 + ((c5 + q * P0) >> 29);
  c7 += q * P2;
  c8 += q * P3;
  c9 += q * P4;
  c10 += q * P5;
  c11 += q * P6;
  c12 += q * P7;
  c13 += q * P8;
  q = ((c6 & MASK) * MU) & MASK;
  c7 += q * P1 + ((c6 + q * P0) >> 29);
  c8 += q * P2;
  c9 += q * P3;
  c10 += q * P4;
  c11 += q * P5;
  c12 += q * P6;
  c13 += q * P7;
  c14 += q * P8;
  q = ((c7 & MASK) * MU) & MASK;
  c8 += q * P1 + ((c7 + q * P0) >> 29);
  c9 += q * P2;
  c10 += q * P3;
  c11 += q * P4;
  c12 += q * P5;
  c13 += q * P6;
  c14 += q * P7;
  c15 += q * P8;
  q = ((c8 & MASK) * MU) & MASK;
  c9 += q * P1 + ((c8 + q * P0) >> 29);
  c10 += q * P2;
  c11 += q * P3;
  c12 += q * P4;
  c13 += q * P5;
  c14 += q * P6;
  c15 += q * P7;
  c16 += q * P8;
  normalizeStore(r, c9, c10, c11, c12, c13, c14, c15, c16);
}

export function fpAdd(r: usize, a: usize, b: usize): void {
  let c: u64 = <u64>load<u32>(a, 0) + <u64>load<u32>(b, 0);
  const v0 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 4) + <u64>load<u32>(b, 4);
  const v1 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 8) + <u64>load<u32>(b, 8);
  const v2 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 12) + <u64>load<u32>(b, 12);
  const v3 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 16) + <u64>load<u32>(b, 16);
  const v4 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 20) + <u64>load<u32>(b, 20);
  const v5 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 24) + <u64>load<u32>(b, 24);
  const v6 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 28) + <u64>load<u32>(b, 28);
  const v7 = c & MASK;
  c = (c >> 29) + <u64>load<u32>(a, 32) + <u64>load<u32>(b, 32);
  finishStore(r, v0, v1, v2, v3, v4, v5, v6, v7, c);
}

export function fpSub(r: usize, a: usize, b: usize): void {
  let d: i64 = <i64>load<u32>(a, 0) - <i64>load<u32>(b, 0);
  let v0 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 4) - <i64>load<u32>(b, 4);
  let v1 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 8) - <i64>load<u32>(b, 8);
  let v2 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 12) - <i64>load<u32>(b, 12);
  let v3 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 16) - <i64>load<u32>(b, 16);
  let v4 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 20) - <i64>load<u32>(b, 20);
  let v5 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 24) - <i64>load<u32>(b, 24);
  let v6 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 28) - <i64>load<u32>(b, 28);
  let v7 = d & <i64>MASK;
  d = (d >> 29) + <i64>load<u32>(a, 32) - <i64>load<u32>(b, 32);
  let v8 = d;
  if (v8 < 0) {
    // a - b + p
    d = v0 + <i64>P0;
    v0 = d & <i64>MASK;
    d = (d >> 29) + v1 + <i64>P1;
    v1 = d & <i64>MASK;
    d = (d >> 29) + v2 + <i64>P2;
    v2 = d & <i64>MASK;
    d = (d >> 29) + v3 + <i64>P3;
    v3 = d & <i64>MASK;
    d = (d >> 29) + v4 + <i64>P4;
    v4 = d & <i64>MASK;
    d = (d >> 29) + v5 + <i64>P5;
    v5 = d & <i64>MASK;
    d = (d >> 29) + v6 + <i64>P6;
    v6 = d & <i64>MASK;
    d = (d >> 29) + v7 + <i64>P7;
    v7 = d & <i64>MASK;
    v8 = (d >> 29) + v8 + <i64>P8;
  }
  store<u32>(r, <u32>v0, 0);
  store<u32>(r, <u32>v1, 4);
  store<u32>(r, <u32>v2, 8);
  store<u32>(r, <u32>v3, 12);
  store<u32>(r, <u32>v4, 16);
  store<u32>(r, <u32>v5, 20);
  store<u32>(r, <u32>v6, 24);
  store<u32>(r, <u32>v7, 28);
  store<u32>(r, <u32>v8, 32);
}

let ZERO: usize = 0;

@inline
function fpNeg(r: usize, a: usize): void {
  fpSub(r, ZERO, a);
}

@inline
function fpCopy(r: usize, a: usize): void {
  memory.copy(r, a, FP);
}

function fpIsZero(a: usize): bool {
  let acc: u32 = 0;
  for (let i: usize = 0; i < FP; i += 4) acc |= load<u32>(a + i);
  return acc == 0;
}

function fpEq(a: usize, b: usize): bool {
  for (let i: usize = 0; i < FP; i += 4) if (load<u32>(a + i) != load<u32>(b + i)) return false;
  return true;
}

let INV_T: usize = 0;

/** r = a^-1 (Fermat, a^(p-2)); 0 maps to 0. */
export function fpInv(r: usize, a: usize): void {
  const t = INV_T;
  fpCopy(t, ONE);
  for (let i: i32 = 255; i >= 0; i--) {
    fpSqr(t, t);
    const byte = load<u8>(PM2 + <usize>(i >> 3));
    if ((byte >> (<u8>(i & 7))) & 1) fpMul(t, t, a);
  }
  fpCopy(r, t);
}

/** r = the integer given as 4 little-endian u64 words at w (below p), in Montgomery form. */
export function fpFromWords(r: usize, w: usize): void {
  const w0 = load<u64>(w),
    w1 = load<u64>(w, 8),
    w2 = load<u64>(w, 16),
    w3 = load<u64>(w, 24);
  store<u32>(r, <u32>(w0 & MASK), 0);
  store<u32>(r, <u32>((w0 >> 29) & MASK), 4);
  store<u32>(r, <u32>(((w0 >> 58) | (w1 << 6)) & MASK), 8);
  store<u32>(r, <u32>((w1 >> 23) & MASK), 12);
  store<u32>(r, <u32>(((w1 >> 52) | (w2 << 12)) & MASK), 16);
  store<u32>(r, <u32>((w2 >> 17) & MASK), 20);
  store<u32>(r, <u32>(((w2 >> 46) | (w3 << 18)) & MASK), 24);
  store<u32>(r, <u32>((w3 >> 11) & MASK), 28);
  store<u32>(r, <u32>(w3 >> 40), 32);
  fpMul(r, r, R2);
}

/** The inverse of fpFromWords: 4 little-endian u64 words of a (leaving Montgomery form). */
export function fpToWords(w: usize, a: usize): void {
  const t = INV_T;
  fpMul(t, a, RAW1);
  const l0 = <u64>load<u32>(t, 0),
    l1 = <u64>load<u32>(t, 4),
    l2 = <u64>load<u32>(t, 8),
    l3 = <u64>load<u32>(t, 12),
    l4 = <u64>load<u32>(t, 16),
    l5 = <u64>load<u32>(t, 20),
    l6 = <u64>load<u32>(t, 24),
    l7 = <u64>load<u32>(t, 28),
    l8 = <u64>load<u32>(t, 32);
  store<u64>(w, l0 | (l1 << 29) | (l2 << 58), 0);
  store<u64>(w, (l2 >> 6) | (l3 << 23) | (l4 << 52), 8);
  store<u64>(w, (l4 >> 12) | (l5 << 17) | (l6 << 46), 16);
  store<u64>(w, (l6 >> 18) | (l7 << 11) | (l8 << 40), 24);
}

// ---- Fp2 ------------------------------------------------------------------------------------

let F2A: usize = 0;
let F2B: usize = 0;
let F2C: usize = 0;
let F2D: usize = 0;

export function fp2Add(r: usize, a: usize, b: usize): void {
  fpAdd(r, a, b);
  fpAdd(r + FP, a + FP, b + FP);
}
export function fp2Sub(r: usize, a: usize, b: usize): void {
  fpSub(r, a, b);
  fpSub(r + FP, a + FP, b + FP);
}
function fp2Neg(r: usize, a: usize): void {
  fpNeg(r, a);
  fpNeg(r + FP, a + FP);
}
function fp2Dbl(r: usize, a: usize): void {
  fpAdd(r, a, a);
  fpAdd(r + FP, a + FP, a + FP);
}
function fp2Copy(r: usize, a: usize): void {
  memory.copy(r, a, FP2);
}
function fp2Conj(r: usize, a: usize): void {
  fpCopy(r, a);
  fpNeg(r + FP, a + FP);
}

/** Karatsuba: (a0 + a1 i)(b0 + b1 i) = a0b0 - a1b1 + ((a0+a1)(b0+b1) - a0b0 - a1b1) i. */
export function fp2Mul(r: usize, a: usize, b: usize): void {
  fpMul(F2A, a, b);
  fpMul(F2B, a + FP, b + FP);
  fpAdd(F2C, a, a + FP);
  fpAdd(F2D, b, b + FP);
  fpMul(F2C, F2C, F2D);
  fpSub(r, F2A, F2B);
  fpSub(F2C, F2C, F2A);
  fpSub(r + FP, F2C, F2B);
}

/** (a0 + a1 i)^2 = (a0+a1)(a0-a1) + 2 a0 a1 i. */
export function fp2Sqr(r: usize, a: usize): void {
  fpAdd(F2A, a, a + FP);
  fpSub(F2B, a, a + FP);
  fpAdd(F2C, a, a);
  fpMul(r + FP, F2C, a + FP);
  fpMul(r, F2A, F2B);
}

function fp2MulFp(r: usize, a: usize, s: usize): void {
  fpMul(r, a, s);
  fpMul(r + FP, a + FP, s);
}

/** Multiplication by xi = 1 + i: (a0 - a1) + (a0 + a1) i. */
function fp2MulNr(r: usize, a: usize): void {
  fpSub(F2A, a, a + FP);
  fpAdd(r + FP, a, a + FP);
  fpCopy(r, F2A);
}

function fp2Inv(r: usize, a: usize): void {
  fpSqr(F2A, a);
  fpSqr(F2B, a + FP);
  fpAdd(F2A, F2A, F2B);
  fpInv(F2A, F2A);
  fpMul(r, a, F2A);
  fpMul(F2B, a + FP, F2A);
  fpNeg(r + FP, F2B);
}

// ---- Fp6 ------------------------------------------------------------------------------------

let F6: usize = 0; // 8 Fp2 scratch slots

@inline
function s6(i: usize): usize {
  return F6 + i * FP2;
}

function fp6Add(r: usize, a: usize, b: usize): void {
  fp2Add(r, a, b);
  fp2Add(r + FP2, a + FP2, b + FP2);
  fp2Add(r + 2 * FP2, a + 2 * FP2, b + 2 * FP2);
}
function fp6Sub(r: usize, a: usize, b: usize): void {
  fp2Sub(r, a, b);
  fp2Sub(r + FP2, a + FP2, b + FP2);
  fp2Sub(r + 2 * FP2, a + 2 * FP2, b + 2 * FP2);
}
function fp6Neg(r: usize, a: usize): void {
  fp2Neg(r, a);
  fp2Neg(r + FP2, a + FP2);
  fp2Neg(r + 2 * FP2, a + 2 * FP2);
}

/** Multiplication by v: (c0, c1, c2) -> (xi c2, c0, c1). */
function fp6MulNr(r: usize, a: usize): void {
  const t = s6(7);
  fp2MulNr(t, a + 2 * FP2);
  fp2Copy(r + 2 * FP2, a + FP2);
  fp2Copy(r + FP2, a);
  fp2Copy(r, t);
}

function fp6Mul(r: usize, a: usize, b: usize): void {
  const a0 = a,
    a1 = a + FP2,
    a2 = a + 2 * FP2;
  const b0 = b,
    b1 = b + FP2,
    b2 = b + 2 * FP2;
  const t0 = s6(0),
    t1 = s6(1),
    t2 = s6(2),
    u = s6(3),
    w = s6(4),
    c0 = s6(5),
    c1 = s6(6);
  fp2Mul(t0, a0, b0);
  fp2Mul(t1, a1, b1);
  fp2Mul(t2, a2, b2);
  // c0 = t0 + xi((a1+a2)(b1+b2) - t1 - t2)
  fp2Add(u, a1, a2);
  fp2Add(w, b1, b2);
  fp2Mul(u, u, w);
  fp2Sub(u, u, t1);
  fp2Sub(u, u, t2);
  fp2MulNr(u, u);
  fp2Add(c0, t0, u);
  // c1 = (a0+a1)(b0+b1) - t0 - t1 + xi t2
  fp2Add(u, a0, a1);
  fp2Add(w, b0, b1);
  fp2Mul(u, u, w);
  fp2Sub(u, u, t0);
  fp2Sub(u, u, t1);
  fp2MulNr(w, t2);
  fp2Add(c1, u, w);
  // c2 = (a0+a2)(b0+b2) - t0 - t2 + t1
  fp2Add(u, a0, a2);
  fp2Add(w, b0, b2);
  fp2Mul(u, u, w);
  fp2Sub(u, u, t0);
  fp2Sub(u, u, t2);
  fp2Add(r + 2 * FP2, u, t1);
  fp2Copy(r, c0);
  fp2Copy(r + FP2, c1);
}

function fp6Sqr(r: usize, a: usize): void {
  const c0 = a,
    c1 = a + FP2,
    c2 = a + 2 * FP2;
  const t0 = s6(0),
    t1 = s6(1),
    t3 = s6(2),
    t4 = s6(3),
    u = s6(4);
  fp2Sqr(t0, c0);
  fp2Mul(t1, c0, c1);
  fp2Dbl(t1, t1);
  fp2Mul(t3, c1, c2);
  fp2Dbl(t3, t3);
  fp2Sqr(t4, c2);
  // c2' = t1 + (c0 - c1 + c2)^2 + t3 - t0 - t4
  fp2Sub(u, c0, c1);
  fp2Add(u, u, c2);
  fp2Sqr(u, u);
  fp2Add(u, u, t1);
  fp2Add(u, u, t3);
  fp2Sub(u, u, t0);
  fp2Sub(r + 2 * FP2, u, t4);
  // c0' = xi t3 + t0, c1' = xi t4 + t1
  fp2MulNr(t3, t3);
  fp2Add(r, t3, t0);
  fp2MulNr(t4, t4);
  fp2Add(r + FP2, t4, t1);
}

function fp6Inv(r: usize, a: usize): void {
  const c0 = a,
    c1 = a + FP2,
    c2 = a + 2 * FP2;
  const t0 = s6(0),
    t1 = s6(1),
    t2 = s6(2),
    u = s6(3),
    w = s6(4);
  // t0 = c0^2 - xi c2 c1; t1 = xi c2^2 - c0 c1; t2 = c1^2 - c0 c2
  fp2Sqr(t0, c0);
  fp2Mul(u, c2, c1);
  fp2MulNr(u, u);
  fp2Sub(t0, t0, u);
  fp2Sqr(t1, c2);
  fp2MulNr(t1, t1);
  fp2Mul(u, c0, c1);
  fp2Sub(t1, t1, u);
  fp2Sqr(t2, c1);
  fp2Mul(u, c0, c2);
  fp2Sub(t2, t2, u);
  // t4 = 1 / (xi (c2 t1 + c1 t2) + c0 t0)
  fp2Mul(u, c2, t1);
  fp2Mul(w, c1, t2);
  fp2Add(u, u, w);
  fp2MulNr(u, u);
  fp2Mul(w, c0, t0);
  fp2Add(u, u, w);
  fp2Inv(u, u);
  fp2Mul(r, t0, u);
  fp2Mul(r + FP2, t1, u);
  fp2Mul(r + 2 * FP2, t2, u);
}

// ---- Fp12 -----------------------------------------------------------------------------------

let F12: usize = 0; // 4 Fp6 scratch slots
let F12B: usize = 0; // 9 Fp2 scratch slots (sparse and cyclotomic)

@inline
function s12(i: usize): usize {
  return F12 + i * FP6;
}
@inline
function s2(i: usize): usize {
  return F12B + i * FP2;
}

export function fp12Copy(r: usize, a: usize): void {
  memory.copy(r, a, FP12);
}

export function fp12SetOne(r: usize): void {
  memory.fill(r, 0, FP12);
  fpCopy(r, ONE);
}

export function fp12Mul(r: usize, a: usize, b: usize): void {
  const t1 = s12(0),
    t2 = s12(1),
    u = s12(2),
    w = s12(3);
  fp6Mul(t1, a, b);
  fp6Mul(t2, a + FP6, b + FP6);
  fp6Add(u, a, a + FP6);
  fp6Add(w, b, b + FP6);
  fp6Mul(u, u, w);
  fp6Sub(u, u, t1);
  fp6Sub(r + FP6, u, t2);
  fp6MulNr(t2, t2);
  fp6Add(r, t1, t2);
}

export function fp12Sqr(r: usize, a: usize): void {
  const ab = s12(0),
    u = s12(1),
    w = s12(2);
  fp6Mul(ab, a, a + FP6);
  // c0 = (xi c1 + c0)(c0 + c1) - ab - v ab; c1 = 2 ab
  fp6MulNr(u, a + FP6);
  fp6Add(u, u, a);
  fp6Add(w, a, a + FP6);
  fp6Mul(u, u, w);
  fp6Sub(u, u, ab);
  fp6MulNr(w, ab);
  fp6Sub(r, u, w);
  fp6Add(r + FP6, ab, ab);
}

export function fp12Conj(r: usize, a: usize): void {
  if (r != a) memory.copy(r, a, FP6);
  fp6Neg(r + FP6, a + FP6);
}

export function fp12Inv(r: usize, a: usize): void {
  const t = s12(2),
    u = s12(3);
  // t = 1 / (c0^2 - v c1^2)
  fp6Sqr(t, a);
  fp6Sqr(u, a + FP6);
  fp6MulNr(u, u);
  fp6Sub(t, t, u);
  fp6Inv(t, t);
  fp6Mul(r, a, t);
  fp6Mul(r + FP6, a + FP6, t);
  fp6Neg(r + FP6, r + FP6);
}

// Slot of w^j in the Fp12 layout: j even -> c0.c(j/2), j odd -> c1.c((j-1)/2).
@inline
function wSlot(j: usize): usize {
  return (j & 1) * FP6 + (j >> 1) * FP2;
}

/** r = a^(p^k), k = 1, 2, 3: conjugate each Fp2 coefficient k times, scale w^j by gamma[k][j]. */
export function fp12Frob(r: usize, a: usize, k: i32): void {
  for (let j: usize = 0; j < 6; j++) {
    const src = a + wSlot(j);
    const dst = r + wSlot(j);
    if (k & 1) fp2Conj(dst, src);
    else if (dst != src) fp2Copy(dst, src);
    if (j > 0) fp2Mul(dst, dst, FROB + ((<usize>(k - 1)) * 5 + (j - 1)) * FP2);
  }
}

/** (a + b w')^2 in Fp4 = Fp2[w']/(w'^2 - xi): first = xi b^2 + a^2, second = 2ab. */
@inline
function fp4Sqr(first: usize, second: usize, a: usize, b: usize): void {
  const a2 = s2(6),
    b2 = s2(7),
    t = s2(8);
  fp2Sqr(a2, a);
  fp2Sqr(b2, b);
  fp2Add(t, a, b);
  fp2Sqr(t, t);
  fp2Sub(t, t, a2);
  fp2Sub(second, t, b2);
  fp2MulNr(b2, b2);
  fp2Add(first, b2, a2);
}

// 3x + 2(y - z) style combinations of the Granger-Scott squaring.
@inline
function gsMinus(r: usize, t: usize, c: usize): void {
  const u = s2(8);
  fp2Sub(u, t, c);
  fp2Dbl(u, u);
  fp2Add(r, u, t);
}
@inline
function gsPlus(r: usize, t: usize, c: usize): void {
  const u = s2(8);
  fp2Add(u, t, c);
  fp2Dbl(u, u);
  fp2Add(r, u, t);
}

/** Granger-Scott squaring, valid in the cyclotomic subgroup (after the easy part). */
export function fp12CycSqr(r: usize, a: usize): void {
  const c0c0 = a,
    c0c1 = a + FP2,
    c0c2 = a + 2 * FP2;
  const c1c0 = a + FP6,
    c1c1 = a + FP6 + FP2,
    c1c2 = a + FP6 + 2 * FP2;
  const t3 = s2(0),
    t4 = s2(1),
    t5 = s2(2),
    t6 = s2(3),
    t7 = s2(4),
    t8 = s2(5);
  fp4Sqr(t3, t4, c0c0, c1c1);
  fp4Sqr(t5, t6, c1c0, c0c2);
  fp4Sqr(t7, t8, c0c1, c1c2);
  fp2MulNr(t8, t8); // t9
  gsMinus(r, t3, c0c0);
  gsMinus(r + FP2, t5, c0c1);
  gsMinus(r + 2 * FP2, t7, c0c2);
  gsPlus(r + FP6, t8, c1c0);
  gsPlus(r + FP6 + FP2, t4, c1c1);
  gsPlus(r + FP6 + 2 * FP2, t6, c1c2);
}

/** Sparse Fp6 product a * (o0 + o1 v). */
function fp6Mul01(r: usize, a: usize, o0: usize, o1: usize): void {
  const a0 = a,
    a1 = a + FP2,
    a2 = a + 2 * FP2;
  const t0 = s6(0),
    t1 = s6(1),
    u = s6(2),
    w = s6(3),
    c0 = s6(4),
    c1 = s6(5);
  fp2Mul(t0, a0, o0);
  fp2Mul(t1, a1, o1);
  // c0 = xi((a1 + a2) o1 - t1) + t0
  fp2Add(u, a1, a2);
  fp2Mul(u, u, o1);
  fp2Sub(u, u, t1);
  fp2MulNr(u, u);
  fp2Add(c0, u, t0);
  // c1 = (o0 + o1)(a0 + a1) - t0 - t1
  fp2Add(u, o0, o1);
  fp2Add(w, a0, a1);
  fp2Mul(u, u, w);
  fp2Sub(u, u, t0);
  fp2Sub(c1, u, t1);
  // c2 = (a0 + a2) o0 - t0 + t1
  fp2Add(u, a0, a2);
  fp2Mul(u, u, o0);
  fp2Sub(u, u, t0);
  fp2Add(r + 2 * FP2, u, t1);
  fp2Copy(r, c0);
  fp2Copy(r + FP2, c1);
}

/** Sparse Fp6 product a * (o1 v) ... as noble's mul1: (xi a2 o, a0 o, a1 o). */
function fp6Mul1(r: usize, a: usize, o: usize): void {
  const t = s6(6);
  fp2Mul(t, a + 2 * FP2, o);
  fp2MulNr(t, t);
  fp2Mul(r + 2 * FP2, a + FP2, o);
  fp2Mul(r + FP2, a, o);
  fp2Copy(r, t);
}

let LN: usize = 0; // 4 Fp2 slots for a line

/** f *= (o0 + o1 v) + (o4 v) w: the line of an M-type twist evaluated at P (mul014). */
function fp12Mul014(f: usize, o0: usize, o1: usize, o4: usize): void {
  const t0 = s12(0),
    t1 = s12(1),
    sum = s12(2),
    t2 = s12(3);
  const o14 = LN + 3 * FP2;
  fp6Mul01(t0, f, o0, o1);
  fp6Mul1(t1, f + FP6, o4);
  fp6Add(sum, f, f + FP6);
  fp2Add(o14, o1, o4);
  fp6Mul01(t2, sum, o0, o14);
  // c1 = t2 - t0 - t1; c0 = t0 + v t1
  fp6Sub(t2, t2, t0);
  fp6Sub(f + FP6, t2, t1);
  fp6MulNr(t1, t1);
  fp6Add(f, t0, t1);
}

// ---- Miller loop and final exponentiation ----------------------------------------------------

/**
 * f = conj(prod_i f_{Q_i, P_i}) over precomputed G2 lines. `pairs` holds n records of
 * (lines pointer u32, pad u32, Px Fp, Py Fp) = 80 bytes; a line is 3 Fp2 (c0, c1, c2) and the
 * number of lines per iteration is the host-supplied ATE table.
 */
export function millerLoop(out: usize, n: i32, pairs: usize): void {
  fp12SetOne(out);
  const o1 = LN,
    o4 = LN + FP2;
  let lineOffset: usize = 0;
  for (let i: i32 = 0; i < ATE_LEN; i++) {
    if (i != 0) fp12Sqr(out, out);
    const count = <usize>load<u8>(ATE + <usize>i);
    for (let k: i32 = 0; k < n; k++) {
      const rec = pairs + <usize>k * 80;
      const lines = <usize>load<u32>(rec);
      const px = rec + 8;
      const py = rec + 8 + FP;
      for (let l: usize = 0; l < count; l++) {
        const line = lines + (lineOffset + l) * 3 * FP2;
        fp2MulFp(o1, line + FP2, px);
        fp2MulFp(o4, line + 2 * FP2, py);
        fp12Mul014(out, line, o1, o4);
      }
    }
    lineOffset += count;
  }
  fp12Conj(out, out);
}

let FE: usize = 0; // 8 Fp12 scratch slots

@inline
function sfe(i: usize): usize {
  return FE + i * FP12;
}

/** r = f^|u| = f^-u for f in the cyclotomic subgroup (NAF of |u|, f^-1 = conj f). */
function powMinusU(r: usize, f: usize): void {
  const z = sfe(6),
    fInv = sfe(7);
  fp12Conj(fInv, f);
  fp12Copy(z, f);
  for (let i: i32 = 1; i < UNAF_LEN; i++) {
    fp12CycSqr(z, z);
    const d = load<i8>(UNAF + <usize>i);
    if (d == 1) fp12Mul(z, z, f);
    else if (d == -1) fp12Mul(z, z, fInv);
  }
  fp12Copy(r, z);
}

/** The final exponentiation chain of ../pairing.ts, step for step. */
export function finalExponentiate(r: usize, f: usize): void {
  const r0 = sfe(0),
    y1 = sfe(1),
    y2 = sfe(2),
    y4 = sfe(3),
    y8 = sfe(4),
    t = sfe(5);
  // easy part: r = frob2(conj(f) / f) * (conj(f) / f)
  fp12Inv(t, f);
  fp12Conj(r0, f);
  fp12Mul(r0, r0, t);
  fp12Frob(t, r0, 2);
  fp12Mul(r0, t, r0);
  // hard part
  powMinusU(y1, r0);
  fp12CycSqr(y1, y1);
  fp12CycSqr(y2, y1);
  fp12Mul(y2, y2, y1);
  powMinusU(y4, y2);
  fp12CycSqr(t, y4);
  powMinusU(t, t); // y6
  fp12Conj(t, t);
  fp12Mul(y8, t, y4);
  fp12Conj(t, y2);
  fp12Mul(y8, y8, t); // y8
  fp12Mul(y2, y8, y1); // y9 (y2 no longer needed)
  // result = frob3(conj(r) y9) * (frob2(y8) * (frob1(y9) * ((y8 y4) r)))
  fp12Mul(y4, y8, y4);
  fp12Mul(y4, y4, r0);
  fp12Frob(t, y2, 1);
  fp12Mul(y4, t, y4);
  fp12Frob(t, y8, 2);
  fp12Mul(y4, t, y4);
  fp12Conj(t, r0);
  fp12Mul(t, t, y2);
  fp12Frob(t, t, 3);
  fp12Mul(r, t, y4);
}

let ML: usize = 0;

/** 1 when the product of pairings of the n records (see millerLoop) is the identity. */
export function pairingProductIsOne(n: i32, pairs: usize): i32 {
  millerLoop(ML, n, pairs);
  finalExponentiate(ML, ML);
  if (!fpEq(ML, ONE)) return 0;
  for (let i: usize = FP; i < FP12; i += 4) if (load<u32>(ML + i) != 0) return 0;
  return 1;
}

// ---- G1 (Jacobian, a = 0) -------------------------------------------------------------------

let GA: usize = 0; // 10 Fp scratch slots

@inline
function sg(i: usize): usize {
  return GA + i * FP;
}

function g1IsZero(p: usize): bool {
  return fpIsZero(p + 2 * FP);
}

function g1SetZero(r: usize): void {
  memory.fill(r, 0, G1J);
  fpCopy(r, ONE);
  fpCopy(r + FP, ONE);
}

function g1Copy(r: usize, p: usize): void {
  memory.copy(r, p, G1J);
}

/** dbl-2009-l. */
export function g1Dbl(r: usize, p: usize): void {
  if (g1IsZero(p)) {
    g1Copy(r, p);
    return;
  }
  const X = p,
    Y = p + FP,
    Z = p + 2 * FP;
  const A = sg(0),
    B = sg(1),
    C = sg(2),
    D = sg(3),
    E = sg(4),
    F = sg(5);
  fpSqr(A, X);
  fpSqr(B, Y);
  fpSqr(C, B);
  fpAdd(D, X, B);
  fpSqr(D, D);
  fpSub(D, D, A);
  fpSub(D, D, C);
  fpAdd(D, D, D);
  fpAdd(E, A, A);
  fpAdd(E, E, A);
  fpSqr(F, E);
  // Z3 = 2 Y Z (before Y is overwritten)
  fpMul(r + 2 * FP, Y, Z);
  fpAdd(r + 2 * FP, r + 2 * FP, r + 2 * FP);
  // X3 = F - 2D
  fpSub(F, F, D);
  fpSub(r, F, D);
  // Y3 = E (D - X3) - 8C
  fpSub(D, D, r);
  fpMul(D, E, D);
  fpAdd(C, C, C);
  fpAdd(C, C, C);
  fpAdd(C, C, C);
  fpSub(r + FP, D, C);
}

/** add-2007-bl with the doubling and inverse special cases. */
export function g1Add(r: usize, p: usize, q: usize): void {
  if (g1IsZero(p)) {
    g1Copy(r, q);
    return;
  }
  if (g1IsZero(q)) {
    g1Copy(r, p);
    return;
  }
  const X1 = p,
    Y1 = p + FP,
    Z1 = p + 2 * FP;
  const X2 = q,
    Y2 = q + FP,
    Z2 = q + 2 * FP;
  const Z1Z1 = sg(0),
    Z2Z2 = sg(1),
    U1 = sg(2),
    U2 = sg(3),
    S1 = sg(4),
    S2 = sg(5),
    H = sg(6),
    I = sg(7),
    J = sg(8),
    V = sg(9);
  fpSqr(Z1Z1, Z1);
  fpSqr(Z2Z2, Z2);
  fpMul(U1, X1, Z2Z2);
  fpMul(U2, X2, Z1Z1);
  fpMul(S1, Y1, Z2);
  fpMul(S1, S1, Z2Z2);
  fpMul(S2, Y2, Z1);
  fpMul(S2, S2, Z1Z1);
  fpSub(H, U2, U1);
  fpSub(S2, S2, S1); // r/2
  if (fpIsZero(H)) {
    if (fpIsZero(S2)) g1Dbl(r, p);
    else g1SetZero(r);
    return;
  }
  fpAdd(S2, S2, S2); // r
  fpAdd(I, H, H);
  fpSqr(I, I);
  fpMul(J, H, I);
  fpMul(V, U1, I);
  // Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H
  fpAdd(U2, Z1, Z2);
  fpSqr(U2, U2);
  fpSub(U2, U2, Z1Z1);
  fpSub(U2, U2, Z2Z2);
  fpMul(r + 2 * FP, U2, H);
  // X3 = r^2 - J - 2V
  fpSqr(U1, S2);
  fpSub(U1, U1, J);
  fpSub(U1, U1, V);
  fpSub(r, U1, V);
  // Y3 = r (V - X3) - 2 S1 J
  fpSub(V, V, r);
  fpMul(V, S2, V);
  fpMul(S1, S1, J);
  fpAdd(S1, S1, S1);
  fpSub(r + FP, V, S1);
}

function g1Neg(r: usize, p: usize): void {
  if (r != p) g1Copy(r, p);
  fpNeg(r + FP, p + FP);
}

const WNAF_W: i32 = 5;
const TABLE: usize = 8; // odd multiples 1P, 3P, ..., 15P
const NAF_LEN: usize = 260;

let NAF_SCRATCH: usize = 0; // 4 u64 limbs of the scalar being recoded
let MSM_ACC: usize = 0;
let MSM_T: usize = 0;

/** Width-5 NAF of a 256-bit little-endian scalar into out[0..NAF_LEN) (i8, least significant first). Returns its length. */
function wnaf(out: usize, scalar: usize): i32 {
  const k = NAF_SCRATCH;
  memory.copy(k, scalar, 32);
  memory.fill(out, 0, NAF_LEN);
  let len: i32 = 0;
  let i: usize = 0;
  while (true) {
    const k0 = load<u64>(k),
      k1 = load<u64>(k, 8),
      k2 = load<u64>(k, 16),
      k3 = load<u64>(k, 24);
    if ((k0 | k1 | k2 | k3) == 0) break;
    if (k0 & 1) {
      let d = <i32>(k0 & 31);
      if (d >= 16) d -= 32;
      store<i8>(out + i, <i8>d);
      len = <i32>i + 1;
      // k -= d
      if (d > 0) {
        const n0 = k0 - <u64>d;
        store<u64>(k, n0);
        if (n0 > k0) {
          // borrow
          let j: usize = 8;
          while (j < 32) {
            const v = load<u64>(k + j);
            store<u64>(k + j, v - 1);
            if (v != 0) break;
            j += 8;
          }
        }
      } else {
        const n0 = k0 + <u64>(-d);
        store<u64>(k, n0);
        if (n0 < k0) {
          let j: usize = 8;
          while (j < 32) {
            const v = load<u64>(k + j) + 1;
            store<u64>(k + j, v);
            if (v != 0) break;
            j += 8;
          }
        }
      }
    }
    // k >>= 1
    const m0 = load<u64>(k),
      m1 = load<u64>(k, 8),
      m2 = load<u64>(k, 16),
      m3 = load<u64>(k, 24);
    store<u64>(k, (m0 >> 1) | (m1 << 63));
    store<u64>(k, (m1 >> 1) | (m2 << 63), 8);
    store<u64>(k, (m2 >> 1) | (m3 << 63), 16);
    store<u64>(k, m3 >> 1, 24);
    i++;
  }
  return len;
}

/**
 * out = sum_i k_i P_i (Straus, width-5 NAF, one shared doubling chain). `points` holds n affine
 * points (x, y: 2 Fp, Montgomery form, none the identity); `scalars` n 32-byte little-endian
 * integers; `work` the host's buffer of n * (8 * 108 + 260) bytes. Output: Jacobian.
 */
export function g1Msm(out: usize, n: i32, points: usize, scalars: usize, work: usize): void {
  const tables = work;
  const nafs = work + <usize>n * TABLE * G1J;
  let maxLen: i32 = 0;
  const twoP = MSM_T;
  for (let i: usize = 0; i < <usize>n; i++) {
    const t = tables + i * TABLE * G1J;
    const pt = points + i * 2 * FP;
    fpCopy(t, pt);
    fpCopy(t + FP, pt + FP);
    fpCopy(t + 2 * FP, ONE);
    g1Dbl(twoP, t);
    for (let j: usize = 1; j < TABLE; j++) g1Add(t + j * G1J, t + (j - 1) * G1J, twoP);
    const len = wnaf(nafs + i * NAF_LEN, scalars + i * 32);
    if (len > maxLen) maxLen = len;
  }
  const acc = MSM_ACC;
  g1SetZero(acc);
  const neg = MSM_T;
  for (let b: i32 = maxLen - 1; b >= 0; b--) {
    g1Dbl(acc, acc);
    for (let i: usize = 0; i < <usize>n; i++) {
      const d = <i32>load<i8>(nafs + i * NAF_LEN + <usize>b);
      if (d == 0) continue;
      const t = tables + i * TABLE * G1J;
      if (d > 0) g1Add(acc, acc, t + <usize>((d - 1) >> 1) * G1J);
      else {
        g1Neg(neg, t + <usize>((-d - 1) >> 1) * G1J);
        g1Add(acc, acc, neg);
      }
    }
  }
  g1Copy(out, acc);
}

/** Jacobian -> affine (x, y in Montgomery form); returns 0 for the identity. */
export function g1ToAffine(out: usize, p: usize): i32 {
  if (g1IsZero(p)) return 0;
  const zi = sg(0),
    zi2 = sg(1);
  fpInv(zi, p + 2 * FP);
  fpSqr(zi2, zi);
  fpMul(out, p, zi2);
  fpMul(zi2, zi2, zi);
  fpMul(out + FP, p + FP, zi2);
  return 1;
}

// ---- set-up ---------------------------------------------------------------------------------

/**
 * Takes the scratch areas and returns the constants block the host fills (see ../backend.ts):
 * ONE = R mod p, R2 = R^2 mod p, RAW1 = 1 (plain limbs), FROB (15 Fp2, Montgomery), PM2 = p - 2
 * (32 bytes little-endian), UNAF (128 i8), ATE (128 u8).
 */
export function init(): usize {
  ZERO = alloc(FP);
  INV_T = alloc(FP);
  F2A = alloc(FP);
  F2B = alloc(FP);
  F2C = alloc(FP);
  F2D = alloc(FP);
  F6 = alloc(8 * FP2);
  F12 = alloc(4 * FP6);
  F12B = alloc(9 * FP2);
  LN = alloc(4 * FP2);
  FE = alloc(8 * FP12);
  ML = alloc(FP12);
  GA = alloc(10 * FP);
  NAF_SCRATCH = alloc(32);
  MSM_ACC = alloc(G1J);
  MSM_T = alloc(G1J);
  const base = alloc(3 * FP + 15 * FP2 + 32 + 128 + 128);
  ONE = base;
  R2 = base + FP;
  RAW1 = base + 2 * FP;
  FROB = base + 3 * FP;
  PM2 = FROB + 15 * FP2;
  UNAF = PM2 + 32;
  ATE = UNAF + 128;
  return base;
}

/** Lengths of the host-filled digit tables (after init). */
export function setTables(unafLen: i32, ateLen: i32): void {
  UNAF_LEN = unafLen;
  ATE_LEN = ateLen;
}
