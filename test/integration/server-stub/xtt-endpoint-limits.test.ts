// Global and per-source connection limits of the XTT endpoint with many sources (Linux routes all of
// 127.0.0.0/8 to loopback, so each test client binds its own 127.0.0.N): a flood of idle connections
// fills the global limit, further ones are cut at once, the idle ones are dropped at the idle
// timeout, and a real device is served afterwards. Nothing of the flood reaches the registry.
// The verification pool's saturation hint (handshakesInProgress) counts connections in their
// handshake, not those that got their last reply.
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { systemRng } from '../../../protocol/util/rng.ts';
import { decodeRootCertificate } from '../../../protocol/xtt/certificates.ts';
import { XttClient } from '../../../protocol/xtt/client.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { endpointWorld } from './_endpoint-world.ts';
import { handshake, TestDevice } from './_xtt-devices.ts';

test('a flood from many sources is capped globally and per source; service resumes', async (t) => {
  const { endpoint, port, root, group, registry, logger } = await endpointWorld(t, '2001:db8:cc:1::/64', {
    maxConnections: 8,
    maxPerSource: 3,
    // Long enough that a real handshake on a loaded machine never meets them; the test waits for
    // the idle cut instead of sleeping a fixed time.
    idleTimeoutMs: 5_000,
    handshakeTimeoutMs: 120_000,
  });

  // 5 sources x 4 connections: per source 3 accepted (15 > 8), so the global limit decides.
  const socks: Socket[] = [];
  for (let src = 2; src <= 6; src++) {
    for (let i = 0; i < 4; i++)
      socks.push(
        connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${src}` }).on('error', () => undefined),
      );
  }
  await waitUntil('all 20 connections accepted or rejected', () => endpoint.stats.rejectedByLimit >= 12);
  t.is(endpoint.openConnections, 8);
  t.is(endpoint.stats.rejectedByLimit, 12);
  t.true(logger.lines.some((l) => l.includes('reason=global-limit')));
  t.true(logger.lines.some((l) => l.includes('reason=per-source-limit')));

  // The idle flood is cut at the idle timeout; then a device from yet another source is served.
  await waitUntil('the idle flood cut at the idle timeout', () => endpoint.openConnections === 0);
  t.true(endpoint.stats.timedOut >= 8);
  const r = await handshake(port, new TestDevice(group.member()), root, { host: '127.0.0.1' });
  t.true(r.ok);
  const audit = await registry.queryAudit();
  t.deepEqual(
    audit.map((a) => a.reason),
    ['new-device'],
    'the flood left no trace in the registry',
  );
  socks.forEach((s) => s.destroy());
});

test('handshakesInProgress counts connections in their handshake, not finished ones', async (t) => {
  const { endpoint, port, root, group } = await endpointWorld(t, '2001:db8:cc:2::/64', {
    maxConnections: 64,
    maxPerSource: 64,
    idleTimeoutMs: 60_000,
    handshakeTimeoutMs: 120_000,
  });
  // Eight connections that have sent nothing yet: in their handshake (the bytes may be on the way).
  const idle = Array.from({ length: 8 }, () =>
    connect({ host: '127.0.0.1', port }).on('error', () => undefined),
  );
  await waitUntil('8 idle connections accepted', () => endpoint.openConnections === 8);
  t.is(endpoint.handshakesInProgress, 8);
  // A device that sends its ClientInit, reads ServerInitAndAttest and stops there: in progress.
  const device = new TestDevice(group.member());
  const client = new XttClient({
    suite: 1,
    roots: [decodeRootCertificate(root)],
    longterm: device.longterm,
    daa: device.daa,
    rng: systemRng,
  });
  const half = connect({ host: '127.0.0.1', port }).on('error', () => undefined);
  let isAnswered = false;
  half.on('connect', () => {
    const step = client.start();
    if (step.kind === 'send') half.write(step.data);
  });
  half.on('data', () => (isAnswered = true));
  await waitUntil('ServerInitAndAttest received', () => isAnswered);
  t.is(endpoint.handshakesInProgress, 9);
  half.destroy();
  await waitUntil('the half handshake closed', () => endpoint.openConnections === 8);
  t.is(endpoint.handshakesInProgress, 8);
  // A whole handshake: once its last reply is sent it no longer counts, lingering or closed.
  t.true((await handshake(port, new TestDevice(group.member()), root)).ok);
  t.is(endpoint.handshakesInProgress, 8);
  idle.forEach((s) => s.destroy());
});
