// The thin TCP adapter around protocol/xtt's sans-I/O XttClient (STYLE.md "Boundaries": the
// handshake is sans-I/O, the TCP loop is a thin adapter). Connects, writes what the client asks to
// send, feeds it what arrives (in order, one step at a time), and returns its result. Bounds: a
// connect timeout, an overall handshake timeout and the caller's AbortSignal; the client's framer
// bounds message sizes (<= 750 bytes) and rejects bytes beyond the current message.
// Errors: the client's own ProtocolError as is; transport failures as ProtocolError with stage
// 'transport' and code CONNECT_FAILED, CONNECT_TIMEOUT, CONNECTION_CLOSED, TIMEOUT or ABORTED.
import { connect, type Socket } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { SerialQueue } from '../protocol/util/serial-queue.ts';
import type { ClientResult, ClientStep, XttClient } from '../protocol/xtt/client.ts';
import type { HandshakeTarget } from './identity-provisioner.ts';

/** Where and how long: the identity provisioner's HandshakeTarget (runXttClientOverTcp is its HandshakeRunner). */
export type XttTcpTarget = HandshakeTarget;

const STAGE = 'transport';

export function runXttClientOverTcp(client: XttClient, target: XttTcpTarget): Promise<ClientResult> {
  return new Promise<ClientResult>((resolve, reject) => {
    if (target.signal.aborted) {
      reject(new ProtocolError('ABORTED', STAGE, 'aborted before connecting'));
      return;
    }
    let settled = false;
    let connected = false;
    // Steps run one at a time, in the order the bytes and events arrived.
    const steps = new SerialQueue();
    const socket: Socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);

    const finish = (err: ProtocolError | undefined, result?: ClientResult, lastWrite?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(handshakeTimer);
      target.signal.removeEventListener('abort', onAbort);
      if (lastWrite && connected && !socket.destroyed) socket.end(lastWrite);
      else if (result && !socket.destroyed) socket.end();
      else socket.destroy();
      if (err) reject(err);
      else resolve(result!);
    };

    const onAbort = (): void => finish(new ProtocolError('ABORTED', STAGE, 'aborted'));
    target.signal.addEventListener('abort', onAbort, { once: true });
    const connectTimer = setTimeout(
      () =>
        finish(
          new ProtocolError('CONNECT_TIMEOUT', STAGE, `no connection within ${target.connectTimeoutMs} ms`),
        ),
      target.connectTimeoutMs,
    );
    const handshakeTimer = setTimeout(
      () =>
        finish(
          new ProtocolError(
            'TIMEOUT',
            STAGE,
            `handshake not finished within ${target.handshakeTimeoutMs} ms`,
          ),
        ),
      target.handshakeTimeoutMs,
    );

    const apply = (step: ClientStep): void => {
      switch (step.kind) {
        case 'send':
          socket.write(step.data);
          return;
        case 'need':
          return;
        case 'done':
          finish(undefined, step.result);
          return;
        case 'failed':
          finish(step.error, undefined, step.data);
          return;
      }
    };

    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      try {
        apply(client.start());
      } catch (cause) {
        finish(new ProtocolError('INTERNAL', 'ClientInit', 'client could not start', { cause }));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length).slice();
      steps
        .run(async () => {
          if (settled) return;
          apply(await client.receive(bytes));
        })
        .catch((cause: unknown) =>
          finish(new ProtocolError('INTERNAL', STAGE, 'client step failed', { cause })),
        );
    });
    socket.on('end', () => {
      void steps.run(() =>
        finish(new ProtocolError('CONNECTION_CLOSED', STAGE, 'server closed the connection')),
      );
    });
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      const code = connected ? 'CONNECTION_CLOSED' : 'CONNECT_FAILED';
      finish(
        new ProtocolError(
          code,
          STAGE,
          `${cause.code ?? 'socket error'} talking to ${target.host}:${target.port}`,
          { cause },
        ),
      );
    });
    socket.on('close', () => {
      void steps.run(() => finish(new ProtocolError('CONNECTION_CLOSED', STAGE, 'connection closed')));
    });
  });
}
