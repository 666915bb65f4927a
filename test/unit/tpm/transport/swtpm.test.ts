// The swtpm transport's wire behaviour against a loopback capture server, compared with the
// reference traces (test/vectors/tpm-traces): raw frames without mssim header, one TCP connection
// per command, CMD_SET_LOCALITY as "00000005 00". Fragmented answers are reassembled, answers
// longer or shorter than their size field are refused.
import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { fromHex, toHex } from '../../../../protocol/util/bytes.ts';
import { TpmTransportError } from '../../../../tpm/errors.ts';
import { SwtpmTransport } from '../../../../tpm/transport/swtpm.ts';

interface Capture {
  server: Server;
  port: number;
  connections: string[];
}

function capture(answer: (req: Buffer, sock: Socket) => void): Promise<Capture> {
  const connections: string[] = [];
  const server = createServer((sock) => {
    const idx = connections.push('') - 1;
    sock.on('data', (d: Buffer) => {
      connections[idx] += d.toString('hex');
      answer(d, sock);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0, connections });
    }),
  );
}

const selfTestCmd = fromHex('80010000000b0000014301');
const success = fromHex('80010000000a00000000');

test('raw framing, one connection per command, fragmented answer reassembled', async (t) => {
  const cap = await capture((_req, sock) => {
    sock.write(success.subarray(0, 3));
    setTimeout(() => sock.write(success.subarray(3)), 10);
  });
  const tr = new SwtpmTransport({ host: '127.0.0.1', port: cap.port, ctrlPort: cap.port });
  t.is(toHex(await tr.transmit(selfTestCmd)), toHex(success));
  t.is(toHex(await tr.transmit(selfTestCmd)), toHex(success));
  t.deepEqual(cap.connections, ['80010000000b0000014301', '80010000000b0000014301']);
  cap.server.close();
});

test('control channel: CMD_SET_LOCALITY bytes equal the recorded ones', async (t) => {
  const cap = await capture((_req, sock) => sock.write(Buffer.from('00000000', 'hex')));
  const tr = new SwtpmTransport({ host: '127.0.0.1', port: cap.port, ctrlPort: cap.port });
  await tr.setLocality(0);
  t.deepEqual(cap.connections, ['0000000500']);
  cap.server.close();
});

test('a failing control answer and a refused connection are TpmTransportError', async (t) => {
  const cap = await capture((_req, sock) => sock.write(Buffer.from('00000009', 'hex')));
  const tr = new SwtpmTransport({ host: '127.0.0.1', port: cap.port, ctrlPort: cap.port });
  await t.throwsAsync(tr.setLocality(0), { instanceOf: TpmTransportError, message: /0x9/ });
  cap.server.close();
  await new Promise((r) => setTimeout(r, 20));
  await t.throwsAsync(tr.transmit(selfTestCmd), { instanceOf: TpmTransportError });
});

test('answers longer than their size field, or cut short, are refused', async (t) => {
  const long = await capture((_req, sock) => sock.write(Buffer.from('80010000000a0000000000', 'hex')));
  const tr1 = new SwtpmTransport({ host: '127.0.0.1', port: long.port });
  await t.throwsAsync(tr1.transmit(selfTestCmd), { instanceOf: TpmTransportError, message: /beyond/ });
  long.server.close();
  const short = await capture((_req, sock) => sock.end(Buffer.from('80010000000a0000', 'hex')));
  const tr2 = new SwtpmTransport({ host: '127.0.0.1', port: short.port });
  await t.throwsAsync(tr2.transmit(selfTestCmd), {
    instanceOf: TpmTransportError,
    message: /closed after 8 bytes/,
  });
  short.server.close();
});

test('a closed transport refuses to send', async (t) => {
  const tr = new SwtpmTransport({ host: '127.0.0.1', port: 1 });
  await tr.close();
  await t.throwsAsync(tr.transmit(selfTestCmd), { instanceOf: TpmTransportError, message: /closed/ });
});
