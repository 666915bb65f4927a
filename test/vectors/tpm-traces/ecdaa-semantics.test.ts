// The ECDAA arithmetic around TPM2_Commit/TPM2_Sign checked on the reference's recorded traffic:
// our basename inputs (s2 = LE32(i) || basename, y2 = even y) equal the recorded ones, the join's
// c' digest and P1 marshal as recorded, and with c = H(n | c') the recorded TPM answers satisfy
// s*G = E + c*Q (join) and s*P2 = L + c*K (handshakes).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ByteReader, bytesToBigInt, fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { G1, signatureChallenge } from '../../../protocol/ecdaa/index.ts';
import { fileURLToPath } from 'node:url';
import { commit } from '../../../tpm/commands/commit.ts';
import { create } from '../../../tpm/commands/create.ts';
import { commitmentOf, g1ToTpm, tpmToG1 } from '../../../tpm/ecdaa-commit.ts';
import { basenameCommitInputs } from '../../../tpm/ecdaa-signer.ts';
import { readEccPoint } from '../../../tpm/marshal.ts';
import { XTPM_ECDAA_KEY_HANDLE } from '../../../tpm/nv-layout.ts';
import { TEMPLATE_T2_ECDAA } from '../../../tpm/templates.ts';

const here = dirname(fileURLToPath(import.meta.url));
interface Entry {
  direction: string;
  command_name: string;
  response_code?: string;
  hex: string;
  decoded: { parameters?: Record<string, unknown> };
}
const trace = (f: string): Entry[] =>
  (JSON.parse(readFileSync(join(here, f), 'utf8')) as { trace: Entry[] }).trace;
const point = (p: unknown) => {
  const q = p as { x: string; y: string };
  return tpmToG1({ x: fromHex(q.x), y: fromHex(q.y) }, 'trace');
};

test("join (01): P1 = generator marshals as recorded, s*G = E + c*Q with c = H(n | c')", (t) => {
  const tr = trace('01-provisioning.json');
  const ok = tr.filter((e) => e.direction === 'response' && e.response_code === '0x00000000');
  const createResp = ok.find((e) => e.command_name === 'TPM2_CC_Create')!;
  const key = create(0x80000000, TEMPLATE_T2_ECDAA).parse(fromHex(createResp.hex));
  const Q = tpmToG1(key.outPublic.unique, 'Q');
  const commitCmd = tr.find((e) => e.direction === 'command' && e.command_name === 'TPM2_CC_Commit')!;
  const ours = commit(XTPM_ECDAA_KEY_HANDLE, g1ToTpm(G1.BASE), new Uint8Array(0), new Uint8Array(0));
  t.is(toHex(ours.bytes), commitCmd.hex);
  const commitOut = ours.parse(fromHex(ok.find((e) => e.command_name === 'TPM2_CC_Commit')!.hex));
  const signCmd = tr.find((e) => e.direction === 'command' && e.command_name === 'TPM2_CC_Sign')!;
  const signResp = ok.find((e) => e.command_name === 'TPM2_CC_Sign')!;
  const sig = (signResp.decoded.parameters!.signature ?? {}) as { signatureR: string; signatureS: string };
  const cPrime = bytesToBigInt(fromHex(String(signCmd.decoded.parameters!.digest)));
  const c = signatureChallenge(bytesToBigInt(fromHex(sig.signatureR)), cPrime);
  t.is(c.toString(16), 'b14d18d168abe51f4443171583bebd100df6a68d9cc9d406f166506c63b58609');
  const E = tpmToG1(commitOut.E, 'E');
  t.true(commitmentOf(G1.BASE, bytesToBigInt(fromHex(sig.signatureS)), Q, c).equals(E));
  t.false(commitmentOf(G1.BASE, bytesToBigInt(fromHex(sig.signatureS)) + 1n, Q, c).equals(E));
});

for (const f of [
  '02-handshake-first.json',
  '03-handshake-second.json',
  '04-handshake-unmodified-mssim.json',
  '05-restart-retry.json',
]) {
  test(`${f}: s2/y2 from our hashToG1 equal the recorded ones, s*P2 = L + c*K`, (t) => {
    const tr = trace(f);
    const basenameResp = tr.find(
      (e) =>
        e.direction === 'response' &&
        e.command_name === 'TPM2_CC_NV_Read' &&
        e.response_code === '0x00000000',
    )!;
    const basename = fromHex(String(basenameResp.decoded.parameters!.data));
    t.is(new TextDecoder().decode(basename), 'BASENAME');
    const { B, s2, y2 } = basenameCommitInputs(basename);
    const cIdx = tr.findIndex((e) => e.direction === 'command' && e.command_name === 'TPM2_CC_Commit');
    const p = tr[cIdx]!.decoded.parameters!;
    t.is(toHex(s2), String(p.s2));
    t.is(toHex(y2), String(p.y2));
    // Our Commit command for the recorded P1 (= S) is the recorded command.
    t.is(toHex(commit(XTPM_ECDAA_KEY_HANDLE, g1ToTpm(point(p.P1)), s2, y2).bytes), tr[cIdx]!.hex);
    const rp = tr[cIdx + 1]!.decoded.parameters!;
    const K = point(rp.K);
    const L = point(rp.L);
    const signCmd = tr[cIdx + 2]!;
    t.is(signCmd.command_name, 'TPM2_CC_Sign');
    const sp = signCmd.decoded.parameters!;
    t.is((sp.inScheme as { count: number }).count, Number(rp.counter));
    const sig = (tr[cIdx + 3]!.decoded.parameters!.signature ?? {}) as {
      signatureR: string;
      signatureS: string;
    };
    const c = signatureChallenge(
      bytesToBigInt(fromHex(sig.signatureR)),
      bytesToBigInt(fromHex(String(sp.digest))),
    );
    t.true(commitmentOf(B, bytesToBigInt(fromHex(sig.signatureS)), K, c).equals(L));
    // E lies on the curve and decodes with the strict reader.
    const eHex = rp.E as { x: string; y: string };
    t.notThrows(() =>
      readEccPoint(new ByteReader(fromHex('0044' + '0020' + eHex.x + '0020' + eHex.y), 'E'), 'E'),
    );
  });
}
