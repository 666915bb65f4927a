// Host side of the test image's command channel (image/guest/control.sh on the guest's ttyS1,
// a QEMU `-chardev socket` in the device's run directory): sends one shell command line, collects
// its output and exit status from the `XTT-CTL ID ...` markers. Commands run one at a time, as
// root in the guest. Test images only; a device image has no such channel.
import { createConnection, type Socket } from 'node:net';

export interface GuestCommandResult {
  status: number;
  output: string;
}

export const CONTROL_SOCKET = 'control.sock';

export class GuestControl {
  private socket: Socket | undefined;
  private buffer = '';
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private pending:
    | { id: number; lines: string[]; done: (r: GuestCommandResult) => void; fail: (e: Error) => void }
    | undefined;

  constructor(
    private readonly path: string,
    private readonly name: string,
  ) {}

  private connect(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const s = createConnection(this.path);
      s.setEncoding('utf8');
      s.once('connect', () => {
        this.socket = s;
        resolve(s);
      });
      s.on('error', (e) => {
        this.pending?.fail(new Error(`${this.name}: control channel: ${e.message}`));
        reject(e);
      });
      s.on('data', (d: string) => this.onData(d));
      s.once('close', () => this.pending?.fail(new Error(`${this.name}: control channel closed`)));
    });
  }

  private onData(d: string): void {
    this.buffer += d;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const p = this.pending;
      if (!p) continue;
      const out = new RegExp(`^XTT-CTL ${p.id} out (.*)$`).exec(line);
      if (out) p.lines.push(out[1]!);
      const rc = new RegExp(`^XTT-CTL ${p.id} rc=(\\d+)$`).exec(line);
      if (rc) p.done({ status: Number(rc[1]), output: p.lines.join('\n') });
    }
  }

  /** Runs `command` (one line of sh) in the guest; rejects after `timeoutMs` or if the channel fails. */
  exec(command: string, timeoutMs: number): Promise<GuestCommandResult> {
    if (command.includes('\n')) throw new Error('guest command must be one line');
    const run = async (): Promise<GuestCommandResult> => {
      const socket = await this.connect();
      const id = this.nextId++;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await new Promise<GuestCommandResult>((done, fail) => {
          this.pending = { id, lines: [], done, fail };
          timer = setTimeout(
            () => fail(new Error(`${this.name}: no answer to \`${command}\` within ${timeoutMs} ms`)),
            timeoutMs,
          );
          socket.write(`${id} ${command}\n`);
        });
      } finally {
        clearTimeout(timer);
        this.pending = undefined;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
