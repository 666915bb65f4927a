// Child process for the registry race and kill -9 tests: opens the registry file, runs handshake
// decisions for devices `label:start .. label:start+count-1`, and prints one line per decision only
// after it has been committed: "ok <pseudonym hex> <identity hex>" or "refused <pseudonym hex> <reason>".
// argv: file gidHex label start count [requestedPrefixHex]
//   requestedPrefixHex: when given, device i requests prefix || u64be(i + 1) instead of deriving.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { IdentityPolicy } from '../../../server-stub/policy/identity-policy.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';

export function devicePseudonym(label: string, i: number): Uint8Array {
  const t = new TextEncoder().encode(`${label}:${i}`);
  return concatBytes(new Uint8Array([4]), sha256(concatBytes(t, new Uint8Array([1]))), sha256(t));
}

/** A stand-in long-term public key (the registry stores it, the handshake has verified it). */
export function deviceKey(label: string, i: number): Uint8Array {
  const t = new TextEncoder().encode(`key:${label}:${i}`);
  return concatBytes(new Uint8Array([4]), sha256(t), sha256(concatBytes(t, t)));
}

async function main(): Promise<void> {
  const [file, gidHex, label, start, count, requestedPrefixHex] = process.argv.slice(2);
  if (!file || !gidHex || !label || !start || !count) throw new Error('usage: file gidHex label start count');
  const registry = SqliteRegistry.open(file);
  const policy = new IdentityPolicy(registry);
  const gid = fromHex(gidHex, 'gid');
  const from = Number(start);
  for (let i = from; i < from + Number(count); i++) {
    const pseudonym = devicePseudonym(label, i);
    let requestedId: Uint8Array | null = null;
    if (requestedPrefixHex) {
      const iid = new Uint8Array(8);
      new DataView(iid.buffer).setBigUint64(0, BigInt(i + 1));
      requestedId = concatBytes(fromHex(requestedPrefixHex, 'prefix'), iid);
    }
    const r = await policy.assignIdentity({
      gid,
      pseudonym,
      longtermPublicKey: deviceKey(label, i),
      requestedId,
      suite: 1,
      source: { address: '127.0.0.1', port: 10000 + (i % 50000) },
    });
    process.stdout.write(
      r.ok ? `ok ${toHex(pseudonym)} ${toHex(r.id)}\n` : `refused ${toHex(pseudonym)} ${r.reason}\n`,
    );
  }
  await registry.close();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: unknown) => {
    process.stderr.write(`child failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
