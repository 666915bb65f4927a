// Child process for the PostgreSQL multi-process tests: one "enf-server" sharing the registry.
// Opens the PostgreSQL registry, runs handshake decisions through IdentityPolicy for devices
// `label:start .. label:start+count-1`, printing "ok <pseudonym hex> <identity hex>" or
// "refused <pseudonym hex> <reason>" per committed decision.
// argv: connectionJson gidHex label start count
import { fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { PostgresRegistry } from '../../../server-stub/registry/postgres-registry.ts';
import { deviceKey, devicePseudonym } from './_registry-child.ts';

async function main(): Promise<void> {
  const [conn, gidHex, label, start, count] = process.argv.slice(2);
  if (!conn || !gidHex || !label || !start || !count)
    throw new Error('usage: connectionJson gidHex label start count');
  const registry = await PostgresRegistry.open({ connection: JSON.parse(conn) as object });
  const policy = new IdentityPolicy(registry);
  const gid = fromHex(gidHex, 'gid');
  const from = Number(start);
  for (let i = from; i < from + Number(count); i++) {
    const pseudonym = devicePseudonym(label, i);
    const r = await policy.assignIdentity({
      gid,
      pseudonym,
      longtermPublicKey: deviceKey(label, i),
      requestedId: null,
      suite: 1,
      source: { address: '127.0.0.1', port: 10000 + (i % 50000) },
    });
    process.stdout.write(
      r.ok ? `ok ${toHex(pseudonym)} ${toHex(r.id)}\n` : `refused ${toHex(pseudonym)} ${r.reason}\n`,
    );
  }
  await registry.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`child failed: ${(err as Error).message}\n`);
  process.exit(1);
});
