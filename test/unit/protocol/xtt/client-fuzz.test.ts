// The client state machine under arbitrary server bytes (fast-check): after ClientInit, random chunk
// sequences and mutated ServerInitAndAttest messages never make receive() throw, never complete a
// handshake, and every failure is a typed ProtocolError answered with the Error message (silence only
// after the server's own Error).
import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../../../../protocol/errors.ts';
import { toHex } from '../../../../protocol/util/bytes.ts';
import type { ClientStep } from '../../../../protocol/xtt/client.ts';
import { fakeDaaSigner } from '../../../fakes/fake-daa.ts';
import { makeParties } from '../../../helpers/xtt-parties.ts';

function checkStep(s: ClientStep): void {
  if (s.kind === 'done') throw new Error('client accepted forged bytes');
  if (s.kind === 'failed') {
    if (!(s.error instanceof ProtocolError)) throw new Error('untyped failure');
    const silent = s.error.code === 'RECEIVED_ERROR';
    if (silent !== (s.data === undefined)) throw new Error(`unexpected answer for ${s.error.code}`);
    if (s.data && toHex(s.data) !== '41000401') throw new Error('failure answer is not the Error message');
  }
}

test('fuzz: arbitrary bytes from the server', async (t) => {
  const p = makeParties({ suite: 2, daa: fakeDaaSigner() });
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 500 }),
          fc
            .uint8Array({ maxLength: 420 })
            .map((rest) => Uint8Array.from([0x02, 0x01, 0xa1, 0x01, 0x00, 0x02, ...rest])),
          fc.constant(Uint8Array.of(0x41, 0, 4, 1)),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      async (chunks) => {
        const client = p.client();
        client.start();
        for (const c of chunks) {
          const s = await client.receive(c);
          checkStep(s);
          if (s.kind === 'failed' || s.kind === 'send') break;
        }
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('fuzz: a mutated ServerInitAndAttest is never accepted', async (t) => {
  const p = makeParties({ suite: 4, daa: fakeDaaSigner() });
  await fc.assert(
    fc.asyncProperty(fc.nat(416), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
      const client = p.client();
      const ci = client.start();
      if (ci.kind !== 'send') throw new Error('no ClientInit');
      const siaa = await p.server.accept().receive(ci.data);
      if (siaa.kind !== 'send') throw new Error('no ServerInitAndAttest');
      const bad = siaa.data.slice();
      bad[at]! ^= mask;
      const s = await client.receive(bad);
      checkStep(s);
      if (s.kind !== 'failed') throw new Error(`mutation at ${at} gave ${s.kind}`);
    }),
    { numRuns: 80 },
  );
  t.pass();
});
