// The device endpoints (XTT and PKI) listen with a backlog of LISTEN_BACKLOG, capped by the
// kernel's net.core.somaxconn: with Node's default of 511, a burst of a thousand connections (the
// hostile campaign's `linger` class) overflows the accept queue, SYNs are dropped and a real device's
// connect stalls for its SYN retransmits. `ss` reports a listening socket's backlog as its Send-Q.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { LISTEN_BACKLOG } from '../../../server-stub/endpoint/xtt-endpoint.ts';
import { startEnfServer } from './_enf-server.ts';

/** The backlog (Send-Q) of the socket listening on 127.0.0.1:port, from `ss -ltnH`. */
function backlogOf(port: number): number {
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes(`:${port}`));
  if (!line) throw new Error(`nothing listens on port ${port}: ${out}`);
  const [, , sendQ] = line.trim().split(/\s+/);
  return Number(sendQ);
}

test('the XTT endpoint listens with the documented backlog (capped by somaxconn), not 511', async (t) => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const expected = Math.min(LISTEN_BACKLOG, somaxconn);
  if (expected <= 511)
    return t.pass(`somaxconn ${somaxconn} caps every backlog at ${expected}: nothing to tell apart`);
  const dir = mkdtempSync(join(tmpdir(), 'enf-backlog-'));
  createKeyMaterial(dir, systemRng);
  await SqliteRegistry.open(join(dir, 'registry.sqlite')).close();
  const { proc, port } = await startEnfServer(dir);
  try {
    t.is(backlogOf(port), expected);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
