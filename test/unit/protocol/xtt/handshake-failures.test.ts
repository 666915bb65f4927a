// A failing case per stage: every one ends with a typed ProtocolError on the
// side that detects it, and the server either answers with the 4-byte Error message or stays silent
// (only after the client's own Error); nothing throws out of receive().
import test from 'ava';
import { ProtocolError } from '../../../../protocol/errors.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { toHex } from '../../../../protocol/util/bytes.ts';
import type { SuiteSpec } from '../../../../protocol/xtt/constants.ts';
import { SealedCookieStrategy } from '../../../../protocol/xtt/cookie.ts';
import { SoftwareP256Signer, type ServerPolicy } from '../../../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../../../../protocol/xtt/software-daa-signer.ts';
import { fakeDaaSigner, fakeDaaVerify } from '../../../fakes/fake-daa.ts';
import {
  MemoryPolicy,
  OTHER_GPK,
  SAMPLE_DAA,
  makeParties,
  makePki,
  pump,
  type Outcome,
  type Tamper,
} from '../../../helpers/xtt-parties.ts';
import { fromHex } from '../../../../protocol/util/bytes.ts';

const ERROR_MSG = '41000401';

function fastPolicy(over: Partial<ServerPolicy> = {}): ServerPolicy {
  const ids = new MemoryPolicy([], systemRng);
  return { verifyDaa: fakeDaaVerify(), assignIdentity: ids.assignIdentity, ...over };
}

function fastParties(
  o: {
    suite?: SuiteSpec;
    policy?: ServerPolicy;
    clock?: { now(): number };
    server?: Parameters<typeof makeParties>[0]['server'];
  } = {},
) {
  return makeParties({
    suite: o.suite ?? 1,
    daa: fakeDaaSigner(),
    policy: o.policy ?? fastPolicy(),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.server ? { server: o.server } : {}),
  });
}

function flip(index: number, at: number, dir: 'c2s' | 's2c', mask = 0x01): Tamper {
  return (d, i, bytes) => {
    if (d !== dir || i !== index) return bytes;
    const out = bytes.slice();
    out[at]! ^= mask;
    return out;
  };
}

function code(step: Outcome['client'] | Outcome['server']): string | undefined {
  if (step.kind !== 'failed') return undefined;
  if (!(step.error instanceof ProtocolError)) throw new Error('not a ProtocolError');
  return step.error.code;
}

function sent(step: Outcome['client'] | Outcome['server']): string | undefined {
  return step.kind === 'failed' && step.data ? toHex(step.data) : undefined;
}

test('sanity: the fast parties complete a handshake', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept());
  t.is(out.client.kind, 'done');
  t.is(out.server.kind, 'done');
});

test('ClientInit with version 2: server answers Error, client sees RECEIVED_ERROR', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept(), flip(0, 3, 'c2s', 0x03));
  t.is(code(out.server), 'BAD_MESSAGE');
  t.is(sent(out.server), ERROR_MSG);
  t.is(code(out.client), 'RECEIVED_ERROR');
});

test('ClientInit with unknown suite 5 and with a suite the server does not accept', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept(), flip(0, 5, 'c2s', 0x04));
  t.is(code(out.server), 'BAD_MESSAGE');
  t.is(sent(out.server), ERROR_MSG);
  const q = fastParties({ suite: 3, server: { suites: [1] } });
  const out2 = await pump(q.client(), q.server.accept());
  t.is(code(out2.server), 'UNSUPPORTED_SUITE');
  t.is(sent(out2.server), ERROR_MSG);
  t.is(code(out2.client), 'RECEIVED_ERROR');
});

test('ServerInitAndAttest naming another suite: client rejects with WRONG_SUITE and sends Error', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept(), flip(0, 5, 's2c', 0x02)); // suite 1 -> 3
  t.is(code(out.client), 'WRONG_SUITE');
  t.is(sent(out.client), ERROR_MSG);
  t.is(code(out.server), 'RECEIVED_ERROR');
  t.is(sent(out.server), undefined);
});

