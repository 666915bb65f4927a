// Composite ECDAA structures and their strict codecs, byte-compatible with xaptum/ecdaa 1.0.0
// (ECDAA-FP256BN.md "Encodings"):
//   GPK 258 = X | Y; issuer public key 354 = GPK | c | sx | sy; issuer secret key 64 = x | y;
//   join request 161 = Q | c | s | n; credential 260 = A | B | C | D; credential signature
//   64 = c | s; signature 356 = c | s | R | S | T | W | n, 421 with the pseudonym K appended.
// Decoders check the exact total length first (no trailing bytes), then each field in order;
// DecodeError names the structure.field and the absolute byte offset.
import { DecodeError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import type { G1Point, G2Point } from './curve.ts';
import {
  G1_LENGTH,
  G2_LENGTH,
  SCALAR_LENGTH,
  decodeG1,
  decodeG2,
  decodeScalar,
  encodeG1,
  encodeG2,
  encodeScalar,
} from './encoding.ts';

export const GPK_LENGTH = 2 * G2_LENGTH; // 258
export const ISSUER_PUBLIC_KEY_LENGTH = GPK_LENGTH + 3 * SCALAR_LENGTH; // 354
export const ISSUER_SECRET_KEY_LENGTH = 2 * SCALAR_LENGTH; // 64
export const MEMBER_SECRET_KEY_LENGTH = SCALAR_LENGTH; // 32
export const JOIN_REQUEST_LENGTH = G1_LENGTH + 3 * SCALAR_LENGTH; // 161
export const CREDENTIAL_LENGTH = 4 * G1_LENGTH; // 260
export const CREDENTIAL_SIGNATURE_LENGTH = 2 * SCALAR_LENGTH; // 64
export const SIGNATURE_LENGTH = 3 * SCALAR_LENGTH + 4 * G1_LENGTH; // 356
export const SIGNATURE_WITH_BASENAME_LENGTH = SIGNATURE_LENGTH + G1_LENGTH; // 421

export interface GroupPublicKey {
  X: G2Point;
  Y: G2Point;
}
export interface IssuerSecretKey {
  x: bigint;
  y: bigint;
}
export interface IssuerPublicKey {
  gpk: GroupPublicKey;
  c: bigint;
  sx: bigint;
  sy: bigint;
}
export interface Credential {
  A: G1Point;
  B: G1Point;
  C: G1Point;
  D: G1Point;
}
export interface CredentialSignature {
  c: bigint;
  s: bigint;
}
export interface JoinRequest {
  Q: G1Point;
  c: bigint;
  s: bigint;
  n: bigint;
}
export interface Signature {
  c: bigint;
  s: bigint;
  R: G1Point;
  S: G1Point;
  T: G1Point;
  W: G1Point;
  n: bigint;
  /** Pseudonym sk * hashToG1(basename); present exactly when the signature has a basename. */
  K?: G1Point;
}

/** Sequential field reader over an exactly-sized buffer (length already checked). */
class Fields {
  private off = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
    private readonly base: number,
  ) {}
  private take(n: number): [Uint8Array, number] {
    const at = this.off;
    this.off += n;
    return [this.b.subarray(at, at + n), this.base + at];
  }
  g1(name: string): G1Point {
    const [b, at] = this.take(G1_LENGTH);
    return decodeG1(b, `${this.what}.${name}`, at);
  }
  g2(name: string): G2Point {
    const [b, at] = this.take(G2_LENGTH);
    return decodeG2(b, `${this.what}.${name}`, at);
  }
  scalar(name: string): bigint {
    const [b, at] = this.take(SCALAR_LENGTH);
    return decodeScalar(b, `${this.what}.${name}`, at);
  }
}

function fields(b: Uint8Array, len: number, what: string, base = 0): Fields {
  if (!(b instanceof Uint8Array)) throw new DecodeError(what, base, 'expected bytes');
  if (b.length !== len) {
    throw new DecodeError(what, base + Math.min(b.length, len), `expected ${len} bytes, got ${b.length}`);
  }
  return new Fields(b, what, base);
}

