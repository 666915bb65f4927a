// TPM2_Commit (TCG TPM 2.0 Library Part 3, 19.2): first half of an anonymous (ECDAA) signature.
// P1 is a point; s2 and y2 give P2 = (H(s2) mod p, y2). Returns K = d*P2, L = r*P2, E = r*P1 and
// the commit counter for the following TPM2_Sign. With empty s2/y2 the TPM answers K and L as empty
// points of size 4 (trace 01, exchange 9), which readEccPoint accepts as empty.
import { DecodeError } from '../../protocol/errors.ts';
import { buildCommand, type TpmCommand } from '../command.ts';
import { encodeEccPoint, readEccPoint, TpmWriter, type EccPoint } from '../marshal.ts';

export interface CommitResult {
  readonly K: EccPoint;
  readonly L: EccPoint;
  readonly E: EccPoint;
  readonly counter: number;
}

export function commit(
  signHandle: number,
  P1: EccPoint,
  s2: Uint8Array,
  y2: Uint8Array,
): TpmCommand<CommitResult> {
  return buildCommand('TPM_CC_Commit', {
    handles: [signHandle],
    authCount: 1,
    params: new TpmWriter().bytes(encodeEccPoint(P1)).tpm2b(s2).tpm2b(y2).finish(),
    responseHandles: 0,
    parseParams: (r) => {
      const K = readEccPoint(r, 'K');
      const L = readEccPoint(r, 'L');
      const eAt = r.offset;
      const E = readEccPoint(r, 'E');
      if (E.x.length === 0) throw new DecodeError('TPM_CC_Commit.E', eAt, 'E is empty');
      return { K, L, E, counter: r.u16('counter') };
    },
  });
}