for (const [what, at] of [
  ['dh_keyshare_s', 10],
  ['cookie (associated data)', 100],
  ['ciphertext', 200],
  ['tag', 416],
] as const) {
  test(`ServerInitAndAttest with tampered ${what}: client AEAD failure`, async (t) => {
    const p = fastParties({ suite: at === 200 ? 3 : 2 });
    const out = await pump(p.client(), p.server.accept(), flip(0, at, 's2c'));
    t.is(code(out.client), 'AEAD');
    t.is(sent(out.client), ERROR_MSG);
    t.is(code(out.server), 'RECEIVED_ERROR');
  });
}

test('Identity_ClientAttest with tampered ciphertext or tag: server AEAD failure and Error', async (t) => {
  for (const at of [300, 749]) {
    const p = fastParties({ suite: 4 });
    const out = await pump(p.client(), p.server.accept(), flip(1, at, 'c2s'));
    t.is(code(out.server), 'AEAD');
    t.is(sent(out.server), ERROR_MSG);
    t.is(code(out.client), 'RECEIVED_ERROR');
  }
});

test('Identity_ClientAttest with a modified cookie echo: COOKIE_INVALID', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept(), flip(1, 40, 'c2s'));
  t.is(code(out.server), 'COOKIE_INVALID');
  t.is(sent(out.server), ERROR_MSG);
});

test('Identity_ServerFinished with tampered ciphertext: client AEAD failure', async (t) => {
  const p = fastParties();
  const out = await pump(p.client(), p.server.accept(), flip(1, 50, 's2c'));
  t.is(out.server.kind, 'done');
  t.is(code(out.client), 'AEAD');
});

test('bad server signature (server key does not match its certificate)', async (t) => {
  const pki = makePki();
  const wrong = SoftwareP256Signer.generate(systemRng);
  const p = makeParties({
    suite: 1,
    pki,
    daa: fakeDaaSigner(),
    policy: fastPolicy(),
    server: { signer: { publicKey: pki.serverSigner.publicKey, sign: (m) => wrong.sign(m) } },
  });
  const out = await pump(p.client(), p.server.accept());
  t.is(code(out.client), 'BAD_SERVER_SIGNATURE');
  t.is(sent(out.client), ERROR_MSG);
  t.is(code(out.server), 'RECEIVED_ERROR');
});

test('server certificate from another root: UNKNOWN_ROOT; same root id, other key: BAD_ROOT_SIGNATURE', async (t) => {
  const p = fastParties();
  const other = makePki();
  const out = await pump(p.client({ roots: [other.root] }), p.server.accept());
  t.is(code(out.client), 'UNKNOWN_ROOT');
  t.is(sent(out.client), ERROR_MSG);
  const impostor = { rootId: p.pki.root.rootId, publicKey: other.root.publicKey };
  const out2 = await pump(p.client({ roots: [impostor] }), p.server.accept());
  t.is(code(out2.client), 'BAD_ROOT_SIGNATURE');
});

test('expired cookie: the client answers after 31 s', async (t) => {
  const clock = {
    t: Date.UTC(2026, 10, 28, 4, 0, 0),
    now() {
      return this.t;
    },
  };
  const p = fastParties({ clock });
  const client = p.client();
  const hs = p.server.accept();
  const ci = client.start();
  if (ci.kind !== 'send') return t.fail();
  const siaa = await hs.receive(ci.data);
  if (siaa.kind !== 'send') return t.fail();
  const ica = await client.receive(siaa.data);
  if (ica.kind !== 'send') return t.fail();
  clock.t += 31_000;
  const fin = await hs.receive(ica.data);
  t.is(code(fin), 'COOKIE_EXPIRED');
  t.is(sent(fin), ERROR_MSG);
});

