// The customer's side in the demo: the management HTTP API of server-stub/http (OpenAPI at
// /api/v1/openapi.json), signed in with a user's name and password as the dashboard does: the
// session cookie on every call and the session's CSRF token on every change.
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

interface Session {
  cookie: string;
  csrfToken: string;
}

export class ManagementApi {
  readonly #base: string;
  #session: Session | undefined;

  private constructor(baseUrl: string) {
    this.#base = baseUrl;
  }

  /** Signs in (POST /api/v1/session) and keeps the session for the calls that follow. */
  static async signIn(baseUrl: string, name: string, password: string): Promise<ManagementApi> {
    const api = new ManagementApi(baseUrl);
    const res = await fetch(new URL('api/v1/session', baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await ManagementApi.#read<{ csrfToken?: unknown }>(res, 'POST /api/v1/session');
    const cookie = res.headers.getSetCookie()[0]?.split(';')[0];
    if (cookie === undefined || typeof body.csrfToken !== 'string')
      throw new Error('POST /api/v1/session: no session cookie or CSRF token in the answer');
    api.#session = { cookie, csrfToken: body.csrfToken };
    return api;
  }

  static async #read<T>(res: Response, what: string): Promise<T> {
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        const e = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (e.error) msg = `${e.error.code ?? ''} ${e.error.message ?? ''}`.trim();
      } catch {
        // not JSON: keep the raw text in the message
      }
      throw new Error(`${what}: HTTP ${res.status}: ${msg.slice(0, 300)}`);
    }
    return JSON.parse(text) as T;
  }

  async #call<T>(method: string, path: string, body?: { json: unknown } | { png: Uint8Array }): Promise<T> {
    const session = this.#session;
    if (session === undefined) throw new Error('not signed in');
    const headers: Record<string, string> = { cookie: session.cookie };
    if (method !== 'GET') headers['x-csrf-token'] = session.csrfToken;
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
    return ManagementApi.#read<T>(res, `${method} ${path}`);
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
