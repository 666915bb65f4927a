// The client's retry policy (tpm/tpm.ts) against a scripted transport: which codes are retried,
// identical bytes resent, bounded attempts and backoff, other errors passed through at once.
import test from 'ava';
import { fromHex } from '../../../protocol/util/bytes.ts';
import { getRandom } from '../../../tpm/commands/get-random.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { Tpm, type RetryEvent } from '../../../tpm/tpm.ts';
import type { TpmTransport } from '../../../tpm/transport/transport.ts';

function scripted(responses: string[]): TpmTransport & { sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  return {
    sent,
    description: 'scripted',
    transmit(cmd) {
      sent.push(cmd);
      const r = responses.shift();
      if (r === undefined) throw new Error('script exhausted');
      return Promise.resolve(fromHex(r));
    },
    close: () => Promise.resolve(),
  };
}

const ok = '80010000000e000000000002abcd';
const rc = (n: number): string => '80010000000a' + n.toString(16).padStart(8, '0');

for (const code of [0x922, 0x908, 0x90a]) {
  test(`0x${code.toString(16)} is retried with the identical command`, async (t) => {
    const tr = scripted([rc(code), rc(code), ok]);
    const events: RetryEvent[] = [];
    const sleeps: number[] = [];
    const tpm = new Tpm(tr, {
      onRetry: (e) => events.push(e),
      sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    });
    t.deepEqual(await tpm.run(getRandom(2)), fromHex('abcd'));
    t.is(tr.sent.length, 3);
    t.deepEqual(tr.sent[1], tr.sent[0]);
    t.is(tpm.retries, 2);
    t.deepEqual(
      events.map((e) => e.rc),
      [code, code],
    );
    t.deepEqual(sleeps, [20, 40]);
  });
}

test('attempts are bounded and the last warning surfaces as TpmError', async (t) => {
  const tr = scripted(Array.from({ length: 10 }, () => rc(0x922)));
  const tpm = new Tpm(tr, {
    retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 250 },
    sleep: () => Promise.resolve(),
  });
  const e = await t.throwsAsync(tpm.run(getRandom(2)), { instanceOf: TpmError });
  t.is(e?.rcName, 'TPM_RC_RETRY');
  t.is(tr.sent.length, 4);
});

test('backoff doubles up to the cap', async (t) => {
  const sleeps: number[] = [];
  const tr = scripted([rc(0x922), rc(0x922), rc(0x922), rc(0x922), ok]);
  const tpm = new Tpm(tr, {
    retry: { initialDelayMs: 100, maxDelayMs: 250 },
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
  });
  await tpm.run(getRandom(2));
  t.deepEqual(sleeps, [100, 200, 250, 250]);
});

test('non-transient codes are not retried', async (t) => {
  for (const code of [0x921, 0x18b, 0x101]) {
    const tr = scripted([rc(code), ok]);
    const tpm = new Tpm(tr, { sleep: () => Promise.resolve() });
    await t.throwsAsync(tpm.run(getRandom(2)), { instanceOf: TpmError });
    t.is(tr.sent.length, 1);
  }
});

test('maxAttempts below 1 is refused', (t) => {
  t.throws(() => new Tpm(scripted([]), { retry: { maxAttempts: 0 } }), { instanceOf: RangeError });
});
