// Shared fixtures of the management API tests: a temp SQLite registry, a running management server
// with a known token, a fresh valid GPK (protocol/ecdaa issuer), a QR label PNG rendered with the
// qrcode package from protocol/qr-payload.ts text (and as a JPEG), and a fetch wrapper.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { createIssuer, encodeGroupPublicKey } from '../../../../protocol/ecdaa/index.ts';
import { encodeQrPayload, type BatchLabel } from '../../../../protocol/qr-payload.ts';
import { systemRng } from '../../../../protocol/util/rng.ts';
import { startManagementServer, type ManagementServer } from '../../../../server-stub/http/index.ts';
import type { Registry } from '../../../../server-stub/registry/registry.ts';
import { Metrics } from '../../../../server-stub/metrics.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';

export const TOKEN = 'test-token-0123456789abcdef';
/** Stands in for the server certificate that CA registration codes are bound to. */
export const CA_VERIFICATION_IDENTITY = new TextEncoder().encode('test deployment identity');

export function freshGpk(): Uint8Array {
  return encodeGroupPublicKey(createIssuer(systemRng).publicKey.gpk);
}

/** A label PNG like the factory prints: black modules on white, quiet zone of 4, 8 px per module. */
export function labelPng(label: BatchLabel, scale = 8): Buffer {
  const qr = QRCode.create(encodeQrPayload(label), { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const side = (n + 8) * scale;
  const png = new PNG({ width: side, height: side, colorType: 6 });
  png.data.fill(0xff);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c) !== 1) continue;
      for (let y = 0; y < scale; y++) {
        for (let x = 0; x < scale; x++) {
          const i = (((r + 4) * scale + y) * side + (c + 4) * scale + x) * 4;
          png.data[i] = png.data[i + 1] = png.data[i + 2] = 0;
        }
      }
    }
  }
  return PNG.sync.write(png);
}

/** The same label as a JPEG at quality 75, the way a phone camera stores a photo of the box. */
export function labelJpeg(label: BatchLabel, scale = 8): Buffer {
  const png = PNG.sync.read(labelPng(label, scale));
  return jpeg.encode({ data: png.data, width: png.width, height: png.height }, 75).data;
}

export interface ApiFixture {
  registry: Registry;
  server: ManagementServer;
  metrics: Metrics;
  dir: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  done(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function startApi(registry?: Registry): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-http-'));
  const reg = registry ?? SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const metrics = new Metrics();
  const server = await startManagementServer({
    registry: reg,
    metrics,
    host: '127.0.0.1',
    port: 0,
    tokens: [new TextEncoder().encode(TOKEN)],
    caVerificationIdentity: CA_VERIFICATION_IDENTITY,
    eventPollMs: 100,
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...headers };
    let payload: string | Uint8Array | undefined;
    if (body instanceof Uint8Array) payload = body;
    else if (typeof body === 'string') payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: h,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
  return {
    registry: reg,
    server,
    metrics,
    dir,
    call,
    done: async () => {
      await server.close();
      if (!registry) await reg.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
