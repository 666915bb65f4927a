// A throw-away PostgreSQL server for tests:
// Debian's postgresql binaries, initdb into a fresh temp dir, listening on a unix socket in that dir
// only (no TCP), on a free port number, as an unprivileged user (initdb refuses root: when the tests
// run as root the server runs as the `postgres` system user). Stopped by pid (SIGINT: fast shutdown).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../qemu/ports.ts';

const PG_ROOT = '/usr/lib/postgresql';

function binDir(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^[0-9]+$/.test(v)) : [];
  const v = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  return join(PG_ROOT, v, 'bin');
}

/** uid/gid to run as: ourselves, or `postgres` when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root but no `postgres` user to run the server as');
  return { uid, gid };
}

export interface PostgresServer {
  /** The socket directory (pg's `host` for unix sockets). */
  host: string;
  port: number;
  user: string;
  /** A new empty database; returns its pg connection config. */
  createDatabase(): Promise<pg.PoolConfig>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'enf-pg-'));
  const data = join(dir, 'data');
  const as = runAs();
  if (as) chownSync(dir, as.uid, as.gid);
  const user = 'enf';
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', user, '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'],
    { encoding: 'utf8', ...(as ?? {}) },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-k',
      dir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const connect = (database: string): pg.PoolConfig => ({ host: dir, port, user, database });
  const deadline = Date.now() + 120_000; // a bound for a server that never comes up, not a speed check
  for (;;) {
    const c = new pg.Client(connect('postgres'));
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres did not start: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  let n = 0;
  return {
    host: dir,
    port,
    user,
    createDatabase: async () => {
      const name = `t${process.pid}_${++n}`;
      const c = new pg.Client(connect('postgres'));
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return connect(name);
    },
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGINT');
        const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
