// The management API at hosted scale: 10 organizations, each with a network, a batch and 10 000
// provisioned devices (100 000 in all, one handshake audit entry each), in a SQLite registry on disk,
// behind the real management server (server-stub/http). Times the routes the dashboard and a
// customer's scripts call most, as one organization's viewer and as the server-wide superadmin:
// sequential requests over loopback, median and p95 wall time per request. The device list is timed
// at its first page, at a page deep into the list (after 5 000 devices of the organization, 50 000
// of all) and filtered by batch and status.
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { concatBytes } from '../protocol/util/bytes.ts';
import { startManagementServer } from '../server-stub/http/management-server.ts';
import { Metrics } from '../server-stub/metrics.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { emit, median, percentile, round, timeIt } from './stats.ts';

const ORGS = 10;
const DEVICES_PER_ORG = 10_000;
const CHUNK = 2_000;
const N = 30;

const point = (label: string): Uint8Array => {
  const t = new TextEncoder().encode(label);
  return concatBytes(new Uint8Array([4]), sha256(t), sha256(concatBytes(t, t)));
};

/** fd00:aa:<org>::<i> as 16 bytes: inside the organization's network fd00:aa:<org>::/64. */
function identity(org: number, i: number): Uint8Array {
  const b = new Uint8Array(16);
  b.set([0xfd, 0x00, 0x00, 0xaa, 0x00, org], 0);
  new DataView(b.buffer).setUint32(12, i + 1);
  return b;
}

async function seed(registry: SqliteRegistry): Promise<void> {
  for (let o = 0; o < ORGS; o++) {
    const org = await registry.addOrganization({ name: `org-${o}` });
    await registry.addNetwork({ name: 'plant', prefix: `fd00:aa:${o}::/64` }, org.id);
    const gpk = new Uint8Array(258).fill(o + 1);
    gpk[0] = 4;
    gpk[129] = 4;
    const batch = await registry.addBatch(
      { gpk, basename: new Uint8Array([o]), name: 'lot', network: 'plant', size: DEVICES_PER_ORG },
      org.id,
    );
    for (let start = 0; start < DEVICES_PER_ORG; start += CHUNK) {
      await registry.withTransaction(async (tx) => {
        for (let i = start; i < Math.min(DEVICES_PER_ORG, start + CHUNK); i++) {
          const pseudonym = point(`nym-${o}-${i}`);
          const id = identity(o, i);
          await tx.insertDevice({
            gid: batch.gid,
            pseudonym,
            identity: id,
            longtermPublicKey: point(`lt-${o}-${i}`),
            source: '192.0.2.7',
          });
          await tx.appendAudit({
            sourceAddress: '192.0.2.7',
            sourcePort: 40_000 + (i % 20_000),
            gid: batch.gid,
            pseudonym,
            suite: 1,
            outcome: 'provisioned',
            reason: 'ok',
            geolocation: null,
            identity: id,
          });
        }
      });
    }
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  try {
    const t0 = performance.now();
    await seed(registry);
    emit({
      bench: 'api.seed',
      unit: 's',
      value: round((performance.now() - t0) / 1000),
      organizations: ORGS,
      devices: ORGS * DEVICES_PER_ORG,
    });
    const token = () => new TextEncoder().encode(randomBytes(24).toString('hex'));
    const superadmin = token();
    const viewer = token();
    const server = await startManagementServer({
      registry,
      host: '127.0.0.1',
      port: 0,
      metrics: new Metrics(),
      tokens: [superadmin, { token: viewer, org: 'org-3', role: 'viewer' }],
    });
    try {
      const get = async (path: string, token: Uint8Array): Promise<void> => {
        const res = await fetch(new URL(path, server.url), {
          headers: { authorization: `Bearer ${new TextDecoder().decode(token)}` },
        });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      };
      /** The cursor `pages` pages of 1000 into the device list: deep pages cost what the first does. */
      const deepCursor = async (token: Uint8Array, pages: number): Promise<string> => {
        let cursor = '';
        for (let i = 0; i < pages; i++) {
          const res = await fetch(
            new URL(`api/v1/devices?limit=1000${cursor && `&cursor=${cursor}`}`, server.url),
            {
              headers: { authorization: `Bearer ${new TextDecoder().decode(token)}` },
            },
          );
          cursor = ((await res.json()) as { nextCursor: string }).nextCursor;
        }
        return cursor;
      };
      const routes: [string, string, Uint8Array][] = [
        ['devices_page', 'api/v1/devices?limit=100', viewer],
        ['devices_page_all_orgs', 'api/v1/devices?limit=100', superadmin],
        ['devices_page_deep', `api/v1/devices?limit=100&cursor=${await deepCursor(viewer, 5)}`, viewer],
        [
          'devices_page_deep_all_orgs',
          `api/v1/devices?limit=100&cursor=${await deepCursor(superadmin, 50)}`,
          superadmin,
        ],
        ['devices_page_batch', 'api/v1/devices?limit=100&batch=lot&status=active', viewer],
        ['audit_page', 'api/v1/audit?limit=100', viewer],
        ['batches', 'api/v1/batches', viewer],
        ['networks', 'api/v1/networks', viewer],
        ['overview', 'api/v1/overview', viewer],
        ['metrics', 'metrics', viewer],
        ['metrics_all_orgs', 'metrics', superadmin],
      ];
      for (const [name, path, token] of routes) {
        const ms = await timeIt(() => get(path, token), N);
        emit({
          bench: `api.${name}`,
          unit: 'ms',
          median: round(median(ms)),
          p95: round(percentile(ms, 95)),
          n: N,
          devices: ORGS * DEVICES_PER_ORG,
          organizations: ORGS,
        });
      }
    } finally {
      await server.close();
    }
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
