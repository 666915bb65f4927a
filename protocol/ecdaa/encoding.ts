// Byte encodings of FP256BN points and scalars, as xaptum/ecdaa 1.0.0 serialises them
// (ECDAA-FP256BN.md "Encodings"): big-endian integers, G1 = 04|x|y (65 B),
// G2 = 04|x.re|x.im|y.re|y.im (129 B), scalars 32 B.
//
// Decoders are strict: exact length, prefix 04, coordinates < p, on the curve, not the identity,
// G2 points in the order-r subgroup, scalars < r. Every failure is a DecodeError naming the field
// and the byte offset (relative to the buffer given, plus `base` for nested fields).
import { DecodeError } from '../errors.ts';
import { bigIntToBytes, bytesToBigInt } from '../util/bytes.ts';
import { CURVE_ORDER, FIELD_PRIME, G1, G2, type G1Point, type G2Point } from './curve.ts';

export const G1_LENGTH = 65;
export const G2_LENGTH = 129;
export const SCALAR_LENGTH = 32;
const COORD = 32;
const PREFIX = 0x04;

export function encodeScalar(x: bigint): Uint8Array {
  if (x < 0n || x >= CURVE_ORDER) throw new RangeError('scalar out of range [0, r)');
  return bigIntToBytes(x, SCALAR_LENGTH);
}

/** Reads a 32-byte big-endian scalar and requires it to be < r (no silent reduction). */
export function decodeScalar(b: Uint8Array, field = 'scalar', base = 0): bigint {
  if (!(b instanceof Uint8Array)) throw new DecodeError(field, base, 'expected bytes');
  if (b.length !== SCALAR_LENGTH) {
    throw new DecodeError(field, base, `expected ${SCALAR_LENGTH} bytes, got ${b.length}`);
  }
  const x = bytesToBigInt(b);
  if (x >= CURVE_ORDER) throw new DecodeError(field, base, 'scalar not below the group order r');
  return x;
}

export function encodeG1(P: G1Point): Uint8Array {
  if (P.is0()) throw new RangeError('the G1 identity has no encoding');
  const { x, y } = P.toAffine();
  const out = new Uint8Array(G1_LENGTH);
  out[0] = PREFIX;
  out.set(bigIntToBytes(x, COORD), 1);
  out.set(bigIntToBytes(y, COORD), 1 + COORD);
  return out;
}

function readCoord(b: Uint8Array, off: number, field: string, base: number): bigint {
  const v = bytesToBigInt(b.subarray(off, off + COORD));
  if (v >= FIELD_PRIME) throw new DecodeError(field, base + off, 'coordinate not below p');
  return v;
}

function checkPrefix(b: Uint8Array, len: number, field: string, base: number): void {
  if (!(b instanceof Uint8Array)) throw new DecodeError(field, base, 'expected bytes');
  if (b.length !== len) throw new DecodeError(field, base, `expected ${len} bytes, got ${b.length}`);
  if (b[0] !== PREFIX) {
    throw new DecodeError(field, base, `expected uncompressed prefix 04, got ${b[0]!.toString(16)}`);
  }
}

export function decodeG1(b: Uint8Array, field = 'G1', base = 0): G1Point {
  checkPrefix(b, G1_LENGTH, field, base);
  const x = readCoord(b, 1, field, base);
  const y = readCoord(b, 1 + COORD, field, base);
  if (x === 0n && y === 0n) throw new DecodeError(field, base, 'point at infinity');
  const P = G1.fromAffine({ x, y });
  try {
    P.assertValidity();
  } catch (cause) {
    throw new DecodeError(field, base, 'point not on the curve', { cause });
  }
  return P;
}

export function encodeG2(Q: G2Point): Uint8Array {
  if (Q.is0()) throw new RangeError('the G2 identity has no encoding');
  const { x, y } = Q.toAffine();
  const out = new Uint8Array(G2_LENGTH);
  out[0] = PREFIX;
  out.set(bigIntToBytes(x.c0, COORD), 1);
  out.set(bigIntToBytes(x.c1, COORD), 1 + COORD);
  out.set(bigIntToBytes(y.c0, COORD), 1 + 2 * COORD);
  out.set(bigIntToBytes(y.c1, COORD), 1 + 3 * COORD);
  return out;
}

export function decodeG2(b: Uint8Array, field = 'G2', base = 0): G2Point {
  checkPrefix(b, G2_LENGTH, field, base);
  const xa = readCoord(b, 1, field, base);
  const xb = readCoord(b, 1 + COORD, field, base);
  const ya = readCoord(b, 1 + 2 * COORD, field, base);
  const yb = readCoord(b, 1 + 3 * COORD, field, base);
  if (xa === 0n && xb === 0n && ya === 0n && yb === 0n) {
    throw new DecodeError(field, base, 'point at infinity');
  }
  const Q = G2.fromAffine({ x: { c0: xa, c1: xb }, y: { c0: ya, c1: yb } });
  try {
    Q.assertValidity();
  } catch (cause) {
    const reason = String((cause as Error).message).includes('subgroup')
      ? 'point not in the order-r subgroup'
      : 'point not on the twist curve';
    throw new DecodeError(field, base, reason, { cause });
  }
  return Q;
}
