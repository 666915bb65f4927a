// The small TCP proxy that lets the unmodified reference client (xtt runclient -m -t socket, tss2's
// mssim TCTI, hard-coded to localhost:2321) talk to swtpm, as the reference's own TPM traces did
// (shared reference tpm-traces/README.md, "Framing on the wire", file 04):
// - data port 2321: bytes forwarded unchanged in both directions to swtpm's data port, which
//   understands the MS-simulator TPM_SEND_COMMAND framing itself;
// - platform port 2322: swtpm's control port does not implement the simulator's platform
//   commands, so the proxy answers each u32 command (TPM_SIGNAL_POWER_ON = 1, TPM_SIGNAL_NV_ON = 11,
//   and any other) with u32 0 and counts them. swtpm already runs powered on with startup-clear.
// Listens on 127.0.0.1 and, when available, ::1 ("localhost" may resolve to either).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { HarnessError } from './reference-tool.ts';

export const MSSIM_DATA_PORT = 2321;
export const MSSIM_PLATFORM_PORT = 2322;

export interface MssimProxy {
  /** Platform commands answered, in order (1 = POWER_ON, 11 = NV_ON). */
  platformCommands: number[];
  /** Data-port connections forwarded. */
  dataConnections(): number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.removeListener('listening', onListening);
      if (host === '::1' && (e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT')) resolve(false);
      else
        reject(new HarnessError(`cannot listen on [${host}]:${port} (${e.code ?? e.message})`, { cause: e }));
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startMssimProxy(swtpmDataPort: number): Promise<MssimProxy> {
  const platformCommands: number[] = [];
  let dataConnections = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };

  const makeData = (): Server =>
    createServer((client) => {
      dataConnections++;
      track(client);
      const upstream = connect({ host: '127.0.0.1', port: swtpmDataPort });
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  const makePlatform = (): Server =>
    createServer((s) => {
      track(s);
      let pending = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 4) {
          platformCommands.push(pending.readUInt32BE(0));
          pending = pending.subarray(4);
          s.write(Buffer.alloc(4));
        }
      });
    });

  const servers: Server[] = [];
  try {
    for (const host of ['127.0.0.1', '::1']) {
      for (const [port, make] of [
        [MSSIM_DATA_PORT, makeData],
        [MSSIM_PLATFORM_PORT, makePlatform],
      ] as const) {
        const server = make();
        if (await listen(server, port, host)) servers.push(server);
      }
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return {
    platformCommands,
    dataConnections: () => dataConnections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
