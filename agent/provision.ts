// The agent's flow (issue 6 "Behaviour"), as a function over ports so it runs the same against the
// real adapters (main.ts) and against fakes (test/fakes/):
//   1. load the stored state; a corrupt file stops here (never silently replaced);
//   2. check the interface exists (fail fast, before talking to the server);
//   3. first boot only: provision the identity, retrying network faults with full-jitter
//      exponential backoff (STATUS= says why and when), then store it atomically;
//      later boots skip this: the stored identity is the device's for life;
//   4. add the address (EEXIST = fine), wait for DAD unless nodad;
//   5. watch the address (and put it back when it goes), then READY=1.
// Crash safety comes from the order: nothing is configured before the state is stored, and a crash
// before the store just provisions again, with the same long-term key (kept from before the first
// attempt, longterm-key-files.ts), and the server gives the same pseudonym the same identity.
import { ZtpError } from '../protocol/errors.ts';
import type { Rng } from '../protocol/util/rng.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';
import type { Clock } from './clock.ts';
import { StateError } from './errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { assertUsableIdentity } from './identity-check.ts';
import { formatIpv6 } from './ipv6-text.ts';
import type { Logger } from './logger.ts';
import type { AddressConfigurator, AddressWatch } from './netlink/address-configurator.ts';
import type { Notifier } from './sd-notify.ts';
import type { StateStore, StoredIdentity } from './state-store.ts';

export interface ProvisionedIdentity {
  identity: Uint8Array;
  longtermPublicKey: Uint8Array;
  certificate?: Uint8Array;
}

export interface AgentPorts {
  store: StateStore;
  net: AddressConfigurator;
  notifier: Notifier;
  clock: Clock;
  rng: Rng;
  log: Logger;
  /** One provisioning attempt (XTT handshake with TPM signing); filled by main.ts. */
  provisionIdentity(signal: AbortSignal): Promise<ProvisionedIdentity>;
}

export interface AgentOptions {
  ifname: string;
  prefixLength: number;
  nodad: boolean;
  dadTimeoutMs: number;
  /** `host:port`, recorded with the identity and shown in STATUS=. */
  server: string;
  backoff: BackoffPolicy;
  /** Refusals by the server (an XTT Error message) tolerated before giving up. Default 3. */
  maxRefusals?: number;
}

export interface RunningAgent {
  state: StoredIdentity;
  /** True when this run did the handshake (first boot). */
  isFirstBoot: boolean;
  /** Stops watching and sends STOPPING=1. */
  stop(): Promise<void>;
}

type Verdict = 'retry' | 'refused' | 'fatal';

/** What to do with a failed attempt: network faults retry, refusals count, the rest is fatal. */
export function classifyProvisionError(e: unknown): Verdict {
  if (!(e instanceof ZtpError)) return 'retry'; // socket errors (ECONNREFUSED, ETIMEDOUT, ...)
  switch (exitCodeFor(e)) {
    case EXIT.SERVER_REFUSED:
      return 'refused';
    case EXIT.CONFIG:
    case EXIT.NO_TPM:
    case EXIT.TPM_NOT_PROVISIONED:
    case EXIT.TPM_FAILURE:
    case EXIT.SERVER_UNTRUSTED:
      return 'fatal';
    default:
      return 'retry'; // timeouts, truncated or garbled messages, AEAD failures on a bad link
  }
}

function describe(e: unknown): string {
  if (e instanceof ZtpError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return (e as NodeJS.ErrnoException).code ?? e.message;
  return String(e);
}

async function provisionWithRetries(
  p: AgentPorts,
  o: AgentOptions,
  signal: AbortSignal,
): Promise<ProvisionedIdentity> {
  const backoff = new Backoff(o.backoff, p.rng, p.clock);
  const maxRefusals = o.maxRefusals ?? 3;
  let refusals = 0;
  for (let attempt = 1; ; attempt++) {
    p.notifier.status(`provisioning: handshake with ${o.server} (attempt ${attempt})`);
    try {
      const got = await p.provisionIdentity(signal);
      assertUsableIdentity(got.identity);
      return got;
    } catch (e) {
      if (signal.aborted) throw e;
      const verdict = classifyProvisionError(e);
      if (verdict === 'fatal') throw e;
      if (verdict === 'refused' && ++refusals >= maxRefusals) {
        p.log.error(`server ${o.server} refused this device ${refusals} times; giving up`);
        throw e;
      }
      const delay = backoff.next();
      const what = verdict === 'refused' ? 'server refused' : 'server unreachable';
      p.log.warn(`attempt ${attempt} failed (${describe(e)}); retrying in ${delay} ms`);
      p.notifier.status(
        `provisioning: ${what} (${describe(e)}), retry ${attempt + 1} in ${Math.ceil(delay / 1000)} s`,
      );
      await p.clock.sleep(delay, signal);
    }
  }
}

/** Runs the flow up to READY=1 and returns with the watcher running. */
export async function runAgent(p: AgentPorts, o: AgentOptions, signal: AbortSignal): Promise<RunningAgent> {
  // The watchdog runs from the start: systemd arms it when the service starts, and pings during a
  // long first-boot backoff prove the event loop is alive.
  p.notifier.startWatchdog();
  p.notifier.status('loading state');
  let state = await p.store.load();
  await p.net.findInterface(o.ifname);

  const isFirstBoot = state === undefined;
  if (!state) {
    const got = await provisionWithRetries(p, o, signal);
    const fresh: StoredIdentity = {
      identity: got.identity,
      longtermPublicKey: got.longtermPublicKey,
      server: o.server,
      provisionedAt: new Date(p.clock.now()),
    };
    if (got.certificate) fresh.certificate = got.certificate;
    p.notifier.status('storing identity');
    try {
      await p.store.save(fresh);
      state = fresh;
    } catch (e) {
      // Another run stored first (two starts racing): the stored identity wins, by design.
      if (!(e instanceof StateError) || !/already stored/.test(e.message)) throw e;
      state = (await p.store.load())!;
      p.log.warn('an identity was stored concurrently; using the stored one');
    }
    p.log.info(`provisioned identity ${formatIpv6(state.identity)} from ${o.server}`);
  } else {
    p.log.info(`stored identity ${formatIpv6(state.identity)}; no handshake needed`);
  }

  const text = formatIpv6(state.identity);
  p.notifier.status(`configuring ${text}/${o.prefixLength} on ${o.ifname}`);
  await p.net.addAddress(o.ifname, state.identity, o.prefixLength, { nodad: o.nodad });
  if (!o.nodad) {
    p.notifier.status(`waiting for duplicate address detection of ${text} on ${o.ifname}`);
    await p.net.waitNotTentative(o.ifname, state.identity, o.dadTimeoutMs, signal);
  }
  const watch: AddressWatch = await p.net.watch(
    { ifname: o.ifname, address: state.identity, prefixLen: o.prefixLength, nodad: o.nodad },
    (ev) => {
      if (ev.kind === 'restored') p.log.warn(`address ${text} was gone (${ev.reason}); put it back`);
      else p.log.error(`address watcher: ${describe(ev.error)}`);
    },
  );
  p.notifier.ready(`identity ${text} on ${o.ifname}`);
  return {
    state,
    isFirstBoot,
    stop: async () => {
      p.notifier.stopping();
      await watch.close();
    },
  };
}
