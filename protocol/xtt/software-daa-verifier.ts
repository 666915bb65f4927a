// ServerPolicy.verifyDaa over protocol/ecdaa for a set of known groups (gpk + basename each),
// looked up by gid = SHA-256(gpk || basename). The pseudonym returned is K (65 bytes, 04 || x || y),
// which is stable per member and basename: the server tracks devices by it. An unknown gid, a
// signature that does not decode, or one that does not verify gives { ok: false, reason }.
import {
  decodeGroupPublicKey,
  decodeSignature,
  encodeG1,
  groupId,
  prepareGroupPublicKey,
  verifySignature,
  type PreparedGroupPublicKey,
  type RevocationLists,
} from '../ecdaa/index.ts';
import { toHex } from '../util/bytes.ts';
import type { DaaVerdict, ServerPolicy } from './signers.ts';

export interface DaaGroup {
  gpk: Uint8Array;
  basename: Uint8Array;
  revocations?: RevocationLists;
}

export class SoftwareDaaVerifier {
  readonly #groups = new Map<
    string,
    { pgpk: PreparedGroupPublicKey; basename: Uint8Array; revocations?: RevocationLists }
  >();

  constructor(groups: readonly DaaGroup[] = []) {
    for (const g of groups) this.addGroup(g);
  }

  /** Registers a group and returns its gid. */
  addGroup(g: DaaGroup): Uint8Array {
    const gid = groupId(g.gpk, g.basename);
    const entry = { pgpk: prepareGroupPublicKey(decodeGroupPublicKey(g.gpk)), basename: g.basename.slice() };
    this.#groups.set(toHex(gid), g.revocations ? { ...entry, revocations: g.revocations } : entry);
    return gid;
  }

  readonly verifyDaa: ServerPolicy['verifyDaa'] = (req) =>
    Promise.resolve(this.verify(req.gid, req.message, req.signature));

  verify(gid: Uint8Array, message: Uint8Array, signature: Uint8Array): DaaVerdict {
    const group = this.#groups.get(toHex(gid));
    if (!group) return { ok: false, reason: 'unknown group' };
    let sig;
    try {
      sig = decodeSignature(signature, { hasBasename: true });
    } catch {
      return { ok: false, reason: 'signature does not decode' };
    }
    const v = verifySignature(sig, message, group.basename, group.pgpk, group.revocations);
    if (!v.ok) return { ok: false, reason: `signature rejected (${v.reason})` };
    if (!sig.K) return { ok: false, reason: 'signature has no pseudonym' };
    return { ok: true, pseudonym: encodeG1(sig.K) };
  }
}
