// Client <-> server in one process (STYLE.md "handshake" tests): all four suites, with an assigned and
// a requested identity, real software keys, real ECDAA signing and verification, sealed cookies.
import test from 'ava';
import { toHex } from '../../../../protocol/util/bytes.ts';
import { ALL_SUITES, MsgType } from '../../../../protocol/xtt/constants.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { fakeDaaSigner, fakeDaaVerify } from '../../../fakes/fake-daa.ts';
import { SealedCookieStrategy } from '../../../../protocol/xtt/cookie.ts';
import { XttServer } from '../../../../protocol/xtt/server.ts';
import type { ServerPolicy } from '../../../../protocol/xtt/signers.ts';
import { MemoryPolicy, makeParties, makePki, pump } from '../../../helpers/xtt-parties.ts';

const PSEUDONYM =
  '044a837955cb202af0c115afde5396255d5a46c14edd3a95cecd0d122cf7bcb7f5f455339b2d8b35228d2120a7e4d47b2af7b76641377ccfb38187865de0a04691';

for (const suite of ALL_SUITES) {
  test(`suite ${suite}: the server assigns an identity`, async (t) => {
    const p = makeParties({ suite });
    const client = p.client();
    const out = await pump(client, p.server.accept());
    if (out.client.kind !== 'done' || out.server.kind !== 'done')
      return t.fail(`${out.client.kind}/${out.server.kind}`);
    t.is(toHex(out.client.result.identity), toHex(out.server.result.identity));
    t.not(toHex(out.client.result.identity), '00'.repeat(16));
    t.is(out.client.result.suite, suite);
    t.is(out.server.result.suite, suite);
    t.is(toHex(out.server.result.pseudonym), PSEUDONYM);
    t.is(toHex(out.server.result.gid), toHex(p.daa.gid));
    t.is(toHex(out.server.result.longtermPublicKey), toHex(out.client.result.longtermPublicKey));
    t.is(toHex(out.client.result.serverPublicKey), toHex(p.pki.serverSigner.publicKey));
    t.deepEqual(
      out.wire.map((w) => [w.direction, w.bytes[0], w.bytes.length]),
      [
        ['c2s', MsgType.ClientInit, 70],
        ['s2c', MsgType.ServerInitAndAttest, 417],
        ['c2s', MsgType.Identity_ClientAttest, 750],
        ['s2c', MsgType.Identity_ServerFinished, 103],
      ],
    );
  });

  test(`suite ${suite}: the client requests an identity and gets it`, async (t) => {
    const p = makeParties({ suite });
    const requestedId = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, suite]);
    const out = await pump(p.client({ requestedId }), p.server.accept());
    if (out.client.kind !== 'done' || out.server.kind !== 'done')
      return t.fail(`${out.client.kind}/${out.server.kind}`);
    t.is(toHex(out.client.result.identity), toHex(requestedId));
    t.is(toHex(out.server.result.identity), toHex(requestedId));
  });
}

test('the same device handshakes twice (new cookie, new ephemeral keys) and keeps its id', async (t) => {
  const p = makeParties({ suite: 1 });
  const client1 = p.client();
  const a = await pump(client1, p.server.accept());
  const b = await pump(p.client(), p.server.accept());
  if (a.client.kind !== 'done' || b.client.kind !== 'done') return t.fail();
  t.is(toHex(a.client.result.identity), toHex(b.client.result.identity));
  t.not(toHex(a.wire[1]!.bytes.subarray(6, 168)), toHex(b.wire[1]!.bytes.subarray(6, 168)));
});

test('overlapping receive() calls are consumed in order (byte-at-a-time, not awaited)', async (t) => {
  const ids = new MemoryPolicy([], systemRng);
  const p = makeParties({
    suite: 2,
    daa: fakeDaaSigner(),
    policy: { verifyDaa: fakeDaaVerify(), assignIdentity: ids.assignIdentity },
  });
  const client = p.client();
  const hs = p.server.accept();
  const ci = client.start();
  if (ci.kind !== 'send') return t.fail();
  const serverSteps = await Promise.all([...ci.data].map((b) => hs.receive(Uint8Array.of(b))));
  const siaa = serverSteps.at(-1)!;
  t.true(serverSteps.slice(0, -1).every((s) => s.kind === 'need'));
  if (siaa.kind !== 'send') return t.fail(siaa.kind);
  const clientSteps = await Promise.all([
    client.receive(siaa.data.subarray(0, 100)),
    client.receive(siaa.data.subarray(100)),
  ]);
  const ica = clientSteps[1];
  if (ica.kind !== 'send') return t.fail(ica.kind);
  const fin = await hs.receive(ica.data);
  if (fin.kind !== 'done' || !fin.data) return t.fail(fin.kind);
  const done = await client.receive(fin.data);
  t.is(done.kind, 'done');
});

test('accept(policy) decides through that connection policy; the handshake exposes the negotiated suite', async (t) => {
  const ids = new MemoryPolicy([], systemRng);
  const p = makeParties({
    suite: 3,
    daa: fakeDaaSigner(),
    policy: { verifyDaa: fakeDaaVerify(), assignIdentity: ids.assignIdentity },
  });
  const seen: number[] = [];
  const verify = fakeDaaVerify();
  const connection: ServerPolicy = {
    verifyDaa: (req) => {
      seen.push(req.suite);
      return verify(req);
    },
    assignIdentity: () => Promise.resolve({ ok: false, reason: 'this connection is refused' }),
  };
  const hs = p.server.accept(connection);
  t.is(hs.suite, undefined, 'no suite before ClientInit');
  const client = p.client();
  const ci = client.start();
  if (ci.kind !== 'send') return t.fail();
  const siaa = await hs.receive(ci.data);
  if (siaa.kind !== 'send') return t.fail(siaa.kind);
  t.is(hs.suite, 3);
  const ica = await client.receive(siaa.data);
  if (ica.kind !== 'send') return t.fail(ica.kind);
  const fin = await hs.receive(ica.data);
  if (fin.kind !== 'failed') return t.fail(fin.kind);
  t.is(fin.error.code, 'IDENTITY_REJECTED', "the connection's policy refused, not the config's");
  t.deepEqual(seen, [3], 'the DAA check learns the suite');
  t.is(hs.suite, 3, 'still known after the end');
});

test('a handshake without any policy is refused at accept()', (t) => {
  const p = makePki();
  const server = new XttServer({
    certificate: p.serverCertificate,
    signer: p.serverSigner,
    cookies: new SealedCookieStrategy({ rng: systemRng }),
    rng: systemRng,
  });
  t.throws(() => server.accept(), { instanceOf: TypeError, message: /ServerPolicy/ });
});
