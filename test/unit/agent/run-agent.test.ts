// Tests for agent/run-agent.ts, the agent's flow, over fakes (test/fakes/): first boot versus later
// boots, retries with backoff and STATUS= text, refusals, fatal errors, crash between handshake and
// store, DAD, and the watcher putting the address back.
import test from 'ava';
import { ProtocolError } from '../../../protocol/errors.ts';
import {
  runAgent,
  classifyProvisionError,
  type AgentOptions,
  type AgentPorts,
} from '../../../agent/run-agent.ts';
import { AbortedError, StateError } from '../../../agent/errors.ts';
import {
  assertUsableIdentity,
  UnusableIdentityError,
  unusableIdentityReason,
} from '../../../agent/identity-check.ts';
import { FakeAddressConfigurator } from '../../fakes/fake-address-configurator.ts';
import { FakeClock } from '../../fakes/fake-clock.ts';
import { FakeNotifier } from '../../fakes/fake-notifier.ts';
import { MemoryStateStore } from '../../fakes/memory-state-store.ts';
import { RecordingLogger } from '../../fakes/recording-logger.ts';
import { SeqRng } from '../../fakes/seq-rng.ts';

const ID = new Uint8Array(Buffer.from('fd0000000000000000000000000000a1', 'hex'));
const LTK = new Uint8Array(65).fill(4);
const opts: AgentOptions = {
  ifname: 'eth0',
  prefixLength: 64,
  nodad: false,
  dadTimeoutMs: 5000,
  server: 'enf.test:4444',
  backoff: { initialMs: 1000, maxMs: 8000 },
  watch: true,
};
const refused = () => new ProtocolError('RECEIVED_ERROR', 'ServerInitAndAttest', 'server sent Error');
const refusedConn = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4444'), { code: 'ECONNREFUSED' });

function setup(script: (() => Error | undefined)[] = []) {
  const store = new MemoryStateStore();
  const net = new FakeAddressConfigurator();
  const notifier = new FakeNotifier();
  const clock = new FakeClock();
  const log = new RecordingLogger();
  let handshakes = 0;
  const ports: AgentPorts = {
    store,
    net,
    notifier,
    clock,
    log,
    rng: new SeqRng([0xffffffff]), // jitter at the top of each window: delays are the windows
    provisionIdentity: async () => {
      const fail = script[handshakes++]?.();
      if (fail) throw fail;
      return { identity: ID, longtermPublicKey: LTK, certificate: new Uint8Array([7]) };
    },
  };
  return { store, net, notifier, clock, log, ports, handshakes: () => handshakes };
}

test('first boot: handshake, store, address, DAD, then READY=1 and the watcher', async (t) => {
  const s = setup();
  const run = await runAgent(s.ports, opts, new AbortController().signal);
  t.true(run.isFirstBoot);
  t.true(run.isWatching);
  t.is(s.handshakes(), 1);
  t.deepEqual(s.store.state, {
    identity: ID,
    longtermPublicKey: LTK,
    certificate: new Uint8Array([7]),
    server: 'enf.test:4444',
    provisionedAt: new Date(s.clock.time),
  });
  t.deepEqual(s.net.calls, [
    'find eth0',
    `add eth0 ${Buffer.from(ID).toString('hex')}/64`,
    'wait eth0',
    'watch eth0',
  ]);
  t.deepEqual(s.notifier.sent, [
    'STATUS=loading state',
    'STATUS=provisioning: handshake with enf.test:4444 (attempt 1)',
    'STATUS=storing identity',
    'STATUS=configuring fd00::a1/64 on eth0',
    'STATUS=waiting for duplicate address detection of fd00::a1 on eth0',
    'READY=1 STATUS=identity fd00::a1 on eth0',
  ]);
  t.true(s.notifier.watchdog);
  await run.stop();
  t.is(s.notifier.sent.at(-1), 'STOPPING=1');
  t.is(s.net.calls.at(-1), 'unwatch eth0');
});

test('without watch: READY=1 once the address is configured, and nothing keeps running', async (t) => {
  const s = setup();
  s.store.state = { identity: ID, longtermPublicKey: LTK, server: 'old:1', provisionedAt: new Date(0) };
  const run = await runAgent(s.ports, { ...opts, watch: false }, new AbortController().signal);
  t.false(run.isWatching);
  t.deepEqual(s.net.calls, ['find eth0', `add eth0 ${Buffer.from(ID).toString('hex')}/64`, 'wait eth0']);
  t.is(s.notifier.sent.at(-1), 'READY=1 STATUS=identity fd00::a1 on eth0');
  await run.stop();
  t.is(s.notifier.sent.at(-1), 'STOPPING=1');
  t.false(s.net.calls.includes('unwatch eth0'));
});

