// Every connection to the XTT endpoint has a deadline from accept to close, whatever the peer does.
// Peers here read the server's last reply (an Error after garbage, the identity after a complete
// handshake) and then neither close nor send: with allowHalfOpen they never answer the server's FIN.
// The endpoint must destroy them after its close grace so they cannot hold their slots in the
// connection limits; a peer that writes after the last reply is cut at once. The idle timeout and
// the handshake deadline are set far beyond the test's bounds so only the new rule can close them.
// Assertions wait for the server's own count of open connections (no timing assertion).
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { systemRng } from '../../../protocol/util/rng.ts';
import { XttClient, type ClientStep } from '../../../protocol/xtt/client.ts';
import { decodeRootCertificate } from '../../../protocol/xtt/certificates.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { XttEndpoint } from '../../../server-stub/endpoint/xtt-endpoint.ts';
import { endpointWorld } from './_endpoint-world.ts';
import { TestDevice } from './_xtt-devices.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds or `boundMs` passes (a generous bound against a stuck server). */
async function eventually(cond: () => boolean, boundMs = 60_000): Promise<boolean> {
  for (let waited = 0; !cond() && waited < boundMs; waited += 50) await sleep(50);
  return cond();
}

/** A peer that never half-closes: waits for the server's reply, then keeps the socket as it is. */
function lingeringPeer(port: number, host: string): { sock: Socket; replied: Promise<Uint8Array> } {
  const sock = connect({ host: '127.0.0.1', port, localAddress: host, allowHalfOpen: true });
  sock.on('error', () => undefined);
  const replied = new Promise<Uint8Array>((resolve) => {
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('end', () => resolve(new Uint8Array(Buffer.concat(got))));
  });
  return { sock, replied };
}

test('peers that keep the connection open after the last reply lose it after the grace', async (t) => {
  const { endpoint, port, root, group, registry, pool, xtt, logger } = await endpointWorld(
    t,
    '2001:db8:dd:1::/64',
    {
      maxConnections: 64,
      maxPerSource: 2,
      idleTimeoutMs: 600_000,
      handshakeTimeoutMs: 600_000,
      closeGraceMs: 300,
    },
  );

  // 1. Garbage: the server answers with its 4-byte Error and ends; the peer stays.
  const garbage = [lingeringPeer(port, '127.0.3.1'), lingeringPeer(port, '127.0.3.1')];
  for (const p of garbage) p.sock.write(systemRng.bytes(70));
  for (const p of garbage) t.is((await p.replied).length, 4, 'the uniform Error message');
  t.true(await eventually(() => endpoint.openConnections === 0), 'both lingering peers were cut');
  t.false(
    garbage.some((p) => p.sock.destroyed),
    'the peers themselves never closed',
  );
  t.is(endpoint.stats.lingerCut, 2);

  // 2. The slots are free again: the same source (limit 2) completes a real handshake, and then
  //    lingers too, half-open, and is cut the same way.
  const device = new TestDevice(group.member());
  const client = new XttClient({
    suite: 1,
    roots: [decodeRootCertificate(root)],
    longterm: device.longterm,
    daa: device.daa,
    rng: systemRng,
  });
  const peer = lingeringPeer(port, '127.0.3.1');
  let result: ClientStep | undefined;
  let chain = Promise.resolve();
  const handle = (step: ClientStep) => {
    if (step.kind === 'send') peer.sock.write(step.data);
    else result = step;
  };
  peer.sock.on('connect', () => handle(client.start()));
  peer.sock.on('data', (d: Buffer) => {
    const bytes = new Uint8Array(d);
    chain = chain.then(async () => handle(await client.receive(bytes)));
  });
  await peer.replied;
  await chain;
  t.is(result?.kind, 'done', 'a real device provisioned from the source the lingering peers used');
  t.true(await eventually(() => endpoint.openConnections === 0), 'the provisioned peer was cut too');
  t.is(endpoint.stats.lingerCut, 3);

  // 3. Bytes after the last reply are not read into anything: the connection is cut at once (an
  //    endpoint whose grace would otherwise keep the peer for ten minutes).
  const patient = new XttEndpoint(
    {
      host: '127.0.0.1',
      port: 0,
      idleTimeoutMs: 600_000,
      handshakeTimeoutMs: 600_000,
      closeGraceMs: 600_000,
    },
    { xtt, policy: new IdentityPolicy(registry, { logger, verifier: pool }), logger },
  );
  const { port: port2 } = await patient.listen();
  t.teardown(() => patient.close());
  const chatty = lingeringPeer(port2, '127.0.3.2');
  chatty.sock.write(systemRng.bytes(70));
  await chatty.replied;
  chatty.sock.write(systemRng.bytes(16));
  t.true(await eventually(() => patient.openConnections === 0));
  t.is(patient.stats.lingerCut, 1);
  t.true(logger.lines.some((l) => l.includes('conn.linger-cut') && l.includes('bytes-after-reply')));
  t.true(logger.lines.some((l) => l.includes('conn.linger-cut') && l.includes('no-close-after-reply')));
  for (const p of [...garbage, peer, chatty]) p.sock.destroy();
});

