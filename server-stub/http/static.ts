// Serves the dashboard (static/: plain HTML, CSS and ES modules, no build step). Only files listed in
// the directory at start-up are served, by exact name, so no request path reaches the file system.
// A strict Content-Security-Policy allows scripts and styles from this origin only.
import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export class StaticFiles {
  private readonly files = new Map<string, { type: string; body: Buffer }>();

  constructor(dir: string = STATIC_DIR) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) this.files.set(name, { type, body: readFileSync(join(dir, name)) });
    }
  }

  /** Serve "/" (index.html) or "/static/<name>"; false when the path is not a dashboard file. */
  serve(pathname: string, res: ServerResponse, isHead: boolean): boolean {
    const name =
      pathname === '/' ? 'index.html' : pathname.startsWith('/static/') ? pathname.slice(8) : undefined;
    const f = name === undefined ? undefined : this.files.get(name);
    if (!f) return false;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': f.type,
      'content-length': f.body.length,
      'cache-control': 'no-cache',
    });
    res.end(isHead ? undefined : f.body);
    return true;
  }
}
