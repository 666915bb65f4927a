// The management API's route table: method + path template ("/api/v1/batches/{batch}") -> handler.
// The table is data so the OpenAPI test can walk it and compare it with openapi.json both ways.
// Matching is exact per segment; a known path with another method answers METHOD_NOT_ALLOWED.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.ts';
import type { Principal, Role } from './roles.ts';
import type { ActiveSession } from './sessions.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Who the request acts as; undefined on routes that need no token. */
  principal: Principal | undefined;
  /** The dashboard session when the cookie authenticated the request. */
  session?: ActiveSession | undefined;
}

/** The organization scope of a request (registry.ts `org`): undefined means every organization. */
export const orgOf = (r: RequestContext): number | undefined => r.principal?.org;

/** What a handler returns: a JSON body with a status, or `undefined` when it wrote the response. */
export type HandlerResult = { status: number; body: unknown } | undefined;
export type Handler = (ctx: RequestContext) => Promise<HandlerResult>;

export interface Route {
  method: Method;
  /** OpenAPI path template: literal segments and {name} parameters. */
  path: string;
  /** Whether the bearer token is required (everything but the dashboard's static files). */
  isAuthenticated: boolean;
  /** The least role a token needs (roles.ts); a weaker one gets FORBIDDEN. */
  role: Role;
  handler: Handler;
}

interface Compiled extends Route {
  segments: string[];
}

const PARAM_RE = /^\{([a-zA-Z][a-zA-Z0-9]*)\}$/;

export class Router {
  private readonly compiled: Compiled[] = [];

  add(route: Route): void {
    if (!route.path.startsWith('/')) throw new RangeError(`route path must start with '/': ${route.path}`);
    if (this.compiled.some((r) => r.method === route.method && r.path === route.path)) {
      throw new RangeError(`route ${route.method} ${route.path} defined twice`);
    }
    this.compiled.push({ ...route, segments: route.path.split('/').slice(1) });
  }

  /** Method and path template of every route, for the OpenAPI cross-check. */
  get table(): { method: Method; path: string; isAuthenticated: boolean; role: Role }[] {
    return this.compiled.map(({ method, path, isAuthenticated, role }) => ({
      method,
      path,
      isAuthenticated,
      role,
    }));
  }

  /** The route for a request path; throws NOT_FOUND or METHOD_NOT_ALLOWED. */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } {
    const parts = pathname.split('/').slice(1);
    let isPathKnown = false;
    for (const r of this.compiled) {
      const params = matchSegments(r.segments, parts);
      if (!params) continue;
      isPathKnown = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params };
    }
    if (isPathKnown) throw new ApiError('METHOD_NOT_ALLOWED', `${method} not allowed on ${pathname}`);
    throw new ApiError('NOT_FOUND', `no such resource: ${pathname}`);
  }
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | undefined {
  if (template.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    const p = parts[i]!;
    const m = PARAM_RE.exec(t);
    if (m) {
      if (p.length === 0) return undefined;
      let v: string;
      try {
        v = decodeURIComponent(p);
      } catch {
        return undefined;
      }
      params[m[1]!] = v;
    } else if (t !== p) return undefined;
  }
  return params;
}