test('replayed Identity_ClientAttest (with its ClientInit) on a new connection is refused', async (t) => {
  const p = fastParties();
  const first = await pump(p.client(), p.server.accept());
  t.is(first.server.kind, 'done');
  const hs = p.server.accept();
  const siaa = await hs.receive(first.wire[0]!.bytes);
  t.is(siaa.kind, 'send');
  const fin = await hs.receive(first.wire[2]!.bytes);
  t.is(code(fin), 'COOKIE_INVALID');
  t.is(sent(fin), ERROR_MSG);
});

test('unknown group (real ECDAA: the client holds a credential of a group the server does not know)', async (t) => {
  const daa = new SoftwareDaaSigner({ ...SAMPLE_DAA, gpk: fromHex(OTHER_GPK.group_public_key) }, systemRng);
  const p = makeParties({ suite: 2, daa });
  const out = await pump(p.client(), p.server.accept());
  t.is(code(out.server), 'DAA_REJECTED');
  t.regex(out.server.kind === 'failed' ? out.server.error.message : '', /unknown group/);
  t.is(sent(out.server), ERROR_MSG);
  t.is(code(out.client), 'RECEIVED_ERROR');
});

test('bad DAA signature (real ECDAA, one byte of the signature changed)', async (t) => {
  const real = new SoftwareDaaSigner(SAMPLE_DAA, systemRng);
  const daa = {
    gid: real.gid,
    basename: real.basename,
    sign: async (m: Uint8Array) => {
      const sig = await real.sign(m);
      sig[40]! ^= 0x01; // inside s
      return sig;
    },
  };
  const p = makeParties({ suite: 3, daa });
  const out = await pump(p.client(), p.server.accept());
  t.is(code(out.server), 'DAA_REJECTED');
  t.is(sent(out.server), ERROR_MSG);
});

test('DAA signature over another message (fake DAA): DAA_REJECTED', async (t) => {
  const fake = fakeDaaSigner();
  const p = makeParties({
    suite: 1,
    policy: fastPolicy(),
    daa: { ...fake, sign: (m) => fake.sign(m.map((b) => b ^ 1)) },
  });
  const out = await pump(p.client(), p.server.accept());
  t.is(code(out.server), 'DAA_REJECTED');
});

test('wrong long-term signature: BAD_LONGTERM_SIGNATURE', async (t) => {
  const p = fastParties();
  const mine = SoftwareP256Signer.generate(systemRng);
  const other = SoftwareP256Signer.generate(systemRng);
  const out = await pump(
    p.client({ longterm: { publicKey: mine.publicKey, sign: (m) => other.sign(m) } }),
    p.server.accept(),
  );
  t.is(code(out.server), 'BAD_LONGTERM_SIGNATURE');
  t.is(sent(out.server), ERROR_MSG);
  t.is(code(out.client), 'RECEIVED_ERROR');
});

test('long-term key that is not a curve point: BAD_LONGTERM_KEY', async (t) => {
  const p = fastParties();
  const mine = SoftwareP256Signer.generate(systemRng);
  const bogus = mine.publicKey.slice();
  bogus[64]! ^= 1;
  const out = await pump(
    p.client({ longterm: { publicKey: bogus, sign: (m) => mine.sign(m) } }),
    p.server.accept(),
  );
  t.is(code(out.server), 'BAD_LONGTERM_KEY');
});

