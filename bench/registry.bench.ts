// Identity decisions per second through IdentityPolicy on both registry backends (server-stub/README.md
// "Several servers behind one address"): new devices and returning devices, 16 decisions in flight from one
// process. SQLite: a file in a temp dir (WAL, synchronous=FULL). PostgreSQL: a throw-away server
// started like the tests do (fsync off, unix socket), skipped when PostgreSQL is not installed.
import { sha256 } from '@noble/hashes/sha2.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { concatBytes } from '../protocol/util/bytes.ts';
import { IdentityPolicy } from '../server-stub/policy/identity-policy.ts';
import { PostgresRegistry } from '../server-stub/registry/postgres-registry.ts';
import type { Registry } from '../server-stub/registry/registry.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { emit, round } from './stats.ts';

const DEVICES = 400;
const IN_FLIGHT = 16;

const point = (label: string, i: number): Uint8Array => {
  const t = new TextEncoder().encode(`${label}:${i}`);
  return concatBytes(new Uint8Array([4]), sha256(t), sha256(concatBytes(t, t)));
};

async function measure(backend: string, registry: Registry): Promise<void> {
  await registry.addNetwork({ name: 'bench', prefix: '2001:db8:be:1::/64' });
  const gpk = new Uint8Array(258).fill(1);
  gpk[0] = 4;
  gpk[129] = 4;
  const batch = await registry.addBatch({
    gpk,
    basename: new Uint8Array([1]),
    name: 'lot',
    network: 'bench',
    size: DEVICES,
  });
  const policy = new IdentityPolicy(registry);
  for (const phase of ['new', 'returning'] as const) {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < DEVICES) {
          const i = next++;
          const r = await policy.assignIdentity({
            gid: batch.gid,
            pseudonym: point('p', i),
            longtermPublicKey: point('k', i),
            requestedId: null,
            suite: 1,
            source: { address: '127.0.0.1', port: i },
          });
          if (!r.ok) throw new Error(`bench decision refused: ${r.reason}`);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    emit({
      bench: `registry.${backend}.${phase}-device`,
      unit: 'decisions/s',
      value: round(DEVICES / seconds, 0),
      n: DEVICES,
      inFlight: IN_FLIGHT,
    });
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enf-bench-registry-'));
  const sqlite = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  try {
    await measure('sqlite', sqlite);
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync('/usr/lib/postgresql')) {
    emit({ bench: 'registry.postgres', unit: 'skipped', value: 0, reason: 'postgresql not installed' });
    return;
  }
  const server = await startPostgres();
  try {
    const pg = await PostgresRegistry.open({ connection: await server.createDatabase() });
    try {
      await measure('postgres', pg);
    } finally {
      await pg.close();
    }
  } finally {
    await server.stop();
  }
}
