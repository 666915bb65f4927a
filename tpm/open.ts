// Turns a TPM spec string into a transport: a device path ("/dev/tpmrm0", "/dev/tpm0") or
// "swtpm:HOST:PORT" (control port PORT+1) / "swtpm:HOST:PORT:CTRLPORT". IPv6 hosts go in brackets.
import { TpmLayerError } from './errors.ts';
import { DeviceTransport } from './transport/device.ts';
import { SwtpmTransport } from './transport/swtpm.ts';
import type { TpmTransport } from './transport/transport.ts';
import { Tpm, type TpmOptions } from './tpm.ts';

export class TpmSpecError extends TpmLayerError {
  constructor(spec: string, reason: string) {
    super('TPM_SPEC', `bad TPM spec "${spec}": ${reason}`);
  }
}

export type ParsedTpmSpec =
  | { readonly kind: 'device'; readonly path: string }
  | { readonly kind: 'swtpm'; readonly host: string; readonly port: number; readonly ctrlPort: number };

function parsePort(spec: string, s: string | undefined): number {
  if (s === undefined || !/^\d{1,5}$/.test(s))
    throw new TpmSpecError(spec, `port "${s ?? ''}" is not a number`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw new TpmSpecError(spec, `port ${n} out of range`);
  return n;
}

export function parseTpmSpec(spec: string): ParsedTpmSpec {
  if (spec.startsWith('/')) return { kind: 'device', path: spec };
  if (!spec.startsWith('swtpm:')) throw new TpmSpecError(spec, 'expected a /dev path or swtpm:HOST:PORT');
  const rest = spec.slice('swtpm:'.length);
  const m = /^(\[[^\]]+\]|[^:[\]]+):([^:]*)(?::([^:]*))?$/.exec(rest);
  if (!m) throw new TpmSpecError(spec, 'expected swtpm:HOST:PORT[:CTRLPORT]');
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  const port = parsePort(spec, m[2]);
  const ctrlPort = m[3] === undefined ? port + 1 : parsePort(spec, m[3]);
  if (m[3] === undefined && port === 65535) throw new TpmSpecError(spec, 'no room for the control port');
  return { kind: 'swtpm', host, port, ctrlPort };
}

export async function openTransport(spec: string): Promise<TpmTransport> {
  const p = parseTpmSpec(spec);
  if (p.kind === 'device') return DeviceTransport.open(p.path);
  return new SwtpmTransport({ host: p.host, port: p.port, ctrlPort: p.ctrlPort });
}

/** Opens the transport named by `spec` and wraps it in a retrying client. */
export async function openTpm(spec: string, opts: TpmOptions = {}): Promise<Tpm> {
  return new Tpm(await openTransport(spec), opts);
}