/** A real device's handshake from `host`; resolves with the client's last step. */
function provision(port: number, host: string, root: Uint8Array, device: TestDevice): Promise<ClientStep> {
  const client = new XttClient({
    suite: 1,
    roots: [decodeRootCertificate(root)],
    longterm: device.longterm,
    daa: device.daa,
    rng: systemRng,
  });
  const sock = connect({ host: '127.0.0.1', port, localAddress: host });
  return new Promise((resolve) => {
    let chain = Promise.resolve();
    const handle = (step: ClientStep) => {
      if (step.kind === 'send') sock.write(step.data);
      else {
        resolve(step);
        sock.destroy();
      }
    };
    sock.on('error', () => undefined);
    sock.on('close', () => chain.then(() => resolve({ kind: 'failed' } as unknown as ClientStep)));
    sock.on('connect', () => handle(client.start()));
    sock.on('data', (d: Buffer) => {
      const bytes = new Uint8Array(d);
      chain = chain.then(async () => handle(await client.receive(bytes)));
    });
  });
}

test('at the connection limit a newcomer takes the slot of a peer that was answered and lingers', async (t) => {
  // The grace and every timeout are far beyond the test: only eviction can free a slot.
  const { endpoint, port, root, group, logger } = await endpointWorld(t, '2001:db8:dd:2::/64', {
    maxConnections: 3,
    maxPerSource: 16,
    idleTimeoutMs: 600_000,
    handshakeTimeoutMs: 600_000,
    closeGraceMs: 600_000,
  });
  const peers: Socket[] = [];
  t.teardown(() => {
    for (const s of peers) s.destroy();
  });

  // 1. Three silent peers fill the limit; they were not answered, so nobody can be evicted: a
  //    newcomer is refused.
  for (let i = 0; i < 3; i++) {
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.4.1' });
    s.on('error', () => undefined);
    peers.push(s);
  }
  t.true(await eventually(() => endpoint.openConnections === 3));
  const refused = await provision(port, '127.0.4.2', root, new TestDevice(group.member()));
  t.not(refused.kind, 'done', 'no slot: the newcomer is refused');
  t.is(endpoint.stats.rejectedByLimit, 1);
  for (const s of peers.splice(0)) s.destroy();
  t.true(await eventually(() => endpoint.openConnections === 0));

  // 2. Three peers that got their Error and linger fill the limit; a real device still provisions,
  //    taking the oldest lingering peer's slot.
  const lingerers = [1, 2, 3].map(() => lingeringPeer(port, '127.0.4.3'));
  for (const p of lingerers) peers.push(p.sock);
  for (const p of lingerers) p.sock.write(systemRng.bytes(70));
  for (const p of lingerers) t.is((await p.replied).length, 4, 'the uniform Error message');
  t.is(endpoint.openConnections, 3);
  const done = await provision(port, '127.0.4.4', root, new TestDevice(group.member()));
  t.is(done.kind, 'done', 'the device provisioned at the limit');
  // The evicted peer cannot tell (it already had the server's FIN and never reads again): the
  // server's own count says who lost the slot.
  t.is(endpoint.stats.lingerCut, 1, 'one lingering peer lost its slot');
  t.is(endpoint.stats.rejectedByLimit, 1, 'nobody else was refused');
  t.true(logger.lines.some((l) => l.includes('conn.linger-cut') && l.includes('evicted-at-limit')));
});
