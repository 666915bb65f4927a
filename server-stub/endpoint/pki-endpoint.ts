// The PKI enrollment endpoint: TLS 1.3 (node:tls) with an optional client certificate, then the
// version-1 exchange of protocol/pki/wire.ts (server-stub/README.md, "PKI enrollment"). A thin
// adapter: it sends the Challenge, frames the EnrollRequest, checks the proof of possession
//   proof 1: the TLS peer certificate (its CertificateVerify was checked by OpenSSL during the
//            handshake) is byte-equal to the request's leaf;
//   proof 2: the leaf's P-256 key signed bindingMessage(TLS exporter, nonce, leaf), so the signature
//            is bound to this TLS session and this challenge: replayed or relayed, it fails;
// and hands the certificates to PkiPolicy. OpenSSL does not judge the client certificate
// (rejectUnauthorized: false): the trust anchors are the registry's CAs, per network, checked by
// protocol/pki/chain.ts. Limits as the XTT endpoint: global and per-source connections, idle
// timeout, whole-exchange deadline, bounded bytes. Toward the network every failure is a Refused
// message or a close; the reason goes to the log, and to the audit once the proof of possession
// holds (before that nothing from the network is written to the registry).
import { randomBytes, verify as verifySignature } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ZtpError } from '../../protocol/errors.ts';
import { parseCertificate, type Certificate } from '../../protocol/pki/certificate.ts';
import {
  bindingMessage,
  encodePkiMessage,
  PKI_EXPORTER_LABEL,
  PKI_EXPORTER_LENGTH,
  PKI_HEADER_LENGTH,
  PKI_MAX_BODY,
  PKI_MSG,
  PKI_PROOF,
  PkiFramer,
  type PkiMessage,
} from '../../protocol/pki/wire.ts';
import { equalBytes } from '../../protocol/util/bytes.ts';
import type { Logger } from '../log.ts';
import type { PkiPolicy } from '../policy/pki-policy.ts';
import { ListenError } from '../errors.ts';
import { LISTEN_BACKLOG, normaliseAddress, sourceKey } from './xtt-endpoint.ts';

export interface PkiEndpointOptions {
  host: string;
  port: number;
  /** PEM server certificate chain and key (the devices' pki.serverCa must trust it). */
  cert: string | Buffer;
  key: string | Buffer;
  maxConnections?: number;
  maxPerSource?: number;
  idleTimeoutMs?: number;
  deadlineMs?: number;
}

export interface PkiEndpointDeps {
  policy: Pick<PkiPolicy, 'enroll'>;
  logger: Logger;
  /** `networkId`: the network of the CA the chain led to, once known (metrics per organization). */
  onEnrollment?: (
    outcome: 'provisioned' | 'refused' | 'failed' | 'timeout',
    seconds: number,
    networkId: number | undefined,
  ) => void;
}

const PROOF_NAMES = {
  [PKI_PROOF.TlsClientCertificate]: 'tls-client-certificate',
  [PKI_PROOF.SignedChallenge]: 'signed-challenge',
} as const;

class ProofError extends ZtpError {
  constructor(
    readonly reason: string,
    readonly leaf: Certificate | null,
  ) {
    super('PKI_PROOF', reason);
  }
}

/** Parses the request's certificates and checks the proof of possession; ProofError otherwise. */
export function checkProof(
  req: Extract<PkiMessage, { type: typeof PKI_MSG.EnrollRequest }>,
  session: { nonce: Uint8Array; exporter: Uint8Array; peerCertificate: Uint8Array | undefined },
): { leaf: Certificate; intermediates: Certificate[] } {
  let certs: Certificate[];
  try {
    certs = req.certificates.map((c) => parseCertificate(c));
  } catch {
    throw new ProofError('malformed-certificate', null);
  }
  const leaf = certs[0]!;
  if (req.proof === PKI_PROOF.TlsClientCertificate) {
    if (!session.peerCertificate) throw new ProofError('no-tls-client-certificate', leaf);
    if (!equalBytes(session.peerCertificate, leaf.der))
      throw new ProofError('tls-certificate-mismatch', leaf);
  } else {
    const key = leaf.publicKey;
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ProofError('signed-challenge-needs-p256', leaf);
    }
    const message = bindingMessage(session.exporter, session.nonce, leaf.der);
    const ok = verifySignature('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, req.signature!);
    if (!ok) throw new ProofError('bad-challenge-signature', leaf);
  }
  return { leaf, intermediates: certs.slice(1) };
}

export class PkiEndpoint {
  private readonly server: Server;
  private readonly sockets = new Set<TLSSocket>();
  private readonly perSource = new Map<string, number>();
  private open = 0;
  private readonly maxConnections: number;
  private readonly maxPerSource: number;
  private readonly idleTimeoutMs: number;
  private readonly deadlineMs: number;

