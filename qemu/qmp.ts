// Minimal QMP client (QEMU Machine Protocol, docs/interop/qmp-spec) over the unix socket given to
// `-qmp unix:PATH,server=on,wait=off`: negotiates capabilities and runs one command, used for a
// clean ACPI power-down (system_powerdown) so the guest shuts systemd and its TPM down in order.
import { connect } from 'node:net';

/** Runs `qmp_capabilities` then `command`; resolves with its `return` value. */
export function qmpExecute(socketPath: string, command: string, timeoutMs = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${command}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err: Error | undefined, value?: unknown): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (err) => finish(new Error(`QMP ${command}: ${err.message}`, { cause: err })));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.length === 0) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch (err) {
          finish(new Error(`QMP ${command}: bad JSON from QEMU`, { cause: err }));
          return;
        }
        if ('event' in msg) continue;
        if ('error' in msg) {
          finish(new Error(`QMP ${command} (${stage}): ${JSON.stringify(msg.error)}`));
          return;
        }
        if (stage === 'greeting' && 'QMP' in msg) {
          stage = 'capabilities';
          sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if (stage === 'capabilities' && 'return' in msg) {
          stage = 'command';
          sock.write(JSON.stringify({ execute: command }) + '\n');
        } else if (stage === 'command' && 'return' in msg) {
          finish(undefined, msg.return);
          return;
        }
      }
    });
  });
}
