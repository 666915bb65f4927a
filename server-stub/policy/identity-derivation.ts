// Deterministic identity derivation: a device's identity is an IPv6
// address in its network's /64 whose interface identifier (IID) is the first 8 bytes of
// SHA-256(gid || pseudonym || u32be(counter)). Counter 0 is tried first; a reserved IID (RFC 5453
// section 3 registry, including the RFC 2526 subnet anycast range and the all-zero subnet-router
// anycast of RFC 4291 section 2.6.1) or an address already held by another device moves to the
// next counter. So the same (gid, pseudonym) always lands on the same address unless another device
// held it first, and the registry's record (not re-derivation) is what keeps it stable for life.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, u32be } from '../../protocol/util/bytes.ts';

/** How many counters to try before giving up (2^-64 collision odds make > 1 vanishingly rare). */
export const MAX_DERIVATION_ATTEMPTS = 64;

/** True when the 8-byte interface identifier is reserved (RFC 5453, RFC 2526, RFC 4291 2.6.1). */
export function isReservedIid(iid: Uint8Array): boolean {
  if (iid.length !== 8) throw new RangeError(`IID must be 8 bytes, got ${iid.length}`);
  // Subnet-router anycast: all zero.
  if (iid.every((b) => b === 0)) return true;
  // 0200:5EFF:FE00:0000 - 0200:5EFF:FEFF:FFFF: IANA Ethernet block (incl. proxy mobile 5213).
  if (iid[0] === 0x02 && iid[1] === 0x00 && iid[2] === 0x5e && iid[3] === 0xff && iid[4] === 0xfe) {
    return true;
  }
  // FDFF:FFFF:FFFF:FF80 - FDFF:FFFF:FFFF:FFFF: reserved subnet anycast (RFC 2526).
  if (
    iid[0] === 0xfd &&
    iid[1] === 0xff &&
    iid[2] === 0xff &&
    iid[3] === 0xff &&
    iid[4] === 0xff &&
    iid[5] === 0xff &&
    iid[6] === 0xff &&
    iid[7]! >= 0x80
  ) {
    return true;
  }
  return false;
}

/** The candidate identity for one counter value: prefix (8 bytes) || IID (8 bytes). */
export function deriveCandidate(
  prefix: Uint8Array,
  gid: Uint8Array,
  pseudonym: Uint8Array,
  counter: number,
): Uint8Array {
  if (prefix.length !== 8) throw new RangeError(`prefix must be 8 bytes, got ${prefix.length}`);
  const iid = sha256(concatBytes(gid, pseudonym, u32be(counter))).subarray(0, 8);
  return concatBytes(prefix, iid);
}

/**
 * First candidate that is not reserved and that `isTaken` says is free, or undefined after
 * MAX_DERIVATION_ATTEMPTS. `isTaken` is asked inside the caller's write transaction.
 */
export async function chooseIdentity(
  prefix: Uint8Array,
  gid: Uint8Array,
  pseudonym: Uint8Array,
  isTaken: (identity: Uint8Array) => Promise<boolean>,
): Promise<Uint8Array | undefined> {
  for (let counter = 0; counter < MAX_DERIVATION_ATTEMPTS; counter++) {
    const candidate = deriveCandidate(prefix, gid, pseudonym, counter);
    if (isReservedIid(candidate.subarray(8))) continue;
    if (await isTaken(candidate)) continue;
    return candidate;
  }
  return undefined;
}

/** XTT's "no requested identity" is the all-zero identity (xtt 0.12 xtt_null_identity). */
export function isNullIdentity(id: Uint8Array): boolean {
  return id.every((b) => b === 0);
}
