// The demo's ENF server: `enf-server init` (registry, root and server certificates) in the work
// directory, then `enf-server start` as a child process with the XTT endpoint on the devices'
// side (the bridge address) and the management API + dashboard on loopback with a fresh bootstrap
// token; and the customer's organization and user, made with the CLI as the operator would.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJson, tsxArgs, until, type Child, type Resources } from './resources.ts';

export interface DemoServer {
  dir: string;
  rootCert: string;
  xtt: { host: string; port: number };
  /** Dashboard and API base, e.g. http://127.0.0.1:PORT/ */
  url: string;
  /** The operator's bootstrap API token (a secret, 0600; never printed). */
  tokenFile: string;
  process: Child;
}

/** The customer's account in the demo: an organization and an operator user who signs in with a password. */
export interface DemoCustomer {
  organization: string;
  user: string;
  /** 0600 file in the work directory; the password itself is never printed. */
  passwordFile: string;
  password: string;
}

/**
 * `enf-server org add` and `user add` as the operator would before handing the customer its
 * account: an organization and an operator user with a random password kept in a 0600 file.
 */
export async function addCustomer(workdir: string, dir: string): Promise<DemoCustomer> {
  const organization = 'demo-customer';
  const user = 'customer';
  const password = randomBytes(15).toString('base64url');
  const passwordFile = join(workdir, 'customer-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  await runJson('server-stub/main.ts', ['--dir', dir, 'org', 'add', '--name', organization]);
  await runJson('server-stub/main.ts', [
    '--dir',
    dir,
    'user',
    'add',
    '--name',
    user,
    '--org',
    organization,
    '--role',
    'operator',
    '--password-file',
    passwordFile,
  ]);
  return { organization, user, passwordFile, password };
}

export async function initServer(workdir: string): Promise<{ dir: string; rootCert: string }> {
  const dir = join(workdir, 'server');
  const r = await runJson('server-stub/main.ts', ['--dir', dir, 'init']);
  const files = r.files as { rootCertificate?: string } | undefined;
  if (!files?.rootCertificate) throw new Error('enf-server init: no root certificate in its output');
  return { dir, rootCert: files.rootCertificate };
}

async function isHttpUp(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('api/v1/openapi.json', url), { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function startServer(
  res: Resources,
  workdir: string,
  init: { dir: string; rootCert: string },
  xtt: { host: string; port: number },
  httpPort: number,
): Promise<DemoServer> {
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(workdir, 'api-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const server = res.spawn(
    'enf-server',
    process.execPath,
    tsxArgs('server-stub/main.ts', [
      '--dir',
      init.dir,
      'start',
      '--bind',
      xtt.host,
      '--port',
      String(xtt.port),
      '--workers',
      '1',
      '--http-port',
      String(httpPort),
      '--http-bind',
      '127.0.0.1',
      '--api-token-file',
      tokenFile,
    ]),
    workdir,
  );
  const died = () =>
    server.hasExited()
      ? `enf-server exited: ${server.output().trim().split('\n').slice(-4).join(' | ')}`
      : undefined;
  await until(
    'enf-server to listen (server.listening)',
    () => /server\.listening/.test(server.output()),
    60_000,
    died,
  );
  const url = `http://127.0.0.1:${httpPort}/`;
  await until('the management API to answer', () => isHttpUp(url), 60_000, died);
  return { ...init, xtt, url, tokenFile, process: server };
}
