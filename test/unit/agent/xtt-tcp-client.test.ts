// agent/xtt-tcp-client.ts over real loopback TCP: a full handshake against protocol/xtt's server
// (driven per connection by a minimal loop written here), and each transport failure: refused
// connection, server closing early, a silent server (timeout), abort, and a server Error message.
import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import type { XttServer } from '../../../protocol/xtt/server.ts';
import { runXttClientOverTcp, type XttTcpTarget } from '../../../agent/xtt-tcp-client.ts';
import { MemoryPolicy, makeParties } from '../../helpers/xtt-parties.ts';
import { fakeDaaSigner, fakeDaaVerify } from '../../fakes/fake-daa.ts';

async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port };
}

/** One XttServerHandshake per connection, fed in order. */
function xttConnection(xtt: XttServer): (s: Socket) => void {
  return (sock) => {
    const hs = xtt.accept();
    let chain = Promise.resolve();
    sock.on('data', (chunk) => {
      chain = chain.then(async () => {
        const step = await hs.receive(new Uint8Array(chunk));
        if (step.kind === 'send') sock.write(step.data);
        else if (step.kind === 'done' || step.kind === 'failed') sock.end(step.data ?? new Uint8Array(0));
      });
    });
    sock.on('error', () => sock.destroy());
  };
}

function parties() {
  const ids = new MemoryPolicy([], systemRng);
  return makeParties({
    suite: 3,
    daa: fakeDaaSigner(),
    policy: { verifyDaa: fakeDaaVerify(), assignIdentity: ids.assignIdentity },
  });
}

function target(port: number, over: Partial<XttTcpTarget> = {}): XttTcpTarget {
  return {
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 2000,
    handshakeTimeoutMs: 5000,
    signal: new AbortController().signal,
    ...over,
  };
}

test('a full handshake over loopback TCP', async (t) => {
  const p = parties();
  let serverResult: Uint8Array | undefined;
  const { server, port } = await listen((sock) => {
    const hs = p.server.accept();
    let chain = Promise.resolve();
    sock.on('data', (chunk) => {
      chain = chain.then(async () => {
        const step = await hs.receive(new Uint8Array(chunk));
        if (step.kind === 'send') sock.write(step.data);
        if (step.kind === 'done') {
          serverResult = step.result.identity;
          sock.end(step.data ?? new Uint8Array(0));
        }
        if (step.kind === 'failed') sock.end(step.data ?? new Uint8Array(0));
      });
    });
  });
  try {
    const result = await runXttClientOverTcp(p.client(), target(port));
    t.is(result.identity.length, 16);
    t.is(toHex(result.identity), toHex(serverResult!));
  } finally {
    server.close();
  }
});

test('server answers Error: the client reports RECEIVED_ERROR', async (t) => {
  const p = makeParties({
    suite: 1,
    daa: fakeDaaSigner(),
    policy: { verifyDaa: fakeDaaVerify([]), assignIdentity: new MemoryPolicy([]).assignIdentity },
  });
  const { server, port } = await listen(xttConnection(p.server));
  try {
    await t.throwsAsync(runXttClientOverTcp(p.client(), target(port)), { code: 'RECEIVED_ERROR' });
  } finally {
    server.close();
  }
});

test('connection refused: CONNECT_FAILED', async (t) => {
  const { server, port } = await listen(() => undefined);
  server.close();
  await once(server, 'close');
  await t.throwsAsync(runXttClientOverTcp(parties().client(), target(port)), { code: 'CONNECT_FAILED' });
});

test('server closes after ClientInit: CONNECTION_CLOSED', async (t) => {
  const { server, port } = await listen((sock) => sock.once('data', () => sock.end()));
  try {
    await t.throwsAsync(runXttClientOverTcp(parties().client(), target(port)), { code: 'CONNECTION_CLOSED' });
  } finally {
    server.close();
  }
});

test('silent server: TIMEOUT; abort: ABORTED; already aborted: ABORTED', async (t) => {
  const sockets: Socket[] = [];
  const { server, port } = await listen((sock) => sockets.push(sock));
  try {
    await t.throwsAsync(runXttClientOverTcp(parties().client(), target(port, { handshakeTimeoutMs: 200 })), {
      code: 'TIMEOUT',
    });
    const ac = new AbortController();
    const run = runXttClientOverTcp(parties().client(), target(port, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 50);
    await t.throwsAsync(run, { code: 'ABORTED' });
    await t.throwsAsync(
      runXttClientOverTcp(parties().client(), target(port, { signal: AbortSignal.abort() })),
      { code: 'ABORTED' },
    );
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('server sends garbage: the client fails with BAD_MESSAGE and answers with Error', async (t) => {
  const received: number[] = [];
  let ended!: () => void;
  const clientEnded = new Promise<void>((r) => (ended = r));
  const { server, port } = await listen((sock) => {
    sock.once('data', () => sock.write(Uint8Array.of(0x99, 0, 4, 1)));
    sock.on('data', (d) => received.push(...d));
    sock.on('end', () => ended());
    sock.on('error', () => sock.destroy());
  });
  try {
    await t.throwsAsync(runXttClientOverTcp(parties().client(), target(port)), { code: 'BAD_MESSAGE' });
    await clientEnded; // the client half-closes after writing its Error message
    t.is(received.length, 70 + 4);
    t.is(toHex(Uint8Array.from(received.slice(70))), '41000401');
  } finally {
    server.close();
  }
});
