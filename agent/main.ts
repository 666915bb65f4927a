// xtt-agent entry point: the only place that builds real adapters (STYLE.md "Boundaries"):
// FileStateStore, RtnetlinkConfigurator over koffi netlink sockets, SdNotifier, the system clock
// and CSPRNG, a journal-aware stderr logger, and the provisioner (keys + XTT over TCP).
// The command line (cli.ts, common/cli.ts) maps every failure to the exit-code table in
// agent/exit-codes.ts.
//
// Keys: TPM mode (tpm/: NV layout, ECDAA signer, long-term key) or development mode (the
// reference's credential files); the handshake runs over TCP (agent/xtt-tcp-client.ts). Method pki:
// a certificate from the customer's CA over TLS (agent/pki-provisioner.ts).
import { systemRng } from '../protocol/util/rng.ts';
import { ZtpError } from '../protocol/errors.ts';
import { decodeRootCertificate, type RootCertificate } from '../protocol/xtt/certificates.ts';
import { readEcdaaKey } from '../tpm/ecdaa-key.ts';
import { TpmDaaSigner } from '../tpm/ecdaa-signer.ts';
import { TpmLongtermKey, ensureSrk } from '../tpm/longterm-key.ts';
import { readDeviceObjects } from '../tpm/nv-layout.ts';
import { openTpm } from '../tpm/open.ts';
import type { CommandResult } from '../common/cli.ts';
import { runCli, type CommonArgs } from './cli.ts';
import { systemClock } from './clock.ts';
import { loadConfig, loadLocalConfig, type AgentConfig } from './config.ts';
import { EXIT } from './exit-codes.ts';
import {
  devModeKeys,
  makeProvisionIdentity,
  type AttemptKeys,
  type HandshakeRunner,
} from './identity-provisioner.ts';
import { formatIpv6 } from '../protocol/util/ipv6.ts';
import { stderrLogger, type Logger } from './logger.ts';
import { LongtermKeyFiles } from './longterm-key-files.ts';
import { RtnetlinkConfigurator } from './netlink/rtnetlink-configurator.ts';
import type { AddressConfigurator } from './netlink/address-configurator.ts';
import { execCommandRunner } from './network-manager/command-runner.ts';
import { HOST_PATHS, handOff, takeBack, type HandoffHost } from './network-manager/handoff.ts';
import { NetworkManagerError, NotProvisionedError } from './errors.ts';
import { KoffiNetlinkSocket } from './netlink/socket.ts';
import { makePkiProvisionIdentity } from './pki-provisioner.ts';
import { runAgent, type ProvisionedIdentity } from './run-agent.ts';
import { SdNotifier } from './sd-notify.ts';
import { FileStateStore } from './state-store.ts';
import { runXttClientOverTcp } from './xtt-tcp-client.ts';

/** The XTT-over-TCP loop around the sans-I/O client. */
const handshakeRunner: HandshakeRunner = runXttClientOverTcp;

/**
 * TPM mode keys, as the reference client does per handshake: GPK, credential, basename and root
 * certificate from the reference NV layout, the ECDAA member key at its persistent handle, and the
 * long-term ECDSA key under the SRK (created on the first attempt, then reused from its stored blob). A missing TPM is exit 4 (TPM_TRANSPORT); missing or
 * undecodable factory objects are exit 5 (TPM_NOT_PROVISIONED).
 */
function tpmKeys(config: AgentConfig, keyFiles: LongtermKeyFiles): () => Promise<AttemptKeys> {
  return async () => {
    const tpm = await openTpm(config.tpm);
    try {
      let daa: TpmDaaSigner;
      let roots: RootCertificate[];
      try {
        const objects = await readDeviceObjects(tpm);
        roots = [decodeRootCertificate(objects.rootXttCert)];
        await readEcdaaKey(tpm);
        daa = new TpmDaaSigner(tpm, {
          gpk: objects.gpk,
          credential: objects.credential,
          basename: objects.basename,
          rng: systemRng,
        });
      } catch (e) {
        if (e instanceof ZtpError && e.code === 'TPM_TRANSPORT') throw e;
        throw new ZtpError('TPM_NOT_PROVISIONED', `TPM lacks the factory provisioning: ${describe(e)}`, {
          cause: e,
        });
      }
      // One long-term key for the device's life: stored before its first use (longterm-key-files.ts).
      const blob = await keyFiles.loadTpm();
      let longterm: TpmLongtermKey;
      if (blob) {
        await ensureSrk(tpm, blob.parent);
        longterm = TpmLongtermKey.fromBlob(tpm, blob);
      } else {
        longterm = await TpmLongtermKey.create(tpm);
        await keyFiles.saveTpm(longterm.blob);
      }
      return { daa, longterm, roots, release: () => tpm.close() };
    } catch (e) {
      await tpm.close();
      throw e;
    }
  };
}

