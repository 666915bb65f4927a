// The customer's side in the demo: the management HTTP API of server-stub/http (OpenAPI at
// /api/v1/openapi.json) with a bearer token, as the dashboard or a customer's script uses it.
import { readFileSync } from 'node:fs';

export interface ApiNetwork {
  id: number;
  name: string;
  prefix: string;
}
export interface ApiBatch {
  gid: string;
  name: string;
  network: string | null;
  status: string;
}
export interface ApiDevice {
  id: string;
  identity: string;
  batch: string;
  pseudonym: string;
  status: string;
  lastSource: string | null;
}

export class ManagementApi {
  readonly #base: string;
  readonly #token: string;

  constructor(baseUrl: string, token: string) {
    this.#base = baseUrl;
    this.#token = token;
  }

  async #call<T>(method: string, path: string, body?: { json: unknown } | { png: Uint8Array }): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    let payload: string | Uint8Array | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = 'image/png';
      payload = body.png;
    }
    const res = await fetch(new URL(path.replace(/^\//, ''), this.#base), {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        const e = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (e.error) msg = `${e.error.code ?? ''} ${e.error.message ?? ''}`.trim();
      } catch {
        // not JSON: keep the raw text in the message
      }
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${msg.slice(0, 300)}`);
    }
    return JSON.parse(text) as T;
  }

  addNetwork(name: string, prefix: string): Promise<ApiNetwork> {
    return this.#call('POST', '/api/v1/networks', { json: { name, prefix } });
  }

  /** Registers the batch from a photo/scan of its label (PNG) and assigns it to `network`. */
  addBatchFromLabelPng(pngFile: string, size: number, network: string): Promise<ApiBatch> {
    const q = new URLSearchParams({ size: String(size), network });
    return this.#call('POST', `/api/v1/batches/from-image?${q}`, {
      png: new Uint8Array(readFileSync(pngFile)),
    });
  }

  async devices(): Promise<ApiDevice[]> {
    return (await this.#call<{ items: ApiDevice[] }>('GET', '/api/v1/devices')).items;
  }
}
