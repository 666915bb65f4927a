// Bearer-token authentication of the management API (RFC 6750 section 2.1 header form only: tokens
// in URLs end up in logs). The scheme name is case-insensitive (RFC 9110 section 11.1: "bearer",
// "BEARER" are the same scheme); a refusal answers 401 with `WWW-Authenticate: Bearer` (RFC 6750
// section 3), set by the listener from WWW_AUTHENTICATE. Tokens come from configuration or a file (one per line, '#' comments);
// each is compared in constant time over SHA-256 digests so neither content nor length leaks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ZtpError } from '../../protocol/errors.ts';
import { ApiError } from './errors.ts';

export const MIN_TOKEN_LENGTH = 16;

/** The challenge sent with every 401 (RFC 6750 section 3). */
export const WWW_AUTHENTICATE = 'Bearer realm="enf-server"';

/** The token file is missing, unreadable or holds no usable token (enf-server: bad-input exit code). */
export class TokenFileError extends ZtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_FILE', message, options);
  }
}

function digest(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

export class TokenAuthenticator {
  private readonly digests: Buffer[];

  /** Tokens are Uint8Array (secrets): only their digests are kept. */
  constructor(tokens: readonly Uint8Array[]) {
    if (tokens.length === 0) throw new TokenFileError('no API token configured');
    for (const t of tokens) {
      if (t.length < MIN_TOKEN_LENGTH)
        throw new TokenFileError(`API tokens must be at least ${MIN_TOKEN_LENGTH} bytes`);
    }
    this.digests = tokens.map(digest);
  }

  /** One token per line; blank lines and lines starting with '#' are ignored. */
  static fromFile(path: string): TokenAuthenticator {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new TokenFileError(`cannot read API token file ${path}`, { cause });
    }
    const tokens = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((l) => new TextEncoder().encode(l));
    try {
      return new TokenAuthenticator(tokens);
    } catch (cause) {
      throw new TokenFileError(`API token file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Checks every configured token (no early exit), so timing does not say which one matched. */
  isValid(presented: Uint8Array): boolean {
    const d = digest(presented);
    let ok = false;
    for (const x of this.digests) ok = timingSafeEqual(d, x) || ok;
    return ok;
  }

  /** Throws UNAUTHORIZED unless the request carries `Authorization: Bearer <valid token>`. */
  check(req: IncomingMessage): void {
    const h = req.headers.authorization;
    // credentials = auth-scheme 1*SP token (RFC 9110 section 11.4); the scheme in any case.
    const m = typeof h === 'string' ? /^Bearer +([\x21-\x7e]+)$/i.exec(h) : null;
    if (!m || !this.isValid(new TextEncoder().encode(m[1]!))) {
      throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token');
    }
  }
}
