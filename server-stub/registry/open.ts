// Which registry a command opens: the SQLite file in the state directory (only `enf-server init`
// creates it; a missing or empty file is refused, never created here), or the shared PostgreSQL
// database of --registry-url ($ENF_SERVER_REGISTRY_URL). Used by the command line (cli/cli.ts) and by
// `start` (start.ts), so backend selection lives in one place.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadValueError } from '../../common/cli.ts';
import { RegistryError } from './errors.ts';
import { PostgresRegistry } from './postgres-registry.ts';
import type { Registry } from './registry.ts';
import { SqliteRegistry, type SqliteRegistryOptions } from './sqlite-registry.ts';

export const REGISTRY_FILE = 'registry.sqlite';
export const REGISTRY_URL_ENV = 'ENF_SERVER_REGISTRY_URL';

/**
 * Opens the registry of an initialised state directory. Only `init` creates one: a missing or empty
 * file is refused (an empty registry would silently serve no networks), never created here.
 */
export function openRegistry(dir: string, options: SqliteRegistryOptions = {}): SqliteRegistry {
  if (!existsSync(dir)) {
    throw new RegistryError(
      'STORAGE',
      `state directory ${dir} does not exist, so neither does its registry; run 'enf-server init' first (or is --dir right?)`,
    );
  }
  const path = join(dir, REGISTRY_FILE);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new RegistryError(
      'STORAGE',
      `registry ${path} does not exist: only 'enf-server init' creates one (is --dir right? restore a backup?)`,
      { cause },
    );
  }
  if (size === 0) {
    throw new RegistryError(
      'STORAGE',
      `registry ${path} is empty (0 bytes): refusing to serve without networks and batches; restore it from a backup`,
    );
  }
  return SqliteRegistry.open(path, { ...options, mustExist: true });
}

/**
 * The --registry-url value, checked: only PostgreSQL URLs (postgres:// or postgresql://, as libpq
 * and pg read them, e.g. postgres://user@/db?host=/run/postgresql for a unix socket). The message
 * names the option and never repeats the value (it may hold a password).
 */
export function checkRegistryUrl(url: string): string {
  if (!/^postgres(?:ql)?:\/\/[^\s]*$/i.test(url)) {
    throw new BadValueError(
      'registry-url',
      `must be a postgres:// or postgresql:// URL (or unset for SQLite in --dir); env ${REGISTRY_URL_ENV}`,
    );
  }
  return url;
}

/** Where a command finds its registry: `registryUrl` (PostgreSQL) if set, else the file in `dir`. */
export interface RegistryLocation {
  dir: string;
  registryUrl?: string | undefined;
}

/**
 * Opens the registry a command was pointed at (connects and migrates PostgreSQL). `start` passes
 * `isChecked` so a damaged SQLite file is refused before the server listens.
 */
export async function openRegistryAt(
  at: RegistryLocation,
  sqliteOptions: SqliteRegistryOptions = {},
): Promise<Registry> {
  if (!at.registryUrl) return openRegistry(at.dir, sqliteOptions);
  return PostgresRegistry.open({ connection: { connectionString: checkRegistryUrl(at.registryUrl) } });
}

/** Creates the registry `init` was pointed at: a new SQLite file in `dir`, or PostgreSQL's schema. */
export async function createRegistryAt(at: RegistryLocation): Promise<Registry> {
  if (!at.registryUrl) return SqliteRegistry.open(join(at.dir, REGISTRY_FILE));
  return PostgresRegistry.open({ connection: { connectionString: checkRegistryUrl(at.registryUrl) } });
}