test('later boot: no handshake, the stored identity is re-applied', async (t) => {
  const s = setup();
  s.store.state = { identity: ID, longtermPublicKey: LTK, server: 'old:1', provisionedAt: new Date(0) };
  const run = await runAgent(s.ports, { ...opts, nodad: true }, new AbortController().signal);
  t.false(run.isFirstBoot);
  t.is(s.handshakes(), 0);
  t.is(s.store.saves, 0);
  t.true(s.net.hasAddress('eth0', ID));
  t.false(s.net.calls.includes('wait eth0'), 'nodad: no DAD wait');
  t.true(s.notifier.isReady);
});

test('server down then up: retries with doubling jittered delays and says so in STATUS=', async (t) => {
  const s = setup([refusedConn, refusedConn, refusedConn, refusedConn, refusedConn]);
  await runAgent(s.ports, opts, new AbortController().signal);
  t.is(s.handshakes(), 6);
  t.deepEqual(s.clock.sleeps, [1000, 2000, 4000, 8000, 8000]);
  t.true(s.notifier.sent.includes('STATUS=provisioning: server unreachable (ECONNREFUSED), retry 2 in 1 s'));
  t.true(s.notifier.sent.includes('STATUS=provisioning: handshake with enf.test:4444 (attempt 6)'));
  t.true(s.notifier.isReady);
  t.is(s.log.lines.filter((l) => l.startsWith('warn: attempt')).length, 5);
});

