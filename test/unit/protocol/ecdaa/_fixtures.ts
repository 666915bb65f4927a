// Shared fixtures for the ECDAA unit tests (underscore: ava does not run it as a test file).
// A deterministic RNG (SHA-256 in counter mode over a label) keeps failures reproducible, and
// a fresh group made with our own issuer and join flow gives members to sign with.
import { sha256 } from '@noble/hashes/sha2.js';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { concatBytes, u32be } from '../../../../protocol/util/bytes.ts';
import type { Rng } from '../../../../protocol/util/rng.ts';

export function seededRng(label: string): Rng {
  const seed = new TextEncoder().encode(label);
  let counter = 0;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let off = 0; off < n; off += 32) {
        const block = sha256(concatBytes(seed, u32be(counter++)));
        out.set(block.subarray(0, Math.min(32, n - off)), off);
      }
      return out;
    },
  };
}

export interface Member {
  secretKey: bigint;
  credential: E.Credential;
}

export interface Group {
  isk: E.IssuerSecretKey;
  ipk: E.IssuerPublicKey;
  pgpk: E.PreparedGroupPublicKey;
  members: Member[];
}

export function makeGroup(label: string, memberCount: number): Group {
  const rng = seededRng(label);
  const { secretKey: isk, publicKey: ipk } = E.createIssuer(rng);
  const members: Member[] = [];
  for (let i = 0; i < memberCount; i++) {
    const secretKey = E.randomScalar(rng);
    const nonce = rng.bytes(32);
    const request = E.createJoinRequest(secretKey, nonce, rng);
    const { credential } = E.issueCredential(isk, request, nonce, rng);
    members.push({ secretKey, credential });
  }
  return { isk, ipk, pgpk: E.prepareGroupPublicKey(ipk.gpk), members };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
