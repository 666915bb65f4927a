// The server state machine under arbitrary input (fast-check): random chunk sequences, and a valid
// handshake whose client messages are mutated. receive() never throws; every failure is a typed
// ProtocolError answered with the 4-byte Error message (or silence after the peer's own Error), and a
// mutated Identity_ClientAttest is never accepted.
import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../../../../protocol/errors.ts';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { MemoryPolicy, makeParties } from '../../../helpers/xtt-parties.ts';
import { fakeDaaSigner, fakeDaaVerify } from '../../../fakes/fake-daa.ts';
import type { ServerStep } from '../../../../protocol/xtt/server.ts';

function parties() {
  const ids = new MemoryPolicy([], systemRng);
  return makeParties({
    suite: 1,
    daa: fakeDaaSigner(),
    policy: { verifyDaa: fakeDaaVerify(), assignIdentity: ids.assignIdentity },
  });
}

function checkStep(s: ServerStep): void {
  if (s.kind === 'failed') {
    if (!(s.error instanceof ProtocolError)) throw new Error('untyped failure');
    const silent = s.error.code === 'RECEIVED_ERROR';
    if (silent !== (s.data === undefined)) throw new Error(`unexpected answer for ${s.error.code}`);
    if (s.data && toHex(s.data) !== '41000401') throw new Error('failure answer is not the Error message');
  }
  if (s.kind === 'done') throw new Error('random bytes completed a handshake');
}

test('fuzz: arbitrary chunk sequences into a fresh server handshake', async (t) => {
  const p = parties();
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 800 }),
          // Plausible headers so the fuzzer gets past the first check often.
          fc
            .tuple(fc.constantFrom(0x01, 0x11, 0x41, 0x02), fc.uint8Array({ maxLength: 760 }))
            .map(([type, rest]) =>
              Uint8Array.from([type, 0, type === 0x01 ? 70 : type === 0x41 ? 4 : 0xee, 1, ...rest]),
            ),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      async (chunks) => {
        const hs = p.server.accept();
        for (const c of chunks) {
          const s = await hs.receive(c);
          checkStep(s);
          if (s.kind === 'failed') break;
        }
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('fuzz: mutated Identity_ClientAttest after a real ClientInit is never accepted', async (t) => {
  const p = parties();
  await fc.assert(
    fc.asyncProperty(fc.nat(749), fc.integer({ min: 1, max: 255 }), fc.nat(3), async (at, mask, split) => {
      const client = p.client();
      const hs = p.server.accept();
      const ci = client.start();
      if (ci.kind !== 'send') throw new Error('no ClientInit');
      const siaa = await hs.receive(ci.data);
      if (siaa.kind !== 'send') throw new Error('no ServerInitAndAttest');
      const ica = await client.receive(siaa.data);
      if (ica.kind !== 'send') throw new Error('no Identity_ClientAttest');
      const bad = ica.data.slice();
      bad[at]! ^= mask;
      const cut = [0, 4, 136, 500][split]!;
      let s: ServerStep = { kind: 'need', bytes: 4 };
      if (cut > 0) s = await hs.receive(bad.subarray(0, cut));
      if (s.kind === 'need') s = await hs.receive(bad.subarray(cut));
      checkStep(s);
      if (s.kind !== 'failed') throw new Error(`mutation at ${at} gave ${s.kind}`);
    }),
    { numRuns: 60 },
  );
  t.pass();
});
