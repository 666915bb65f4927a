// Bearer-token authentication of the management API (RFC 6750 section 2.1 header form only: tokens
// in URLs end up in logs). The scheme name is case-insensitive (RFC 9110 section 11.1: "bearer",
// "BEARER" are the same scheme); a refusal answers 401 with `WWW-Authenticate: Bearer` (RFC 6750
// section 3), set by the listener from WWW_AUTHENTICATE. Tokens come from configuration or a file (one per line, '#' comments);
// each is compared in constant time over SHA-256 digests so neither content nor length leaks.
// A line may bind its token to an organization and a role: `TOKEN org=acme role=operator`. A bare
// token (the bootstrap form every older file has) is a superadmin over every organization. `name=NAME`
// names the token in the operator audit (`token-file:NAME`); unnamed, it is `token-file:LINE`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ZtpError } from '../../protocol/errors.ts';
import type { Registry } from '../registry/registry.ts';
import { ApiError } from './errors.ts';
import { isRole, ROLES, type Principal, type Role } from './roles.ts';

/** A configured token: the secret, and for an organization's token its organization and role. */
export interface TokenGrant {
  token: Uint8Array;
  /** Organization name; required unless the role is superadmin (then forbidden). */
  org?: string;
  /** Default superadmin. */
  role?: Role;
  /** Who it is in the operator audit (`token-file:NAME`); default its line number or position. */
  name?: string;
}

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

interface Entry {
  digest: Buffer;
  actor: string;
  role: Role;
  orgName: string | undefined;
  org: number | undefined;
}

/** Token names: like other names (registry/validate.ts), so `token-file:3` is always a line. */
const TOKEN_NAME_RE = /^(?![0-9]+$)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** One token file line: the token, then optional `org=NAME`, `role=ROLE` and `name=NAME` fields. */
function parseLine(line: string, where: string, lineNumber: number): TokenGrant {
  const [token, ...fields] = line.split(/\s+/);
  const grant: TokenGrant = { token: new TextEncoder().encode(token), name: String(lineNumber) };
  for (const f of fields) {
    const m = /^(org|role|name)=(.+)$/.exec(f);
    if (!m) throw new TokenFileError(`${where}: unknown field (only org=NAME, role=ROLE and name=NAME)`);
    if (m[1] === 'org') grant.org = m[2]!;
    else if (m[1] === 'name') {
      if (!TOKEN_NAME_RE.test(m[2]!))
        throw new TokenFileError(
          `${where}: name must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, not all digits`,
        );
      grant.name = m[2]!;
    } else if (isRole(m[2]!)) grant.role = m[2];
    else throw new TokenFileError(`${where}: role must be one of ${ROLES.join(', ')}`);
  }
  return grant;
}

export class TokenAuthenticator {
  private readonly entries: Entry[];

  /** Tokens are Uint8Array (secrets): only their digests are kept. Bare tokens are superadmins. */
  constructor(tokens: readonly (Uint8Array | TokenGrant)[]) {
    if (tokens.length === 0) throw new TokenFileError('no API token configured');
    this.entries = tokens.map((x, i) => {
      const g = x instanceof Uint8Array ? { token: x } : x;
      if (g.token.length < MIN_TOKEN_LENGTH)
        throw new TokenFileError(`API tokens must be at least ${MIN_TOKEN_LENGTH} bytes`);
      const role = g.role ?? 'superadmin';
      if ((role === 'superadmin') !== (g.org === undefined)) {
        throw new TokenFileError(
          `token ${i + 1}: ${role === 'superadmin' ? 'a superadmin token has no org=' : `role ${role} needs org=NAME`}`,
        );
      }
      const actor = `token-file:${g.name ?? String(i + 1)}`;
      return { digest: digest(g.token), actor, role, orgName: g.org, org: undefined };
    });
  }

  /** One token per line; blank lines and lines starting with '#' are ignored. */
  static fromFile(path: string): TokenAuthenticator {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new TokenFileError(`cannot read API token file ${path}`, { cause });
    }
    try {
      const grants = text
        .split('\n')
        .map((l, i) => [l.trim(), i + 1] as const)
        .filter(([l]) => l.length > 0 && !l.startsWith('#'))
        .map(([l, n]) => parseLine(l, `line ${n}`, n));
      return new TokenAuthenticator(grants);
    } catch (cause) {
      throw new TokenFileError(`API token file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Look the organizations of bound tokens up; TokenFileError naming one that does not exist. */
  async resolve(registry: Registry): Promise<void> {
    for (const e of this.entries) {
      if (e.orgName === undefined) continue;
      const o = await registry.getOrganization(e.orgName).catch(() => undefined);
      if (!o)
        throw new TokenFileError(`API token bound to organization '${e.orgName}', which does not exist`);
      e.org = o.id;
    }
  }

  /** Checks every configured token (no early exit), so timing does not say which one matched. */
  private match(presented: Uint8Array): Entry | undefined {
    const d = digest(presented);
    let found: Entry | undefined;
    for (const x of this.entries) if (timingSafeEqual(d, x.digest)) found = x;
    return found;
  }

  /** The principal of a configured token, or undefined (an unknown token, or one of a missing organization). */
  lookup(presented: Uint8Array): Principal | undefined {
    const e = this.match(presented);
    if (!e || (e.orgName !== undefined && e.org === undefined)) return undefined;
    return { role: e.role, org: e.org, actor: e.actor };
  }

  isValid(presented: Uint8Array): boolean {
    return this.match(presented) !== undefined;
  }

  /** The request's principal; throws UNAUTHORIZED unless it carries `Authorization: Bearer <valid token>`. */
  check(req: IncomingMessage): Principal {
    const h = req.headers.authorization;
    // credentials = auth-scheme 1*SP token (RFC 9110 section 11.4); the scheme in any case.
    const m = typeof h === 'string' ? /^Bearer +([\x21-\x7e]+)$/i.exec(h) : null;
    const e = m ? this.match(new TextEncoder().encode(m[1]!)) : undefined;
    if (!e || (e.orgName !== undefined && e.org === undefined)) {
      throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token');
    }
    return { role: e.role, org: e.org, actor: e.actor };
  }
}
