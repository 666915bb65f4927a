// PKI enrollments per second (beside the XTT figure of `npm run bench -- server`): the real
// PkiEndpoint + PkiPolicy on a SQLite registry file (synchronous=FULL, group commit) over loopback
// TLS 1.3, clients in this same process (so the figure is a floor for the server), CAs and device
// certificates made by openssl before timing. Both proofs: TLS client certificate (new devices,
// then returning ones) and the signed challenge with a software P-256 key. Measured 2026-12-07 with
// load average ~29 on the 2-core VM (other jobs): 13.8 / 14.3 / 14.2 enrollments/s, p50 ~1.0-1.1 s;
// compare only with runs under the same conditions.
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { enrollOverTls, type PkiCredentials } from '../agent/pki-tls-client.ts';
import { parseCertificate } from '../protocol/pki/certificate.ts';
import { silentLogger } from '../server-stub/log.ts';
import { PkiEndpoint } from '../server-stub/endpoint/pki-endpoint.ts';
import { PkiPolicy } from '../server-stub/policy/pki-policy.ts';
import { SqliteRegistry } from '../server-stub/registry/sqlite-registry.ts';
import { EXT, issue, issueCa, makeRoot, type IssuedCert } from '../test/helpers/openssl-ca.ts';
import { emit, percentile, round } from './stats.ts';

const DEVICES = Number(process.env.PKI_BENCH_DEVICES ?? 64);
const IN_FLIGHT = 16;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pki-'));
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const endpointCa = makeRoot(dir, 'tls-ca');
  const tls = issue(endpointCa, dir, 'tls', { ext: EXT.server });
  const root = makeRoot(dir, 'root');
  const inter = issueCa(root, dir, 'inter');
  await registry.addNetwork({ name: 'bench', prefix: '2001:db8:be:2::/64' });
  await registry.pki.addCa({ der: root.der, name: 'root', network: 'bench', maxDevices: null });
  const leaves: IssuedCert[] = [];
  for (let i = 0; i < DEVICES; i++) leaves.push(issue(inter, dir, `d${i}`));
  const policy = new PkiPolicy(registry.pki, parseCertificate, { clock: { now: Date.now } });
  const endpoint = new PkiEndpoint(
    { host: '127.0.0.1', port: 0, cert: tls.pem, key: readFileSync(tls.keyPath), maxPerSource: 64 },
    { policy, logger: silentLogger },
  );
  const port = (await endpoint.listen()).port;
  const target = {
    host: '127.0.0.1',
    port,
    serverCa: endpointCa.pem,
    connectTimeoutMs: 30_000,
    handshakeTimeoutMs: 60_000,
  };
  const byTls = (l: IssuedCert): PkiCredentials => ({
    chain: [l.der, inter.der],
    tls: { key: readFileSync(l.keyPath), cert: l.pem + inter.pem },
  });
  const byChallenge = (l: IssuedCert): PkiCredentials => {
    const key = createPrivateKey(readFileSync(l.keyPath));
    const jwk = key.export({ format: 'jwk' });
    return {
      chain: [l.der, inter.der],
      signer: {
        publicKey: Uint8Array.of(4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')),
        sign: async (m) => new Uint8Array(nodeSign('sha256', m, { key, dsaEncoding: 'ieee-p1363' })),
      },
    };
  };
  const measure = async (name: string, creds: (l: IssuedCert) => PkiCredentials) => {
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < leaves.length) {
          const l = leaves[next++]!;
          const s = performance.now();
          await enrollOverTls(creds(l), { ...target, signal: new AbortController().signal });
          latencies.push(performance.now() - s);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    emit({
      bench: `pki.${name}`,
      unit: 'enrollments/s',
      value: round(leaves.length / seconds, 1),
      n: leaves.length,
    });
    emit({
      bench: `pki.${name}.p50`,
      unit: 'ms',
      median: round(percentile(latencies, 50), 1),
      n: latencies.length,
    });
  };
  try {
    await measure('tls_new', byTls);
    await measure('tls_returning', byTls);
    await measure('challenge_returning', byChallenge);
  } finally {
    await endpoint.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
