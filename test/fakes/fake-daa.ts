// A fast stand-in for ECDAA in handshake tests whose subject is not DAA (framing, AEAD, cookies,
// certificates): the "signature" is SHAKE256(secret || gid || message) stretched to 421 bytes and
// the policy recomputes it. It checks that the server passes the right gid and ClientDAASigHash to
// verifyDaa, at a fraction of the cost. Tests about DAA itself use the real protocol/ecdaa.
import { shake256 } from '@noble/hashes/sha3.js';
import { concatBytes, equalBytes } from '../../protocol/util/bytes.ts';
import type { DaaSigner, ServerPolicy } from '../../protocol/xtt/signers.ts';

const SECRET = new TextEncoder().encode('fake-daa-secret');

function fakeSig(gid: Uint8Array, message: Uint8Array): Uint8Array {
  return shake256(concatBytes(SECRET, gid, message), { dkLen: 421 });
}

export function fakeDaaSigner(gid = new Uint8Array(32).fill(7)): DaaSigner & { calls: Uint8Array[] } {
  const calls: Uint8Array[] = [];
  return {
    gid,
    basename: new TextEncoder().encode('BASENAME'),
    calls,
    sign: (message) => {
      calls.push(message.slice());
      return Promise.resolve(fakeSig(gid, message));
    },
  };
}

export function fakeDaaVerify(
  knownGids: Uint8Array[] = [new Uint8Array(32).fill(7)],
): ServerPolicy['verifyDaa'] {
  return (req) => {
    if (!knownGids.some((g) => equalBytes(g, req.gid)))
      return Promise.resolve({ ok: false, reason: 'unknown group' });
    if (!equalBytes(req.signature, fakeSig(req.gid, req.message)))
      return Promise.resolve({ ok: false, reason: 'bad signature' });
    return Promise.resolve({ ok: true, pseudonym: shake256(concatBytes(SECRET, req.gid), { dkLen: 65 }) });
  };
}
