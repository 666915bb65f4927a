// xtt-agent entry point: the only place that builds real adapters (STYLE.md "Boundaries"):
// FileStateStore, RtnetlinkConfigurator over koffi netlink sockets, SdNotifier, the system clock
// and CSPRNG, a journal-aware stderr logger, and the provisioner (keys + XTT over TCP).
// Maps every failure to the exit-code table in agent/exit-codes.ts.
//
// Wiring status: development mode (reference credential files) is complete up to the handshake
// runner; the TCP runner (agent/xtt-tcp-client.ts, written by the protocol/xtt work) and the TPM
// ECDAA signer (tpm/) are plugged in below once they exist: see `handshakeRunner` and `tpmKeys`.
import { systemRng } from '../protocol/util/rng.ts';
import { decodeRootCertificate } from '../protocol/xtt/certificates.ts';
import { readDeviceObjects } from '../tpm/nv-layout.ts';
import { openTpm } from '../tpm/open.ts';
import { runCli, type CommonArgs } from './cli.ts';
import { systemClock } from './clock.ts';
import { loadConfig, type AgentConfig } from './config.ts';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.ts';
import {
  NotAvailableError,
  devModeKeys,
  makeProvisionIdentity,
  type AttemptKeys,
  type HandshakeRunner,
} from './identity-provisioner.ts';
import { formatIpv6 } from './ipv6-text.ts';
import { stderrLogger, type Logger } from './logger.ts';
import { RtnetlinkConfigurator } from './netlink/rtnetlink-configurator.ts';
import { KoffiNetlinkSocket } from './netlink/socket.ts';
import { runAgent } from './provision.ts';
import { SdNotifier } from './sd-notify.ts';
import { FileStateStore } from './state-store.ts';

/** The XTT-over-TCP loop. Replaced by agent/xtt-tcp-client.ts when that lands. */
const handshakeRunner: HandshakeRunner = async () => {
  throw new NotAvailableError('the XTT TCP client (agent/xtt-tcp-client.ts)');
};

/**
 * TPM mode keys: reads the reference NV layout first, so an unprovisioned TPM is reported as such
 * (exit 5) and a missing TPM as exit 4, then needs the TPM ECDAA signer from tpm/.
 */
function tpmKeys(config: AgentConfig): () => Promise<AttemptKeys> {
  return async () => {
    const tpm = await openTpm(config.tpm);
    try {
      const objects = await readDeviceObjects(tpm);
      decodeRootCertificate(objects.rootXttCert);
      throw new NotAvailableError('the TPM ECDAA signer (tpm/)');
    } finally {
      await tpm.close();
    }
  };
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

async function run(a: CommonArgs): Promise<ExitCode> {
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
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const config = loadConfig({ ...(a.config ? { file: a.config } : {}), flags: a.settings });
    const server = `${config.server.host}:${config.server.port}`;
    const keys = config.dev ? devModeKeys(config.dev, systemRng) : tpmKeys(config);
    if (config.dev) log.warn('development mode: software DAA credential files instead of the TPM');
    const provisionIdentity = makeProvisionIdentity(keys, handshakeRunner, {
      suite: config.suite,
      host: config.server.host,
      port: config.server.port,
      connectTimeoutMs: config.timeouts.connectMs,
      handshakeTimeoutMs: config.timeouts.handshakeMs,
      rng: systemRng,
      now: systemClock.now,
    });
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
      },
      ac.signal,
    );
    log.info(`ready: ${formatIpv6(agent.state.identity)}/${config.prefixLength} on ${config.interface}`);
    await stopped;
    await agent.stop();
    return EXIT.OK;
  } catch (e) {
    if (ac.signal.aborted) {
      notifier.stopping();
      return EXIT.OK;
    }
    const code = exitCodeFor(e);
    log.error(describe(e));
    notifier.status(`failed: ${describe(e)}`);
    return code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await net.close();
  }
}

async function status(a: CommonArgs & { json: boolean }): Promise<ExitCode> {
  try {
    const config = loadConfig({ ...(a.config ? { file: a.config } : {}), flags: a.settings });
    const state = await new FileStateStore(config.stateDir).load();
    const server = `${config.server.host}:${config.server.port}`;
    if (!state) {
      if (a.json)
        process.stdout.write(
          JSON.stringify({ provisioned: false, interface: config.interface, server }) + '\n',
        );
      else process.stdout.write(`not provisioned (state directory ${config.stateDir})\n`);
      return EXIT.NOT_PROVISIONED;
    }
    const out = {
      provisioned: true,
      identity: formatIpv6(state.identity),
      prefixLength: config.prefixLength,
      interface: config.interface,
      server: state.server,
      provisionedAt: state.provisionedAt.toISOString(),
      hasCertificate: state.certificate !== undefined,
    };
    if (a.json) process.stdout.write(JSON.stringify(out) + '\n');
    else {
      process.stdout.write(
        `identity:       ${out.identity}/${out.prefixLength}\n` +
          `interface:      ${out.interface}\n` +
          `server:         ${out.server}\n` +
          `provisioned-at: ${out.provisionedAt}\n`,
      );
    }
    return EXIT.OK;
  } catch (e) {
    process.stderr.write(`xtt-agent: ${describe(e)}\n`);
    return exitCodeFor(e);
  }
}

export async function main(args: string[]): Promise<ExitCode> {
  return runCli(
    args,
    { run, status },
    { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`xtt-agent: internal error: ${describe(e)}\n`);
    process.exitCode = EXIT.INTERNAL;
  },
);