test('policy refuses the identity, or throws: Error message, typed reason', async (t) => {
  const refuse = fastParties({
    policy: fastPolicy({ assignIdentity: () => Promise.resolve({ ok: false, reason: 'blacklisted' }) }),
  });
  const out = await pump(refuse.client(), refuse.server.accept());
  t.is(code(out.server), 'IDENTITY_REJECTED');
  t.is(sent(out.server), ERROR_MSG);
  const boom = fastParties({
    policy: fastPolicy({ verifyDaa: () => Promise.reject(new Error('worker died')) }),
  });
  const out2 = await pump(boom.client(), boom.server.accept());
  t.is(code(out2.server), 'INTERNAL');
  t.is(sent(out2.server), ERROR_MSG);
  const mismatch = fastParties({
    policy: fastPolicy({
      assignIdentity: () => Promise.resolve({ ok: true, id: new Uint8Array(16).fill(9) }),
    }),
  });
  const out3 = await pump(
    mismatch.client({ requestedId: new Uint8Array(16).fill(1) }),
    mismatch.server.accept(),
  );
  t.is(code(out3.server), 'IDENTITY_REJECTED');
});

test('a client signer that fails: SIGNER_FAILED and Error', async (t) => {
  const p = fastParties();
  const mine = SoftwareP256Signer.generate(systemRng);
  const out = await pump(
    p.client({ longterm: { publicKey: mine.publicKey, sign: () => Promise.reject(new Error('TPM gone')) } }),
    p.server.accept(),
  );
  t.is(code(out.client), 'SIGNER_FAILED');
  t.is(sent(out.client), ERROR_MSG);
  const short = await pump(
    p.client({ longterm: { publicKey: mine.publicKey, sign: () => Promise.resolve(new Uint8Array(63)) } }),
    p.server.accept(),
  );
  t.is(code(short.client), 'SIGNER_FAILED');
});

test('low-order X25519 key share from the client: server refuses with Error', async (t) => {
  const p = fastParties();
  const tamper: Tamper = (d, i, b) =>
    d === 'c2s' && i === 0 ? Uint8Array.from([...b.subarray(0, 38), ...new Uint8Array(32)]) : b;
  const out = await pump(p.client(), p.server.accept(), tamper);
  t.is(code(out.server), 'X25519');
  t.is(sent(out.server), ERROR_MSG);
});

test('truncated messages wait for more bytes; a short length field, oversized or trailing bytes fail', async (t) => {
  const p = fastParties();
  const client = p.client();
  const ci = client.start();
  if (ci.kind !== 'send') return t.fail();
  // Truncated: the sans-I/O server asks for exactly the rest (the driver's timeout ends it).
  const hs = p.server.accept();
  t.deepEqual(await hs.receive(ci.data.subarray(0, 2)), { kind: 'need', bytes: 2 });
  t.deepEqual(await hs.receive(ci.data.subarray(2, 60)), { kind: 'need', bytes: 10 });
  t.is((await hs.receive(ci.data.subarray(60))).kind, 'send');
  // Length field 69 for a ClientInit.
  const bad = ci.data.slice();
  bad[2] = 69;
  const r1 = await p.server.accept().receive(bad.subarray(0, 4));
  t.is(code(r1), 'BAD_MESSAGE');
  t.is(sent(r1), ERROR_MSG);
  // Oversized: a header announcing 1024 bytes is refused after 4 bytes.
  const r2 = await p.server.accept().receive(Uint8Array.of(0x11, 0x04, 0x00, 0x01));
  t.is(code(r2), 'BAD_MESSAGE');
  // Trailing bytes after ClientInit.
  const r3 = await p.server.accept().receive(Uint8Array.from([...ci.data, 0]));
  t.is(code(r3), 'BAD_MESSAGE');
  // Identity_ClientAttest before ClientInit.
  const r4 = await p.server.accept().receive(Uint8Array.of(0x11, 0x02, 0xee, 0x01));
  t.is(code(r4), 'BAD_MESSAGE');
  // After failing, the handshake keeps returning the same step.
  const again = await p.server.accept();
  const f1 = await again.receive(Uint8Array.of(0xff, 0, 4, 1));
  t.is(await again.receive(new Uint8Array(10)), f1);
});

test('the sealed cookie strategy is what production servers use by default in these tests', (t) => {
  const p = fastParties();
  t.true(p.cookies instanceof SealedCookieStrategy);
});
