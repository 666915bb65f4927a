// The handshake's X25519 sequence (x25519Ephemeral on both sides, both shared secrets) run thousands
// of times in a child process, so a deadlock inside node:crypto (openssl-primitives.ts: Node 20's
// generated-key JWK export against its generation job) fails this test instead of hanging the
// suite. The child runs with a 1 MiB young generation so that garbage collections, the trigger,
// come often: the generateKeyPairSync + JWK export sequence this replaced hung there in 3 runs of 4
// within 5000 iterations. A hang is recognised by progress stopping (no line from the child for a
// long quiet period), not by how fast the child goes.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../../../../bench/x25519-soak-child.ts', import.meta.url));
const COUNT = 10_000;
const STEP = 250;
const STALL_MS = 90_000;

test('10 000 handshake X25519 exchanges in a child never stall', async (t) => {
  t.timeout(30 * 60_000, 'the child watchdog below decides; this only bounds a broken watchdog');
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=1', '--import', 'tsx', CHILD, String(COUNT), String(STEP)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let lastProgress = 0;
  let stalled = false;
  let watchdog = setTimeout(function stall() {
    stalled = true;
    child.kill('SIGKILL');
  }, STALL_MS);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const m = /progress (\d+)\n(?![\s\S]*progress)/.exec(stdout);
    const n = m ? Number(m[1]) : 0;
    if (n > lastProgress) {
      lastProgress = n;
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        child.kill('SIGKILL');
      }, STALL_MS);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  clearTimeout(watchdog);
  t.false(stalled, `the child stopped making progress after ${lastProgress} exchanges (deadlock)`);
  t.is(code, 0, stderr);
  t.true(stdout.includes(`done ${COUNT}\n`), stdout.slice(-200));
  t.is(lastProgress, COUNT);
});
