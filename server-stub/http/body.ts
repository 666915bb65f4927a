// Request bodies and query parameters of the management API: bounded reads (413 past the limit,
// without buffering the rest), strict content types, JSON objects only, and typed readers that name
// the offending field. Nothing here touches the registry, so a refused input changes no state.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';

/** JSON bodies are small; label images are phone photos (PNG or JPEG, decoded in a worker). */
export const MAX_JSON_BYTES = 64 * 1024;
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length or as it arrives). */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(new ApiError('PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let isDone = false;
    req.on('data', (c: Buffer) => {
      if (isDone) return;
      size += c.length;
      if (size > limit) {
        isDone = true;
        req.resume();
        reject(new ApiError('PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (isDone) return;
      isDone = true;
      resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', (err) => {
      if (isDone) return;
      isDone = true;
      reject(new ApiError('BAD_REQUEST', 'request body could not be read', undefined, { cause: err }));
    });
  });
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireMediaType(req: IncomingMessage, allowed: readonly string[]): string {
  const t = mediaType(req);
  if (!allowed.includes(t)) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${allowed.join(' or ')}, got '${t}'`);
  }
  return t;
}

/** A JSON object body (arrays, scalars and trailing garbage are refused). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  requireMediaType(req, ['application/json']);
  const raw = await readBody(req, MAX_JSON_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (cause) {
    throw new ApiError('BAD_REQUEST', 'body is not valid UTF-8 JSON', undefined, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('BAD_REQUEST', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Refuse unknown members so a typo is an error rather than silently ignored. */
export function onlyKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new ApiError('VALIDATION', `${k}: unknown member`, k);
  }
}

export function str(body: Record<string, unknown>, key: string, isRequired: true): string;
export function str(body: Record<string, unknown>, key: string, isRequired: false): string | undefined;
export function str(body: Record<string, unknown>, key: string, isRequired: boolean): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (isRequired) throw new ApiError('VALIDATION', `${key}: required`, key);
    return undefined;
  }
  if (typeof v !== 'string') throw new ApiError('VALIDATION', `${key}: must be a string`, key);
  return v;
}

export function int(v: unknown, field: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ApiError('VALIDATION', `${field}: must be an integer in ${min}..${max}`, field);
  }
  return n;
}

/** Strict standard base64 (or base64url) bytes. */
export function base64Bytes(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v) || v.length === 0) {
    throw new ApiError('VALIDATION', `${field}: must be base64`, field);
  }
  const isUrl = /[-_]/.test(v);
  const out = Buffer.from(v, isUrl ? 'base64url' : 'base64');
  const again = out.toString(isUrl ? 'base64url' : 'base64');
  if (again.replace(/=+$/, '') !== v.replace(/=+$/, '')) {
    throw new ApiError('VALIDATION', `${field}: non-canonical base64`, field);
  }
  return new Uint8Array(out);
}

/** A time in a query: milliseconds since the epoch or an ISO 8601 date-time with a zone. */
export function timeParam(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (/^[0-9]{1,15}$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t) && t >= 0) return t;
  }
  throw new ApiError('VALIDATION', `${key}: must be epoch milliseconds or an ISO 8601 date-time`, key);
}

export function enumParam<T extends string>(
  q: URLSearchParams,
  key: string,
  values: readonly T[],
): T | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw new ApiError('VALIDATION', `${key}: must be one of ${values.join(', ')}`, key);
  }
  return v as T;
}

/** Refuse unknown query parameters (typos would otherwise widen a filter silently). */
export function onlyParams(q: URLSearchParams, allowed: readonly string[]): void {
  for (const k of q.keys()) {
    if (!allowed.includes(k)) throw new ApiError('VALIDATION', `${k}: unknown query parameter`, k);
  }
}