export function encodeGroupPublicKey(gpk: GroupPublicKey): Uint8Array {
  return concatBytes(encodeG2(gpk.X), encodeG2(gpk.Y));
}
export function decodeGroupPublicKey(b: Uint8Array, what = 'gpk', base = 0): GroupPublicKey {
  const f = fields(b, GPK_LENGTH, what, base);
  return { X: f.g2('X'), Y: f.g2('Y') };
}

export function encodeIssuerPublicKey(ipk: IssuerPublicKey): Uint8Array {
  return concatBytes(
    encodeGroupPublicKey(ipk.gpk),
    encodeScalar(ipk.c),
    encodeScalar(ipk.sx),
    encodeScalar(ipk.sy),
  );
}
export function decodeIssuerPublicKey(b: Uint8Array): IssuerPublicKey {
  const f = fields(b, ISSUER_PUBLIC_KEY_LENGTH, 'issuerPublicKey');
  const gpk = { X: f.g2('X'), Y: f.g2('Y') };
  return { gpk, c: f.scalar('c'), sx: f.scalar('sx'), sy: f.scalar('sy') };
}

export function encodeIssuerSecretKey(isk: IssuerSecretKey): Uint8Array {
  return concatBytes(encodeScalar(isk.x), encodeScalar(isk.y));
}
export function decodeIssuerSecretKey(b: Uint8Array): IssuerSecretKey {
  const f = fields(b, ISSUER_SECRET_KEY_LENGTH, 'issuerSecretKey');
  return { x: f.scalar('x'), y: f.scalar('y') };
}

export function encodeCredential(cred: Credential): Uint8Array {
  return concatBytes(encodeG1(cred.A), encodeG1(cred.B), encodeG1(cred.C), encodeG1(cred.D));
}
export function decodeCredential(b: Uint8Array): Credential {
  const f = fields(b, CREDENTIAL_LENGTH, 'credential');
  return { A: f.g1('A'), B: f.g1('B'), C: f.g1('C'), D: f.g1('D') };
}

export function encodeCredentialSignature(sig: CredentialSignature): Uint8Array {
  return concatBytes(encodeScalar(sig.c), encodeScalar(sig.s));
}
export function decodeCredentialSignature(b: Uint8Array): CredentialSignature {
  const f = fields(b, CREDENTIAL_SIGNATURE_LENGTH, 'credentialSignature');
  return { c: f.scalar('c'), s: f.scalar('s') };
}

export function encodeJoinRequest(req: JoinRequest): Uint8Array {
  return concatBytes(encodeG1(req.Q), encodeScalar(req.c), encodeScalar(req.s), encodeScalar(req.n));
}
export function decodeJoinRequest(b: Uint8Array): JoinRequest {
  const f = fields(b, JOIN_REQUEST_LENGTH, 'joinRequest');
  return { Q: f.g1('Q'), c: f.scalar('c'), s: f.scalar('s'), n: f.scalar('n') };
}

/** 421 bytes when the signature carries a pseudonym K, else 356. */
export function encodeSignature(sig: Signature): Uint8Array {
  const parts = [
    encodeScalar(sig.c),
    encodeScalar(sig.s),
    encodeG1(sig.R),
    encodeG1(sig.S),
    encodeG1(sig.T),
    encodeG1(sig.W),
    encodeScalar(sig.n),
  ];
  if (sig.K !== undefined) parts.push(encodeG1(sig.K));
  return concatBytes(...parts);
}
export function decodeSignature(b: Uint8Array, opts: { hasBasename: boolean }): Signature {
  const len = opts.hasBasename ? SIGNATURE_WITH_BASENAME_LENGTH : SIGNATURE_LENGTH;
  const f = fields(b, len, 'signature');
  const sig: Signature = {
    c: f.scalar('c'),
    s: f.scalar('s'),
    R: f.g1('R'),
    S: f.g1('S'),
    T: f.g1('T'),
    W: f.g1('W'),
    n: f.scalar('n'),
  };
  if (opts.hasBasename) sig.K = f.g1('K');
  return sig;
}
