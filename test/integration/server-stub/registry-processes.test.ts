// Two servers on one SQLite registry file (never hand one address to two devices) and
// kill -9 durability (no identity lost, none duplicated, the audit intact).
// Real child processes on a real file on disk; each prints a line only after its commit.
import test from 'ava';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../protocol/util/bytes.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { testGpk } from '../../unit/server-stub/registry/_registry-suite.ts';

const CHILD = 'test/integration/server-stub/_registry-child.ts';
const PREFIX_HEX = '20010db800aa0001';

async function freshRegistry(size: number) {
  const dir = mkdtempSync(join(tmpdir(), 'enf-registry-proc-'));
  const file = join(dir, 'registry.sqlite');
  const r = SqliteRegistry.open(file);
  await r.addNetwork({ name: 'plant-a', prefix: '2001:db8:aa:1::/64' });
  const batch = await r.addBatch({
    gpk: testGpk(),
    basename: new Uint8Array([1]),
    name: 'lot',
    network: 'plant-a',
    size,
  });
  await r.close();
  return {
    dir,
    file,
    gidHex: toHex(batch.gid),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Child {
  proc: ChildProcess;
  lines: string[];
  done: Promise<number | null>;
}

function runChild(args: string[], onLine?: (line: string, child: Child) => void): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { proc, lines: [], done: Promise.resolve(null) };
  let buf = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      child.lines.push(line);
      onLine?.(line, child);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.done = new Promise((resolve) =>
    proc.on('exit', (code) => {
      if (code !== 0 && code !== null) console.log(`child stderr: ${stderr}`);
      resolve(code);
    }),
  );
  return child;
}

function devicesIn(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT pseudonym, identity FROM devices').all() as {
    pseudonym: Buffer;
    identity: Buffer;
  }[];
  db.close();
  return new Map(rows.map((r) => [r.pseudonym.toString('hex'), r.identity.toString('hex')]));
}

test('two processes handshaking the same devices agree on one identity each', async (t) => {
  const reg = await freshRegistry(1000);
  const a = runChild([reg.file, reg.gidHex, 'shared', '0', '60']);
  const b = runChild([reg.file, reg.gidHex, 'shared', '0', '60']);
  t.deepEqual(await Promise.all([a.done, b.done]), [0, 0]);
  const stored = devicesIn(reg.file);
  t.is(stored.size, 60);
  for (const line of [...a.lines, ...b.lines]) {
    const [status, p, id] = line.split(' ');
    t.is(status, 'ok', line);
    t.is(stored.get(p!), id);
  }
  t.is(new Set(stored.values()).size, 60, 'no identity held twice');
  reg.cleanup();
});

test('two processes racing different devices for the same requested addresses: each goes to one', async (t) => {
  const reg = await freshRegistry(1000);
  const a = runChild([reg.file, reg.gidHex, 'left', '0', '50', PREFIX_HEX]);
  const b = runChild([reg.file, reg.gidHex, 'right', '0', '50', PREFIX_HEX]);
  t.deepEqual(await Promise.all([a.done, b.done]), [0, 0]);
  const granted = [...a.lines, ...b.lines].filter((l) => l.startsWith('ok ')).map((l) => l.split(' ')[2]!);
  const refused = [...a.lines, ...b.lines].filter((l) => l.startsWith('refused '));
  t.is(granted.length, 50, 'each requested address granted exactly once');
  t.is(new Set(granted).size, 50);
  t.is(refused.length, 50);
  t.true(refused.every((l) => l.endsWith(' requested-id-taken')));
  const stored = devicesIn(reg.file);
  t.is(stored.size, 50);
  t.is(new Set(stored.values()).size, 50);
  reg.cleanup();
});

test('kill -9 in a storm of allocations loses and duplicates nothing; the audit stays intact', async (t) => {
  const reg = await freshRegistry(100_000);
  const reported = new Map<string, string>();
  // Two writers at once, one killed mid-storm after 40 committed decisions.
  const survivor = runChild([reg.file, reg.gidHex, 'storm', '0', '150']);
  const victim = runChild([reg.file, reg.gidHex, 'storm', '75', '5000'], (_line, c) => {
    if (c.lines.length === 40) c.proc.kill('SIGKILL');
  });
  const [sCode, vCode] = await Promise.all([survivor.done, victim.done]);
  t.is(sCode, 0);
  t.is(vCode, null, 'the victim died by signal');
  t.true(victim.lines.length >= 40);
  for (const line of [...survivor.lines, ...victim.lines]) {
    const [status, p, id] = line.split(' ');
    t.is(status, 'ok', line);
    if (reported.has(p!)) t.is(reported.get(p!), id, 'same device, same identity across processes');
    reported.set(p!, id!);
  }

  // Reopen: integrity, every reported identity stored, none duplicated, audit matches devices.
  const db = new Database(reg.file, { readonly: true });
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
  const audit = db.prepare("SELECT pseudonym, identity FROM audit WHERE outcome = 'provisioned'").all() as {
    pseudonym: Buffer;
    identity: Buffer;
  }[];
  db.close();
  const stored = devicesIn(reg.file);
  for (const [p, id] of reported) t.is(stored.get(p), id);
  t.is(new Set(stored.values()).size, stored.size);
  for (const a of audit) t.is(stored.get(a.pseudonym.toString('hex')), a.identity.toString('hex'));
  const audited = new Set(audit.map((a) => a.pseudonym.toString('hex')));
  for (const p of stored.keys()) t.true(audited.has(p), 'every stored device has its provisioning audited');
  t.true(audit.length >= reported.size);

  // A restarted server hands the same identities back.
  const again = runChild([reg.file, reg.gidHex, 'storm', '0', '150']);
  t.is(await again.done, 0);
  for (const line of again.lines) {
    const [, p, id] = line.split(' ');
    t.is(reported.get(p!), id);
  }
  reg.cleanup();
});
