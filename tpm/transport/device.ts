// Kernel TPM device transport (/dev/tpmrm0, the in-kernel resource manager; /dev/tpm0 works the
// same but without context swapping). Linux's TPM character device takes one whole command per
// write(2) and returns one whole response per read(2) (drivers/char/tpm/tpm-dev-common.c), so: one
// write, one read, then the header's size must equal the bytes read. One command in flight.
import { open, type FileHandle } from 'node:fs/promises';
import { TpmTransportError } from '../errors.ts';
import { SerialQueue } from '../../protocol/util/serial-queue.ts';
import { MAX_RESPONSE_SIZE, type TpmTransport } from './transport.ts';

export class DeviceTransport implements TpmTransport {
  /** One command in flight. */
  private readonly queue = new SerialQueue();
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly description: string,
  ) {}

  static async open(path = '/dev/tpmrm0'): Promise<DeviceTransport> {
    try {
      return new DeviceTransport(await open(path, 'r+'), path);
    } catch (cause) {
      throw new TpmTransportError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      if (this.closed) throw new TpmTransportError(`${this.description} is closed`);
      const { bytesWritten } = await this.fh
        .write(command, 0, command.length, null)
        .catch((cause: unknown) => {
          throw new TpmTransportError(`write to ${this.description} failed: ${(cause as Error).message}`, {
            cause,
          });
        });
      if (bytesWritten !== command.length) {
        throw new TpmTransportError(
          `short write to ${this.description}: ${bytesWritten} of ${command.length}`,
        );
      }
      const buf = new Uint8Array(MAX_RESPONSE_SIZE);
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, null).catch((cause: unknown) => {
        throw new TpmTransportError(`read from ${this.description} failed: ${(cause as Error).message}`, {
          cause,
        });
      });
      return checkResponseFrame(buf.subarray(0, bytesRead), this.description);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.run(() => this.fh.close());
  }
}

/** A complete response: at least a header, and a size field equal to the byte count. */
export function checkResponseFrame(resp: Uint8Array, from: string): Uint8Array {
  if (resp.length < 10)
    throw new TpmTransportError(`${from}: response of ${resp.length} bytes is shorter than a header`);
  const size = ((resp[2]! << 24) | (resp[3]! << 16) | (resp[4]! << 8) | resp[5]!) >>> 0;
  if (size !== resp.length) {
    throw new TpmTransportError(`${from}: response size field ${size} but ${resp.length} bytes read`);
  }
  return resp;
}
