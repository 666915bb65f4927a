// The `provisionIdentity` port of run-agent.ts for method pki: one enrollment attempt over TLS
// (pki-tls-client.ts) with the device certificate from pki.cert and its key, either a PEM file
// (pki.key: the TLS client certificate) or the P-256 key persisted in the TPM at pki.tpmHandle
// (xtt-factory pki-key; it signs the channel-bound challenge). Files are read on every attempt, so
// a certificate renewed while the agent backs off is picked up. A key that does not match the
// certificate, or files that do not decode, are ConfigErrors naming the setting (no retry).
// The stored long-term public key is the certificate's SubjectPublicKeyInfo (DER) and the stored
// certificate is the leaf: state.json keeps its format.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ZtpError } from '../protocol/errors.ts';
import { parseCertificate, pemToDerList } from '../protocol/pki/certificate.ts';
import { equalBytes } from '../protocol/util/bytes.ts';
import { TpmPkiKey } from '../tpm/pki-key.ts';
import type { Tpm } from '../tpm/tpm.ts';
import type { PkiSettings } from './config.ts';
import { ConfigError } from './errors.ts';
import { enrollOverTls, type PkiCredentials, type PkiTarget } from './pki-tls-client.ts';
import type { ProvisionedIdentity } from './run-agent.ts';

export interface PkiProvisionerOptions {
  pki: PkiSettings;
  host: string;
  port: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Opens the TPM (tpm/open.ts openTpm with the configured spec); only used without pki.key. */
  openTpm: () => Promise<Tpm>;
  /** The TLS exchange; tests may wrap it. */
  enroll?: (creds: PkiCredentials, target: PkiTarget) => Promise<{ identity: Uint8Array }>;
}

async function readSetting(setting: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new ConfigError(setting, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      cause: e,
    });
  }
}

function spkiOf(key: ReturnType<typeof createPublicKey>): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

export function makePkiProvisionIdentity(
  o: PkiProvisionerOptions,
): (signal: AbortSignal) => Promise<ProvisionedIdentity> {
  const enroll = o.enroll ?? enrollOverTls;
  return async (signal) => {
    const certPem = await readSetting('pki.cert', o.pki.cert);
    const serverCa = await readSetting('pki.serverCa', o.pki.serverCa);
    const chain = pemToDerList(certPem.toString('utf8'));
    if (chain.length === 0) throw new ConfigError('pki.cert', `${o.pki.cert} holds no PEM CERTIFICATE`);
    if (pemToDerList(serverCa.toString('utf8')).length === 0)
      throw new ConfigError('pki.serverCa', `${o.pki.serverCa} holds no PEM CERTIFICATE`);
    let leafSpki: Uint8Array;
    try {
      leafSpki = parseCertificate(chain[0]!).publicKeyDer;
    } catch (e) {
      throw new ConfigError('pki.cert', `${o.pki.cert}: ${(e as Error).message}`, { cause: e });
    }
    const target: PkiTarget = {
      host: o.host,
      port: o.port,
      serverCa,
      connectTimeoutMs: o.connectTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      signal,
      ...(o.pki.serverName ? { serverName: o.pki.serverName } : {}),
    };
    const done = (identity: Uint8Array): ProvisionedIdentity => ({
      identity,
      longtermPublicKey: leafSpki,
      certificate: chain[0]!,
    });
    if (o.pki.key) {
      const keyPem = await readSetting('pki.key', o.pki.key);
      try {
        let matches: boolean;
        try {
          matches = equalBytes(spkiOf(createPublicKey(createPrivateKey(keyPem))), leafSpki);
        } catch (e) {
          throw new ConfigError('pki.key', `${o.pki.key} is not a PEM private key`, { cause: e });
        }
        if (!matches) throw new ConfigError('pki.key', `${o.pki.key} is not the key of ${o.pki.cert}`);
        const got = await enroll({ chain, tls: { key: keyPem, cert: certPem } }, target);
        return done(got.identity);
      } finally {
        keyPem.fill(0);
      }
    }
    const tpm = await o.openTpm();
    try {
      let key: TpmPkiKey;
      try {
        key = await TpmPkiKey.open(tpm, o.pki.tpmHandle);
      } catch (e) {
        if (e instanceof ZtpError && e.code === 'TPM_TRANSPORT') throw e;
        throw new ZtpError('TPM_NOT_PROVISIONED', `no PKI key in the TPM: ${(e as Error).message}`, {
          cause: e,
        });
      }
      const point = leafSpki.subarray(leafSpki.length - 65);
      if (leafSpki.length !== 91 || !equalBytes(point, key.publicKey)) {
        throw new ConfigError(
          'pki.cert',
          `${o.pki.cert} does not certify the TPM key at 0x${o.pki.tpmHandle.toString(16)}`,
        );
      }
      const got = await enroll({ chain, signer: key }, target);
      return done(got.identity);
    } finally {
      await tpm.close();
    }
  };
}