test('refusals never give up: backoff up to the refusal cap, STATUS= says why, provisions once accepted', async (t) => {
  // Eight refusals (the batch not yet associated with a network), then the server accepts.
  const s = setup(Array.from({ length: 8 }, () => refused));
  const run = await runAgent(s.ports, { ...opts, refusedBackoffMaxMs: 60_000 }, new AbortController().signal);
  t.is(s.handshakes(), 9);
  // Refusal windows double past the network cap (8000) up to the refusal cap (60000).
  t.deepEqual(s.clock.sleeps, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  t.true(
    s.notifier.sent.includes(
      'STATUS=provisioning: server refused this device (1x; batch not associated with a network yet, or revoked), retry 2 in 1 s',
    ),
  );
  t.true(s.notifier.sent.some((m) => m.startsWith('STATUS=provisioning: server refused this device (8x;')));
  t.is(s.log.lines.filter((l) => /refused this device .*its batch may not be associated/.test(l)).length, 8);
  t.deepEqual(s.store.state?.identity, ID);
  t.true(run.isFirstBoot);
  t.true(s.notifier.isReady);
});

test('refusals: the cap defaults to one hour; a network fault after refusals keeps the network cap', async (t) => {
  const s = setup([...Array.from({ length: 14 }, () => refused), refusedConn]);
  await runAgent(s.ports, opts, new AbortController().signal);
  t.is(s.clock.sleeps.length, 15);
  t.is(s.clock.sleeps[13], 3_600_000);
  t.true(s.clock.sleeps.slice(0, 14).every((d) => d <= 3_600_000));
  t.is(s.clock.sleeps[14], 8000, 'a network fault waits at most backoff.maxMs');
});

test('an unusable identity (multicast, as the reference server may assign) is never stored; the next one is', async (t) => {
  const s = setup();
  const multicast = new Uint8Array(Buffer.from('ff0200000000000000000000000000a1', 'hex'));
  const ids = [multicast, ID];
  let calls = 0;
  s.ports.provisionIdentity = async () => ({ identity: ids[calls++]!, longtermPublicKey: LTK });
  const run = await runAgent(s.ports, opts, new AbortController().signal);
  t.is(calls, 2);
  t.deepEqual(s.store.state?.identity, ID);
  t.deepEqual(run.state.identity, ID);
  t.false(s.net.hasAddress('eth0', multicast));
  t.true(s.log.lines.some((l) => /IDENTITY_UNUSABLE: server assigned ff02::a1, a multicast address/.test(l)));
});

test('unusable identities: multicast, unspecified, loopback, IPv4-mapped, wrong length', (t) => {
  const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
  t.regex(unusableIdentityReason(hex('ff' + '00'.repeat(15)))!, /multicast/);
  t.regex(unusableIdentityReason(new Uint8Array(16))!, /unspecified/);
  t.regex(unusableIdentityReason(hex('00'.repeat(15) + '01'))!, /loopback/);
  t.regex(unusableIdentityReason(hex('00'.repeat(10) + 'ffff' + '0a000001'))!, /IPv4-mapped/);
  t.regex(unusableIdentityReason(new Uint8Array(4))!, /not 16 bytes/);
  t.is(unusableIdentityReason(ID), undefined);
  t.throws(() => assertUsableIdentity(hex('ff' + '00'.repeat(15))), { instanceOf: UnusableIdentityError });
});

test('a server certificate that does not chain to the root is fatal at once', async (t) => {
  const s = setup([() => new ProtocolError('UNKNOWN_ROOT', 'ServerInitAndAttest', 'unknown root_id')]);
  await t.throwsAsync(runAgent(s.ports, opts, new AbortController().signal), { message: /unknown root_id/ });
  t.is(s.handshakes(), 1);
  t.deepEqual(s.clock.sleeps, []);
});

test('missing interface fails before any handshake', async (t) => {
  const s = setup();
  const e = await t.throwsAsync(
    runAgent(s.ports, { ...opts, ifname: 'wlan9' }, new AbortController().signal),
  );
  t.is((e as { code?: string }).code, 'INTERFACE_MISSING');
  t.is(s.handshakes(), 0);
});

test('corrupt state is reported and not replaced by a new handshake', async (t) => {
  const s = setup();
  s.store.isCorrupt = true;
  await t.throwsAsync(runAgent(s.ports, opts, new AbortController().signal), { instanceOf: StateError });
  t.is(s.handshakes(), 0);
});

test('crash between handshake and store: the next start provisions again and ends with one identity', async (t) => {
  const s = setup();
  s.store.crashOnSave = new Error('killed');
  await t.throwsAsync(runAgent(s.ports, opts, new AbortController().signal), { message: 'killed' });
  t.false(s.net.hasAddress('eth0', ID), 'nothing configured before the identity is stored');
  await runAgent(s.ports, opts, new AbortController().signal);
  t.is(s.store.saves, 1);
  t.deepEqual(s.store.state?.identity, ID);
});

test('a concurrent start that stored first wins: its identity is used', async (t) => {
  const s = setup();
  const other = new Uint8Array(16).fill(0xfd);
  const save = s.store.save.bind(s.store);
  s.store.save = async (st) => {
    s.store.state = { identity: other, longtermPublicKey: LTK, server: 'x:1', provisionedAt: new Date(0) };
    return save(st);
  };
  const run = await runAgent(s.ports, opts, new AbortController().signal);
  t.deepEqual(run.state.identity, other);
  t.true(s.net.hasAddress('eth0', other));
});

test('DAD failure and DAD timeout: no READY', async (t) => {
  for (const outcome of ['failed', 'never'] as const) {
    const s = setup();
    s.net.dadOutcome = outcome;
    const e = await t.throwsAsync(runAgent(s.ports, opts, new AbortController().signal));
    t.is((e as { code?: string }).code, outcome === 'failed' ? 'DAD_FAILED' : 'TIMEOUT');
    t.false(s.notifier.isReady);
  }
});

test('shutdown during backoff aborts the wait', async (t) => {
  const s = setup([refusedConn]);
  const ac = new AbortController();
  s.ports.provisionIdentity = async () => {
    ac.abort();
    throw refusedConn();
  };
  await t.throwsAsync(runAgent(s.ports, opts, ac.signal), { message: /ECONNREFUSED/ });
  const s2 = setup([refusedConn]);
  const ac2 = new AbortController();
  const sleep = s2.clock.sleep.bind(s2.clock);
  s2.clock.sleep = (ms, sig) => {
    ac2.abort();
    return sleep(ms, sig);
  };
  await t.throwsAsync(runAgent(s2.ports, opts, ac2.signal), { instanceOf: AbortedError });
});

test('the watcher puts a removed address back and logs it', async (t) => {
  const s = setup();
  await runAgent(s.ports, opts, new AbortController().signal);
  await s.net.removeAddress('eth0', ID);
  t.true(s.net.hasAddress('eth0', ID));
  t.true(s.log.lines.includes('warn: address fd00::a1 was gone (address-removed); put it back'));
});

test('classification: refusals, fatal codes, retryable faults', (t) => {
  t.is(classifyProvisionError(refused()), 'refused');
  t.is(classifyProvisionError(refusedConn()), 'retry');
  t.is(classifyProvisionError(new ProtocolError('BAD_MESSAGE', 'x', 'y')), 'retry');
  t.is(classifyProvisionError(new ProtocolError('BAD_SERVER_SIGNATURE', 'x', 'y')), 'fatal');
  t.is(classifyProvisionError(new ProtocolError('UNKNOWN_ROOT', 'x', 'y')), 'fatal');
});
