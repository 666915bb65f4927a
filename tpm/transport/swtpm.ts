// swtpm TCP transport, speaking what tpm2-tss's "swtpm" TCTI speaks (reference traces README,
// "Framing on the wire"): raw TPM frames without any mssim header on the data port, a new TCP
// connection per command, and swtpm's control channel (swtpm's ctrlchannel protocol, big-endian:
// u32 command, payload; answer u32 result) for CMD_INIT (power on), CMD_SHUTDOWN and
// CMD_SET_LOCALITY. Used by tests and by factory stations that reach a TPM over a socket.
import { connect, type Socket } from 'node:net';
import { TpmTransportError } from '../errors.ts';
import { checkResponseFrame } from './device.ts';
import { SerialQueue } from '../../protocol/util/serial-queue.ts';
import { MAX_RESPONSE_SIZE, type TpmTransport } from './transport.ts';

export const CMD_INIT = 2;
export const CMD_SHUTDOWN = 3;
export const CMD_SET_LOCALITY = 5;

export interface SwtpmOptions {
  readonly host: string;
  readonly port: number;
  /** Control port; swtpm's convention (and tpm2-tss's default) is data port + 1. */
  readonly ctrlPort?: number;
  /** Per-exchange timeout in milliseconds (default 60 s: key generation on a slow host). */
  readonly timeoutMs?: number;
}

/** Writes `request` on a fresh connection and reads until `complete(received)` says how long it is. */
function exchange(
  host: string,
  port: number,
  request: Uint8Array,
  expectedLength: (got: Buffer) => number | undefined,
  timeoutMs: number,
  what: string,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const sock: Socket = connect({ host, port });
    const finish = (err: Error | undefined, value?: Uint8Array): void => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    sock.setTimeout(timeoutMs, () =>
      finish(new TpmTransportError(`${what}: no complete answer within ${timeoutMs} ms`)),
    );
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      const all = Buffer.concat(chunks, received);
      const want = expectedLength(all);
      if (want === undefined) return;
      if (want > MAX_RESPONSE_SIZE) finish(new TpmTransportError(`${what}: announced ${want} bytes`));
      else if (received > want)
        finish(new TpmTransportError(`${what}: ${received - want} bytes beyond the announced ${want}`));
      else if (received === want) finish(undefined, new Uint8Array(all.buffer, all.byteOffset, all.length));
    });
    sock.on('error', (cause) => finish(new TpmTransportError(`${what}: ${cause.message}`, { cause })));
    sock.on('close', () =>
      finish(new TpmTransportError(`${what}: connection closed after ${received} bytes`)),
    );
  });
}

export class SwtpmTransport implements TpmTransport {
  readonly description: string;
  /** One command in flight. */
  private readonly queue = new SerialQueue();
  private readonly ctrlPort: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: SwtpmOptions) {
    this.ctrlPort = opts.ctrlPort ?? opts.port + 1;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.description = `swtpm:${opts.host}:${opts.port}`;
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      if (this.closed) throw new TpmTransportError(`${this.description} is closed`);
      const resp = await exchange(
        this.opts.host,
        this.opts.port,
        command,
        (got) => (got.length >= 6 ? got.readUInt32BE(2) : undefined),
        this.timeoutMs,
        this.description,
      );
      return checkResponseFrame(resp, this.description);
    });
  }

  /** One control-channel command; resolves with swtpm's u32 result (0 = success). */
  control(cmd: number, payload: Uint8Array = new Uint8Array(0)): Promise<number> {
    return this.queue.run(async () => {
      const req = Buffer.alloc(4 + payload.length);
      req.writeUInt32BE(cmd, 0);
      req.set(payload, 4);
      const resp = await exchange(
        this.opts.host,
        this.ctrlPort,
        req,
        () => 4,
        this.timeoutMs,
        `swtpm control ${this.opts.host}:${this.ctrlPort} command ${cmd}`,
      );
      return Buffer.from(resp).readUInt32BE(0);
    });
  }

  /** CMD_INIT: power the TPM on (needed unless swtpm runs with --flags not-need-init). */
  async powerOn(): Promise<void> {
    const rc = await this.control(CMD_INIT, new Uint8Array(4));
    if (rc !== 0) throw new TpmTransportError(`swtpm CMD_INIT answered 0x${rc.toString(16)}`);
  }

  /** CMD_SET_LOCALITY, what the tss2 swtpm TCTI sends at initialisation (locality 0). */
  async setLocality(locality = 0): Promise<void> {
    const rc = await this.control(CMD_SET_LOCALITY, new Uint8Array([locality]));
    if (rc !== 0) throw new TpmTransportError(`swtpm CMD_SET_LOCALITY answered 0x${rc.toString(16)}`);
  }

  /** CMD_SHUTDOWN: swtpm saves its state and exits. Send TPM2_Shutdown first for an orderly stop. */
  async terminate(): Promise<void> {
    const rc = await this.control(CMD_SHUTDOWN);
    if (rc !== 0) throw new TpmTransportError(`swtpm CMD_SHUTDOWN answered 0x${rc.toString(16)}`);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
