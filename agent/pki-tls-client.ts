// The device side of PKI enrollment (server-stub/README.md, "PKI enrollment"): TLS 1.3 to the
// server, whose certificate must chain to the configured CA (pki.serverCa) and name the server
// (pki.serverName, default the host); then the version-1 exchange of protocol/pki/wire.ts:
// Challenge in, EnrollRequest out, Enrolled or Refused in. Two proofs of possession:
//   a key this process holds (--key): it authenticates the TLS handshake as the client certificate;
//   a key in the TPM (OpenSSL cannot use it for the handshake): it signs bindingMessage(TLS exporter,
//   nonce, leaf) with TPM2_Sign, which only this TLS session can use.
// Errors are ProtocolError (stage 'pki'): SERVER_REFUSED (exit 6), BAD_SERVER_CERTIFICATE (exit 7),
// a TPM signing failure as its TpmError, and transport codes CONNECT_FAILED, CONNECT_TIMEOUT, CONNECTION_CLOSED, TIMEOUT, ABORTED, which
// the agent retries with backoff.
import { checkServerIdentity, connect, type TLSSocket } from 'node:tls';
import { ProtocolError, ZtpError } from '../protocol/errors.ts';
import {
  bindingMessage,
  encodePkiMessage,
  PKI_EXPORTER_LABEL,
  PKI_EXPORTER_LENGTH,
  PKI_MSG,
  PKI_PROOF,
  PkiFramer,
  type PkiMessage,
} from '../protocol/pki/wire.ts';
import type { LongtermSigner } from '../protocol/xtt/signers.ts';

export interface PkiCredentials {
  /** DER certificates: the leaf, then any intermediates to send. */
  chain: Uint8Array[];
  /** Proof 1: the PEM key and certificate chain for the TLS handshake. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Proof 2: the leaf's key in the TPM. */
  signer?: LongtermSigner;
}

export interface PkiTarget {
  host: string;
  port: number;
  /** Name the server certificate must carry (DNS or IP SAN); default `host`. */
  serverName?: string;
  /** PEM CA certificate(s) the server's TLS certificate must chain to. */
  serverCa: string | Buffer;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  signal: AbortSignal;
}

export interface PkiEnrollment {
  identity: Uint8Array;
  prefixLength: number;
}

const STAGE = 'pki';

export function enrollOverTls(creds: PkiCredentials, target: PkiTarget): Promise<PkiEnrollment> {
  if (!creds.tls === !creds.signer) throw new RangeError('exactly one of tls and signer');
  return new Promise<PkiEnrollment>((resolve, reject) => {
    if (target.signal.aborted)
      return reject(new ProtocolError('ABORTED', STAGE, 'aborted before connecting'));
    let settled = false;
    let isSecure = false;
    const name = target.serverName ?? target.host;
    const socket: TLSSocket = connect({
      host: target.host,
      port: target.port,
      ca: target.serverCa,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false, // judged below, so an untrusted server is its own error (exit 7)
      ...(/^[\d.]+$|:/.test(name) ? {} : { servername: name }),
      ...(creds.tls ? { key: creds.tls.key, cert: creds.tls.cert } : {}),
    });
    const finish = (err: ZtpError | undefined, result?: PkiEnrollment): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(deadline);
      target.signal.removeEventListener('abort', onAbort);
      if (result) socket.end();
      else socket.destroy();
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = (): void => finish(new ProtocolError('ABORTED', STAGE, 'aborted'));
    target.signal.addEventListener('abort', onAbort, { once: true });
    const connectTimer = setTimeout(
      () =>
        finish(
          new ProtocolError('CONNECT_TIMEOUT', STAGE, `no TLS session within ${target.connectTimeoutMs} ms`),
        ),
      target.connectTimeoutMs,
    );
    const deadline = setTimeout(
      () =>
        finish(
          new ProtocolError(
            'TIMEOUT',
            STAGE,
            `enrollment not finished within ${target.handshakeTimeoutMs} ms`,
          ),
        ),
      target.handshakeTimeoutMs,
    );

    socket.once('secureConnect', () => {
      clearTimeout(connectTimer);
      const peer = socket.getPeerCertificate();
      const identityError = socket.authorized ? checkServerIdentity(name, peer) : undefined;
      if (!socket.authorized || identityError) {
        const why = identityError?.message ?? String(socket.authorizationError);
        return finish(
          new ProtocolError('BAD_SERVER_CERTIFICATE', STAGE, `server certificate not trusted: ${why}`),
        );
      }
      isSecure = true;
    });

    const framer = new PkiFramer();
    let step = 0;
    const onMessage = async (m: PkiMessage): Promise<void> => {
      if (step === 0 && m.type === PKI_MSG.Challenge) {
        step = 1;
        if (creds.tls) {
          socket.write(
            encodePkiMessage({
              type: PKI_MSG.EnrollRequest,
              proof: PKI_PROOF.TlsClientCertificate,
              certificates: creds.chain,
            }),
          );
          return;
        }
        const exporter = new Uint8Array(
          socket.exportKeyingMaterial(PKI_EXPORTER_LENGTH, PKI_EXPORTER_LABEL, Buffer.alloc(0)),
        );
        const signature = await creds.signer!.sign(bindingMessage(exporter, m.nonce, creds.chain[0]!));
        if (!settled) {
          socket.write(
            encodePkiMessage({
              type: PKI_MSG.EnrollRequest,
              proof: PKI_PROOF.SignedChallenge,
              certificates: creds.chain,
              signature,
            }),
          );
        }
        return;
      }
      if (step === 1 && m.type === PKI_MSG.Enrolled) {
        return finish(undefined, { identity: m.identity, prefixLength: m.prefixLength });
      }
      if (step === 1 && m.type === PKI_MSG.Refused) {
        return finish(new ProtocolError('SERVER_REFUSED', STAGE, 'the server refused this certificate'));
      }
      finish(new ProtocolError('UNEXPECTED_MESSAGE', STAGE, `unexpected message type ${m.type}`));
    };
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      if (!isSecure || settled) return;
      let got: ReturnType<PkiFramer['push']>;
      try {
        got = framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length).slice());
      } catch (cause) {
        return finish(new ProtocolError('MALFORMED', STAGE, (cause as Error).message, { cause }));
      }
      if (got.kind === 'need') return;
      const m = got.message;
      chain = chain
        .then(() => onMessage(m))
        .catch((cause: unknown) =>
          // a TPM failure keeps its own code (exit 4/5/13); anything else is a bug of ours
          finish(
            cause instanceof ZtpError
              ? cause
              : new ProtocolError('INTERNAL', STAGE, 'answering the challenge failed', { cause }),
          ),
        );
    });
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      const code = isSecure ? 'CONNECTION_CLOSED' : 'CONNECT_FAILED';
      finish(
        new ProtocolError(
          code,
          STAGE,
          `${cause.code ?? cause.message} talking to ${target.host}:${target.port}`,
          { cause },
        ),
      );
    });
    socket.on(
      'close',
      () => void chain.then(() => finish(new ProtocolError('CONNECTION_CLOSED', STAGE, 'connection closed'))),
    );
  });
}