  constructor(
    private readonly opts: PkiEndpointOptions,
    private readonly deps: PkiEndpointDeps,
  ) {
    this.maxConnections = opts.maxConnections ?? 1024;
    this.maxPerSource = opts.maxPerSource ?? 16;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
    this.deadlineMs = opts.deadlineMs ?? 15_000;
    this.server = createServer(
      {
        cert: opts.cert,
        key: opts.key,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        requestCert: true,
        rejectUnauthorized: false,
        handshakeTimeout: this.deadlineMs,
      },
      (s) => this.onSecure(s),
    );
    this.server.on('tlsClientError', (err, s) => {
      this.deps.logger.warn('pki.tls-failed', {
        src: normaliseAddress(s.remoteAddress ?? '-'),
        reason: (err as NodeJS.ErrnoException).code ?? 'tls-error',
      });
      s.destroy();
    });
    this.server.on('connection', (s) => {
      const address = normaliseAddress(s.remoteAddress ?? '');
      const key = sourceKey(address);
      const n = this.perSource.get(key) ?? 0;
      if (!address || n >= this.maxPerSource || this.open >= this.maxConnections) {
        this.deps.logger.warn('conn.rejected', { src: address || '-', reason: 'limit' });
        s.destroy();
        return;
      }
      this.perSource.set(key, n + 1);
      this.open++;
      s.once('close', () => {
        this.open--;
        const m = (this.perSource.get(key) ?? 1) - 1;
        if (m <= 0) this.perSource.delete(key);
        else this.perSource.set(key, m);
      });
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new ListenError(this.opts.host, this.opts.port, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(
        { host: this.opts.host, port: this.opts.port, ipv6Only: false, backlog: LISTEN_BACKLOG },
        () => {
          this.server.off('error', onError);
          this.server.on('error', (err) =>
            this.deps.logger.error('pki.endpoint-error', { msg: err.message }),
          );
          resolve(this.server.address() as AddressInfo);
        },
      );
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onSecure(sock: TLSSocket): void {
    const address = normaliseAddress(sock.remoteAddress ?? '');
    const port = sock.remotePort ?? 0;
    const source = { address, port };
    const log = this.deps.logger;
    const started = performance.now();
    this.sockets.add(sock);
    let isDone = false;
    const report = (o: 'provisioned' | 'refused' | 'failed' | 'timeout', networkId: number | undefined) =>
      this.deps.onEnrollment?.(o, (performance.now() - started) / 1000, networkId);
    const finish = (
      outcome: 'provisioned' | 'refused' | 'failed' | 'timeout',
      answer?: PkiMessage,
      networkId?: number,
    ) => {
      if (isDone) return;
      isDone = true;
      clearTimeout(deadline);
      report(outcome, networkId);
      if (answer) sock.end(encodePkiMessage(answer));
      else sock.destroy();
    };
    const fail = (reason: string) => {
      log.warn('pki.failed', { src: address, port, reason });
      finish('failed', { type: PKI_MSG.Refused });
    };
    const deadline = setTimeout(() => {
      log.warn('pki.timeout', { src: address, port, reason: 'deadline' });
      finish('timeout');
    }, this.deadlineMs);
    deadline.unref();
    sock.setTimeout(this.idleTimeoutMs, () => {
      log.warn('pki.timeout', { src: address, port, reason: 'idle' });
      finish('timeout');
    });
    sock.on('error', () => finish('failed'));
    sock.on('close', () => {
      isDone = true;
      clearTimeout(deadline);
      this.sockets.delete(sock);
    });

    const nonce = new Uint8Array(randomBytes(32));
    const framer = new PkiFramer();
    let received = 0;
    sock.write(encodePkiMessage({ type: PKI_MSG.Challenge, nonce }));
    sock.on('data', (chunk: Buffer) => {
      if (isDone) return;
      received += chunk.length;
      if (received > PKI_HEADER_LENGTH + PKI_MAX_BODY) return fail('too-many-bytes');
      let got: ReturnType<PkiFramer['push']>;
      try {
        got = framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (e) {
        return fail(`malformed:${(e as ZtpError).message}`);
      }
      if (got.kind === 'need') return;
      const m = got.message;
      if (m.type !== PKI_MSG.EnrollRequest) return fail('unexpected-message');
      sock.pause();
      sock.setTimeout(0);
      const method = PROOF_NAMES[m.proof];
      const peer = sock.getPeerX509Certificate();
      let checked: { leaf: Certificate; intermediates: Certificate[] };
      try {
        checked = checkProof(m, {
          nonce,
          exporter: new Uint8Array(
            sock.exportKeyingMaterial(PKI_EXPORTER_LENGTH, PKI_EXPORTER_LABEL, Buffer.alloc(0)),
          ),
          peerCertificate: peer ? new Uint8Array(peer.raw) : undefined,
        });
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        log.warn('pki.failed', { src: address, port, reason: e.reason, subject: e.leaf?.subject });
        finish('failed', { type: PKI_MSG.Refused });
        return;
      }
      this.deps.policy.enroll({ ...checked, method, source }).then(
        (d) =>
          d.ok
            ? finish(
                'provisioned',
                { type: PKI_MSG.Enrolled, identity: d.identity, prefixLength: d.prefixLength },
                d.networkId,
              )
            : finish('refused', { type: PKI_MSG.Refused }, d.networkId),
        (e: unknown) => {
          log.error('pki.internal-error', { src: address, port, msg: (e as Error).message });
          finish('failed', { type: PKI_MSG.Refused });
        },
      );
    });
  }
}
