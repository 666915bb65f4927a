// `enf-server start` as a real process when start-up cannot complete: a port in use (either
// listener, in one process or with --processes 2), a token file that is empty or too short, a TLS
// file that is not PEM, a registry that is missing, empty or damaged, and SIGTERM while start-up
// waits on the registry. Each must end the process with its documented exit code (8 listen, 6 bad
// input, 5 registry; 0 when stopped), holding no port, and leave the stored files as they were.
// No timing is asserted: the test only waits (with a generous bound) for the process to end.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Bound for a process that should end by itself; a hang fails the test instead of the suite. */
const EXIT_BOUND_MS = 120_000;

/** A state directory with key material, removed when the test ends (passed or not). */
function stateDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'enf-start-fail-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  createKeyMaterial(dir, systemRng);
  return dir;
}

async function initRegistry(dir: string): Promise<void> {
  const r = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  await r.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  await r.close();
}

function tokenFile(dir: string, text = `${randomBytes(32).toString('hex')}\n`): string {
  const f = join(dir, 'tokens');
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

/** Holds a loopback port (the test's own listener) so the server finds it in use. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** True when this process can listen on the port (the server released it). */
async function isFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port }, () => s.close(() => resolve(true)));
  });
}

function spawnStart(
  dir: string,
  args: string[],
  onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<Run> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'server-stub/main.ts', '--dir', dir, 'start', '--bind', '127.0.0.1', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ENF_SERVER_REGISTRY_URL: '' } },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, (s) => proc.kill(s));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`enf-server still running after ${EXIT_BOUND_MS} ms:\n${stderr}`));
    }, EXIT_BOUND_MS);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function listenedPorts(stderr: string): number[] {
  return [...stderr.matchAll(/(?:server|http)\.listening \S+ port=(\d+)/g)].map((m) => Number(m[1]));
}

for (const processes of [1, 2]) {
  const cluster = processes > 1 ? ` (--processes ${processes})` : '';

  test(`management port in use: exit 8, XTT port never left open${cluster}`, async (t) => {
    const dir = stateDir(t);
    await initRegistry(dir);
    const held = await holdPort();
    const r = await spawnStart(dir, [
      '--port',
      '0',
      '--processes',
      String(processes),
      '--http-port',
      String(held.port),
      '--http-bind',
      '127.0.0.1',
      '--api-token-file',
      tokenFile(dir),
    ]);
    held.server.close();
    t.is(r.code, 8, r.stderr);
    t.regex(r.stderr, /enf-server: LISTEN: cannot listen on \[127\.0\.0\.1\]:\d+: .*EADDRINUSE/);
    t.false(/server\.listening/.test(r.stderr), 'the XTT endpoint did not start serving');
  });

  test(`XTT port in use after the management listener started: exit 8, management port released${cluster}`, async (t) => {
    const dir = stateDir(t);
    await initRegistry(dir);
    const held = await holdPort();
    const r = await spawnStart(dir, [
      '--port',
      String(held.port),
      '--processes',
      String(processes),
      '--http-port',
      '0',
      '--http-bind',
      '127.0.0.1',
      '--api-token-file',
      tokenFile(dir),
    ]);
    held.server.close();
    t.is(r.code, 8, r.stderr);
    t.regex(r.stderr, new RegExp(`cannot listen on \\[127\\.0\\.0\\.1\\]:${held.port}: .*EADDRINUSE`));
    const opened = listenedPorts(r.stderr);
    t.true(opened.length >= 1, 'the management listener had started');
    for (const port of opened) t.true(await isFree(port), `port ${port} released`);
  });
}

for (const [name, text] of [
  ['empty', ''],
  ['comments only', '# no token here\n\n'],
  ['short token', 'abc123\n'],
] as const) {
  test(`token file ${name}: exit 6 naming the file, nothing listening`, async (t) => {
    const dir = stateDir(t);
    await initRegistry(dir);
    const tokens = tokenFile(dir, text);
    const r = await spawnStart(dir, [
      '--port',
      '0',
      '--http-port',
      '0',
      '--http-bind',
      '127.0.0.1',
      '--api-token-file',
      tokens,
    ]);
    t.is(r.code, 6, r.stderr);
    t.true(r.stderr.includes(`API token file ${tokens}`), r.stderr);
    t.deepEqual(listenedPorts(r.stderr), []);
  });
}