/** This process's peak resident set (getrusage ru_maxrss), for the journal and the e2e figures. */
function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Method xtt: DAA batch membership (TPM, or the reference's files in development mode). */
function xttProvisionIdentity(
  config: AgentConfig,
  log: Logger,
): (signal: AbortSignal) => Promise<ProvisionedIdentity> {
  const keyFiles = new LongtermKeyFiles(config.stateDir);
  const keys = config.dev ? devModeKeys(config.dev, systemRng, keyFiles) : tpmKeys(config, keyFiles);
  if (config.dev) log.warn('development mode: software DAA credential files instead of the TPM');
  return makeProvisionIdentity(keys, handshakeRunner, {
    suite: config.suite,
    host: config.server.host,
    port: config.server.port,
    connectTimeoutMs: config.timeouts.connectMs,
    handshakeTimeoutMs: config.timeouts.handshakeMs,
    rng: systemRng,
    now: systemClock.now,
  });
}

/** Why a PKI enrollment may be refused (the server's audit has the exact reason). */
const PKI_REFUSAL_HINT = {
  log: 'its CA may not be registered with a network yet, or the certificate is not accepted (validity, usage, CRL) or revoked',
  status: 'CA not registered yet, certificate not accepted, or revoked',
};

async function run(a: CommonArgs): Promise<CommandResult> {
  const log: Logger = stderrLogger({ journal: process.env.JOURNAL_STREAM !== undefined, verbose: a.verbose });
  const notifier = new SdNotifier(process.env, (what, why) => log.warn(`sd_notify ${what} failed: ${why}`));
  const net = new RtnetlinkConfigurator((groups) => new KoffiNetlinkSocket(groups));
  const ac = new AbortController();
  let stopRequested: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals) => {
    log.info(`${sig}: stopping`);
    ac.abort();
    stopRequested();
  };
  // Kept until the process is gone: a stop that arrives while the agent is already ending after
  // READY=1 (closing its sockets) is then still a clean exit 0, not death by the default action.
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const config = loadConfig({ ...(a.config ? { file: a.config } : {}), flags: a.settings });
    const server = `${config.server.host}:${config.server.port}`;
    const provisionIdentity = config.pki
      ? makePkiProvisionIdentity({
          pki: config.pki,
          host: config.server.host,
          port: config.server.port,
          connectTimeoutMs: config.timeouts.connectMs,
          handshakeTimeoutMs: config.timeouts.handshakeMs,
          openTpm: () => openTpm(config.tpm),
        })
      : xttProvisionIdentity(config, log);
    const agent = await runAgent(
      {
        store: new FileStateStore(config.stateDir),
        net,
        notifier,
        clock: systemClock,
        rng: systemRng,
        log,
        provisionIdentity,
      },
      {
        ifname: config.interface,
        prefixLength: config.prefixLength,
        nodad: config.nodad,
        dadTimeoutMs: config.timeouts.dadMs,
        server,
        backoff: config.backoff,
        refusedBackoffMaxMs: config.backoff.refusedMaxMs,
        watch: config.watch,
        ...(config.pki ? { refusalHint: PKI_REFUSAL_HINT } : {}),
      },
      ac.signal,
    );
    const identity = `${formatIpv6(agent.state.identity)}/${config.prefixLength}`;
    log.info(`ready: ${identity} on ${config.interface}`);
    const result = {
      human: '',
      json: { identity, interface: config.interface, watching: agent.isWatching },
    };
    // Without the watcher the process ends here: the network manager keeps the address
    // (`xtt-agent handoff`), and the unit stays active through RemainAfterExit=.
    if (!agent.isWatching) {
      // systemd's watchdog keeps running while ExecStartPost= (`xtt-agent handoff`) runs, and
      // nobody may ping it then (NotifyAccess=main, and the main process is gone): give the
      // handoff its own bound, which covers its waits for the manager (HANDOFF_WAIT_MS and the
      // NetworkManager activation wait), instead of the 60 s meant for this event loop.
      notifier.extendWatchdog(HANDOFF_WATCHDOG_MS);
      log.info(`run done (peak RSS ${peakRssMb()} MB); no watcher: nothing of the agent stays resident`);
      return result;
    }
    await stopped;
    await agent.stop();
    return result;
  } catch (e) {
    if (ac.signal.aborted) {
      notifier.stopping();
      return { human: '', json: { stopped: true } };
    }
    notifier.status(`failed: ${describe(e)}`);
    throw e; // the command line prints it and exits with its code
  } finally {
    await net.close();
  }
}

