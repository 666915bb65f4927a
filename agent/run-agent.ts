// The agent's flow, as a function over ports so it runs the same against the
// real adapters (main.ts) and against fakes (test/fakes/):
//   1. load the stored state; a corrupt file stops here (never silently replaced);
//   2. check the interface exists (fail fast, before talking to the server);
//   3. first boot only: provision the identity, retrying network faults and refusals with
//      full-jitter exponential backoff (STATUS= says why and when), then store it atomically.
//      A refusal is retried for as long as it takes (up to refusedBackoffMaxMs apart): in the field
//      devices are powered on before the customer associates their batch with a network, and the
//      server's refusals look alike on purpose (revoked or not yet associated). Only what no server
//      change can fix stops the agent: no TPM, TPM not provisioned, server not trusted, bad config;
//      later boots skip this: the stored identity is the device's for life;
//   4. add the address (EEXIST = fine), wait for DAD unless nodad;
//   5. READY=1; with `watch`, first start the watcher that puts the address back when it goes.
//      Without it the process ends after READY=1 and the network manager keeps the address
//      (`xtt-agent handoff`, agent/network-manager/), so nothing of the agent stays resident.
// Crash safety comes from the order: nothing is configured before the state is stored, and a crash
// before the store just provisions again, with the same long-term key (kept from before the first
// attempt, longterm-key-files.ts), and the server gives the same pseudonym the same identity.
import { ZtpError } from '../protocol/errors.ts';
import type { Rng } from '../protocol/util/rng.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';
import type { Clock } from './clock.ts';
import { IdentityStoredError } from './errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { assertUsableIdentity } from './identity-check.ts';
import { formatIpv6 } from '../protocol/util/ipv6.ts';
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
  /** Cap on the delay after a refusal (an XTT Error message); default one hour. */
  refusedBackoffMaxMs?: number;
  /** Keep watching the address after READY=1 (the agent stays resident). */
  watch: boolean;
  /**
   * Why the server may refuse, for the log and STATUS=; default the XTT path's (batch not yet
   * associated with a network, or revoked). Method pki says it of its CA and certificate.
   */
  refusalHint?: { log: string; status: string };
}

const XTT_REFUSAL_HINT = {
  log: 'its batch may not be associated with a network yet, or the batch or device is revoked',
  status: 'batch not associated with a network yet, or revoked',
};

export interface RunningAgent {
  state: StoredIdentity;
  /** True when this run did the handshake (first boot). */
  isFirstBoot: boolean;
  /** True when the watcher runs: the caller keeps the process until SIGTERM. */
  isWatching: boolean;
  /** Stops watching (if it runs) and sends STOPPING=1. */
  stop(): Promise<void>;
}

/** Refusals change only when an operator acts: retry at least hourly, no sooner than backoff says. */
export const DEFAULT_REFUSED_BACKOFF_MAX_MS = 3_600_000;

type Verdict = 'retry' | 'refused' | 'fatal';

/** What to do with a failed attempt: network faults and refusals retry (refusals with a longer cap), the rest is fatal. */
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
  const refusedMaxMs = Math.max(o.backoff.initialMs, o.refusedBackoffMaxMs ?? DEFAULT_REFUSED_BACKOFF_MAX_MS);
  let refusals = 0;
  const hint = o.refusalHint ?? XTT_REFUSAL_HINT;
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
      const isRefused = verdict === 'refused';
      const delay = backoff.next(isRefused ? refusedMaxMs : o.backoff.maxMs);
      const retry = `retry ${attempt + 1} in ${Math.ceil(delay / 1000)} s`;
      if (isRefused) {
        refusals++;
        p.log.warn(
          `attempt ${attempt}: server ${o.server} refused this device (${describe(e)}; ${refusals} refusals so far): ` +
            `${hint.log}; retrying in ${delay} ms`,
        );
        p.notifier.status(
          `provisioning: server refused this device (${refusals}x; ${hint.status}), ${retry}`,
        );
      } else {
        p.log.warn(`attempt ${attempt} failed (${describe(e)}); retrying in ${delay} ms`);
        p.notifier.status(`provisioning: server unreachable (${describe(e)}), ${retry}`);
      }
      await p.clock.sleep(delay, signal);
    }
  }
}

/** Runs the flow up to READY=1 and returns, with the watcher running when `o.watch`. */
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
      if (!(e instanceof IdentityStoredError)) throw e;
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
  let watch: AddressWatch | undefined;
  if (o.watch) {
    watch = await p.net.watch(
      { ifname: o.ifname, address: state.identity, prefixLen: o.prefixLength, nodad: o.nodad },
      (ev) => {
        if (ev.kind === 'restored') p.log.warn(`address ${text} was gone (${ev.reason}); put it back`);
        else p.log.error(`address watcher: ${describe(ev.error)}`);
      },
    );
  }
  p.notifier.ready(`identity ${text} on ${o.ifname}`);
  return {
    state,
    isFirstBoot,
    isWatching: watch !== undefined,
    stop: async () => {
      p.notifier.stopping();
      await watch?.close();
    },
  };
}