test('TLS files that are not PEM: exit 6 naming the options, nothing listening', async (t) => {
  const dir = stateDir(t);
  await initRegistry(dir);
  const pem = join(dir, 'https.pem');
  writeFileSync(pem, 'not a certificate\n');
  const r = await spawnStart(dir, [
    '--port',
    '0',
    '--http-port',
    '0',
    '--http-bind',
    '127.0.0.1',
    '--api-token-file',
    tokenFile(dir),
    '--tls-cert',
    pem,
    '--tls-key',
    pem,
  ]);
  t.is(r.code, 6, r.stderr);
  t.regex(r.stderr, /--tls-cert .* not a usable PEM certificate and key/);
  t.deepEqual(listenedPorts(r.stderr), []);
});

test('missing registry: exit 5, and start does not create one', async (t) => {
  const dir = stateDir(t);
  const r = await spawnStart(dir, ['--port', '0']);
  t.is(r.code, 5, r.stderr);
  t.regex(r.stderr, /registry .*registry\.sqlite does not exist: only 'enf-server init' creates one/);
  t.false(existsSync(join(dir, 'registry.sqlite')));
  t.deepEqual(listenedPorts(r.stderr), []);
});

test('0-byte registry: exit 5, the file is left as it was', async (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'registry.sqlite'), '');
  const r = await spawnStart(dir, ['--port', '0']);
  t.is(r.code, 5, r.stderr);
  t.regex(r.stderr, /registry\.sqlite is empty \(0 bytes\)/);
  t.is(statSync(join(dir, 'registry.sqlite')).size, 0);
  t.deepEqual(listenedPorts(r.stderr), []);
});

test('registry with garbage pages behind an intact header: exit 5, the file is not touched', async (t) => {
  const dir = stateDir(t);
  await initRegistry(dir);
  const path = join(dir, 'registry.sqlite');
  const bytes = readFileSync(path);
  const pageSize = bytes.readUInt16BE(16);
  t.true(bytes.length > 2 * pageSize, 'the registry has pages past the schema page');
  // Page 1 (header and schema) stays; every later page (the tables' b-trees) becomes noise.
  randomBytes(bytes.length - 2 * pageSize).copy(bytes, 2 * pageSize);
  writeFileSync(path, bytes);
  const r = await spawnStart(dir, ['--port', '0']);
  t.is(r.code, 5, r.stderr);
  t.regex(r.stderr, /registry .*registry\.sqlite is damaged \(SQLite quick_check: /);
  t.deepEqual(readFileSync(path), bytes);
  t.deepEqual(listenedPorts(r.stderr), []);
});

test('SIGTERM while start-up waits for the registry: exit 0, nothing left listening', async (t) => {
  const dir = stateDir(t);
  // A "PostgreSQL server" that accepts and never answers: start-up waits on it until stopped.
  const sockets: Socket[] = [];
  let onConnect: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (onConnect = resolve));
  const silent = createServer((s) => {
    sockets.push(s);
    onConnect();
  });
  await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const pgPort = (silent.address() as AddressInfo).port;
  let hasSignalled = false;
  const r = await spawnStart(
    dir,
    ['--port', '0', '--registry-url', `postgres://enf@127.0.0.1:${pgPort}/enf`],
    (text, kill) => {
      if (hasSignalled || !text.includes('server.starting')) return;
      hasSignalled = true;
      void connected.then(() => kill('SIGTERM'));
    },
  );
  for (const s of sockets) s.destroy();
  silent.close();
  t.true(hasSignalled);
  t.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr);
  t.regex(r.stderr, /server\.stopped-during-start-up/);
  t.deepEqual(listenedPorts(r.stderr), []);
});