async function status(a: CommonArgs): Promise<CommandResult> {
  // Local state only: status works without a server or interface configured.
  const config = loadLocalConfig({ ...(a.config ? { file: a.config } : {}), flags: a.settings });
  const state = await new FileStateStore(config.stateDir).load();
  if (!state) {
    return {
      human: `not provisioned (state directory ${config.stateDir})`,
      json: { provisioned: false, interface: config.interface ?? null, server: config.server ?? null },
      exitCode: EXIT.NOT_PROVISIONED,
    };
  }
  const out = {
    provisioned: true,
    identity: formatIpv6(state.identity),
    prefixLength: config.prefixLength,
    interface: config.interface ?? null,
    server: state.server,
    provisionedAt: state.provisionedAt.toISOString(),
    hasCertificate: state.certificate !== undefined,
  };
  return {
    human:
      `identity:       ${out.identity}/${out.prefixLength}\n` +
      `interface:      ${out.interface ?? '(not configured)'}\n` +
      `server:         ${out.server}\n` +
      `provisioned-at: ${out.provisionedAt}`,
    json: out,
  };
}

/** The watchdog bound the handoff step gets (see run): its own waits, with room for a slow board. */
const HANDOFF_WATCHDOG_MS = 10 * 60_000;

/** How long the manager may take to (re)configure the address after the handoff. */
const HANDOFF_WAIT_MS = 120_000;

async function waitForAddress(
  net: AddressConfigurator,
  ifname: string,
  address: Uint8Array,
  manager: string,
) {
  const deadline = Date.now() + HANDOFF_WAIT_MS;
  while (!(await net.getAddress(ifname, address))) {
    if (Date.now() > deadline) {
      throw new NetworkManagerError(
        manager,
        `${formatIpv6(address)} is not on ${ifname} ${HANDOFF_WAIT_MS / 1000} s after the handoff`,
      );
    }
    await systemClock.sleep(250);
  }
}

async function handoff(a: CommonArgs & { remove: boolean }): Promise<CommandResult> {
  const log: Logger = stderrLogger({ journal: process.env.JOURNAL_STREAM !== undefined, verbose: a.verbose });
  const net = new RtnetlinkConfigurator((groups) => new KoffiNetlinkSocket(groups));
  try {
    const config = loadConfig({ ...(a.config ? { file: a.config } : {}), flags: a.settings });
    const state = await new FileStateStore(config.stateDir).load();
    const host: HandoffHost = { runner: execCommandRunner, ...HOST_PATHS, log };
    const cidr = state ? `${formatIpv6(state.identity)}/${config.prefixLength}` : undefined;
    if (a.remove) {
      const removed = await takeBack(host, config.interface, cidr);
      return {
        human: removed.length > 0 ? removed.map((r) => `removed ${r}`).join('\n') : 'nothing to remove',
        json: { removed },
      };
    }
    if (!state) throw new NotProvisionedError(config.stateDir, 'nothing to hand off');
    const r = await handOff(host, {
      choice: config.network.manager,
      persist: config.network.persist,
      ifname: config.interface,
      address: state.identity,
      prefixLen: config.prefixLength,
      nodad: config.nodad,
    });
    if (r.manager !== 'none') await waitForAddress(net, config.interface, state.identity, r.manager);
    else log.info(`no network manager takes ${cidr}: ${r.detail}`);
    log.info(`handoff done (peak RSS ${peakRssMb()} MB)`);
    return {
      human: `${cidr} on ${config.interface}: ${r.manager} (${r.detail})`,
      json: { ...r, address: cidr, interface: config.interface },
    };
  } finally {
    await net.close();
  }
}

// Under systemd stderr is the journal: the command line's error line gets priority err (sd-daemon(3)).
const isJournal = process.env.JOURNAL_STREAM !== undefined;
process.exitCode = await runCli(
  process.argv.slice(2),
  { run, status, handoff },
  {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(isJournal ? t.replace(/^(?=.)/gm, '<3>') : t),
  },
);
