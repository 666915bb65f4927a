// The X25519 part of every XTT handshake, exactly as protocol/xtt/client.ts and server.ts call it
// (x25519Ephemeral(systemRng) on each side, each side's public key, both shared secrets), repeated
// COUNT times in this process. Run as a child by bench/x25519-soak.bench.ts (a million times) and
// test/unit/protocol/xtt/x25519-soak.test.ts (thousands) so that a deadlock shows as a child that
// stops making progress, not as a stuck parent. Prints `progress N` every STEP iterations and
// `done N` at the end; exits 1 if the two sides ever disagree.
import { equalBytes } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { x25519Ephemeral } from '../protocol/xtt/key-schedule.ts';

const count = Number(process.argv[2] ?? '1000');
const step = Number(process.argv[3] ?? '1000');
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(step) || step < 1) {
  console.error('usage: x25519-soak-child.ts COUNT [STEP]');
  process.exit(2);
}
for (let i = 1; i <= count; i++) {
  const client = x25519Ephemeral(systemRng);
  const server = x25519Ephemeral(systemRng);
  const a = server.shared(client.publicKey);
  const b = client.shared(server.publicKey);
  if (!equalBytes(a, b)) {
    console.error(`iteration ${i}: shared secrets differ`);
    process.exit(1);
  }
  a.fill(0);
  b.fill(0);
  if (i % step === 0) console.log(`progress ${i}`);
}
console.log(`done ${count}`);
