// Builds the `provisionIdentity` port of run-agent.ts from its parts: where the keys come from
// (development mode: the reference's credential files; TPM mode: tpm/), and the handshake runner
// (the TCP loop around protocol/xtt's sans-I/O XttClient, agent/xtt-tcp-client.ts). One call = one
// attempt: fresh keys and a fresh XttClient each time; keys are released in `finally`.
// After the handshake, like the reference client, we make the self-signed X.509 identity
// certificate over the identity with the long-term key (protocol/xtt/x509.ts). The long-term key
// persists across attempts and boots (longterm-key-files.ts explains why).
import { readFile } from 'node:fs/promises';
import type { Rng } from '../protocol/util/rng.ts';
import { decodeRootCertificate, type RootCertificate } from '../protocol/xtt/certificates.ts';
import { XttClient, type ClientResult } from '../protocol/xtt/client.ts';
import { isSuiteSpec } from '../protocol/xtt/constants.ts';
import type { DaaSigner, LongtermSigner } from '../protocol/xtt/signers.ts';
import { SoftwareP256Signer } from '../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../protocol/xtt/software-daa-signer.ts';
import { buildIdentityCertificate } from '../protocol/xtt/x509.ts';
import type { DevCredentials } from './config.ts';
import { ConfigError, StateError } from './errors.ts';
import type { LongtermKeyFiles } from './longterm-key-files.ts';
import type { ProvisionedIdentity } from './run-agent.ts';

/** Keys for one attempt. `release` flushes TPM objects / forgets software secrets. */
export interface AttemptKeys {
  daa: DaaSigner;
  longterm: LongtermSigner;
  roots: RootCertificate[];
  release(): Promise<void>;
}

export interface HandshakeTarget {
  host: string;
  port: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  signal: AbortSignal;
}

/** Drives an XttClient over a connection until it finishes; throws its ProtocolError on failure. */
export type HandshakeRunner = (client: XttClient, target: HandshakeTarget) => Promise<ClientResult>;

export interface ProvisionerOptions {
  suite: number;
  host: string;
  port: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  rng: Rng;
  now: () => number;
}

export function makeProvisionIdentity(
  keys: () => Promise<AttemptKeys>,
  runHandshake: HandshakeRunner,
  o: ProvisionerOptions,
): (signal: AbortSignal) => Promise<ProvisionedIdentity> {
  const suite = o.suite;
  if (!isSuiteSpec(suite)) throw new ConfigError('suite', `${suite} is not an XTT suite`);
  return async (signal) => {
    const k = await keys();
    try {
      const client = new XttClient({ suite, roots: k.roots, longterm: k.longterm, daa: k.daa, rng: o.rng });
      const result = await runHandshake(client, {
        host: o.host,
        port: o.port,
        connectTimeoutMs: o.connectTimeoutMs,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        signal,
      });
      const certificate = await buildIdentityCertificate({
        identity: result.identity,
        signer: k.longterm,
        rng: o.rng,
        now: o.now(),
      });
      return { identity: result.identity, longtermPublicKey: result.longtermPublicKey, certificate };
    } finally {
      await k.release();
    }
  };
}

async function readDevFile(field: keyof DevCredentials, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ConfigError(`dev.${field}`, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      cause: e,
    });
  }
}

/**
 * Development mode: the reference's software DAA member (daa_secretkey.bin, daa_cred.bin,
 * daa_gpk.bin, basename.bin) and root_cert.bin. The long-term key is a software P-256 key, made
 * once and kept in the state directory (longterm-key-files.ts) so every attempt presents the same
 * key. Bad files are ConfigErrors naming the file.
 */
export function devModeKeys(
  dev: DevCredentials,
  rng: Rng,
  keyFiles: LongtermKeyFiles,
): () => Promise<AttemptKeys> {
  return async () => {
    const [gpk, credential, secretKey, basename, rootCert] = await Promise.all([
      readDevFile('gpk', dev.gpk),
      readDevFile('credential', dev.credential),
      readDevFile('secretKey', dev.secretKey),
      readDevFile('basename', dev.basename),
      readDevFile('rootCert', dev.rootCert),
    ]);
    let daa: SoftwareDaaSigner;
    let roots: RootCertificate[];
    try {
      daa = new SoftwareDaaSigner({ gpk, credential, secretKey, basename }, rng);
    } catch (e) {
      throw new ConfigError('dev', `the DAA credential files do not decode: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      secretKey.fill(0);
    }
    try {
      roots = [decodeRootCertificate(rootCert)];
    } catch (e) {
      throw new ConfigError('dev.rootCert', `${dev.rootCert}: ${(e as Error).message}`, { cause: e });
    }
    const longterm = await softwareLongtermKey(keyFiles, rng);
    return {
      daa,
      roots,
      longterm,
      release: async () => {
        daa.destroy();
        longterm.destroy();
      },
    };
  };
}

/** The stored software long-term key, or a new one stored before its first use. */
export async function softwareLongtermKey(keyFiles: LongtermKeyFiles, rng: Rng): Promise<SoftwareP256Signer> {
  const stored = await keyFiles.loadSoftware();
  if (stored) {
    try {
      return SoftwareP256Signer.fromKeyFile(stored, rng);
    } catch (e) {
      throw new StateError(keyFiles.dir, `stored long-term key does not decode: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      stored.fill(0);
    }
  }
  const fresh = SoftwareP256Signer.generate(rng);
  const file = fresh.toKeyFile();
  try {
    await keyFiles.saveSoftware(file);
  } finally {
    file.fill(0);
  }
  return fresh;
}
