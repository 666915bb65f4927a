// Test devices with software keys for the endpoint tests: a fresh DAA group (issuer + members joined
// with protocol/ecdaa, as the factory does with TPMs) so each test has as many distinct pseudonyms as
// it needs, and a TCP driver that runs protocol/xtt's client against the endpoint.
import { connect } from 'node:net';
import {
  createIssuer,
  createJoinRequest,
  encodeCredential,
  encodeGroupPublicKey,
  encodeScalar,
  issueCredential,
  randomScalar,
} from '../../../protocol/ecdaa/index.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { decodeRootCertificate } from '../../../protocol/xtt/certificates.ts';
import { XttClient, type ClientStep } from '../../../protocol/xtt/client.ts';
import type { SuiteSpec } from '../../../protocol/xtt/constants.ts';
import { SoftwareP256Signer } from '../../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner, type SoftwareDaaFiles } from '../../../protocol/xtt/software-daa-signer.ts';

export interface TestGroup {
  gpk: Uint8Array;
  basename: Uint8Array;
  /** A new member of the group (a device's DAA key and credential). */
  member(): SoftwareDaaFiles;
}

export function makeGroup(basename = 'BASENAME'): TestGroup {
  const issuer = createIssuer(systemRng);
  const gpk = encodeGroupPublicKey(issuer.publicKey.gpk);
  const bsn = new TextEncoder().encode(basename);
  return {
    gpk,
    basename: bsn,
    member: () => {
      const sk = randomScalar(systemRng);
      const nonce = systemRng.bytes(32);
      const { credential } = issueCredential(
        issuer.secretKey,
        createJoinRequest(sk, nonce, systemRng),
        nonce,
        systemRng,
      );
      return { secretKey: encodeScalar(sk), credential: encodeCredential(credential), gpk, basename: bsn };
    },
  };
}

/** A device: DAA member + long-term key; `forget()` drops the long-term key like a factory reset. */
export class TestDevice {
  longterm = SoftwareP256Signer.generate(systemRng);
  readonly daa: SoftwareDaaSigner;
  constructor(files: SoftwareDaaFiles) {
    this.daa = new SoftwareDaaSigner(files, systemRng);
  }
  forget(): void {
    this.longterm = SoftwareP256Signer.generate(systemRng);
  }
}

export type HandshakeOutcome =
  { ok: true; identity: Uint8Array } | { ok: false; closedWith: 'error-message' | 'close'; code?: string };

/** One XTT handshake over TCP; resolves with the identity or how the server ended it. */
export function handshake(
  port: number,
  device: TestDevice,
  rootCertificate: Uint8Array,
  opts: { suite?: SuiteSpec; requestedId?: Uint8Array; host?: string; localAddress?: string } = {},
): Promise<HandshakeOutcome> {
  const client = new XttClient({
    suite: opts.suite ?? 1,
    roots: [decodeRootCertificate(rootCertificate)],
    longterm: device.longterm,
    daa: device.daa,
    rng: systemRng,
    ...(opts.requestedId ? { requestedId: opts.requestedId } : {}),
  });
  return new Promise((resolve) => {
    const sock = connect({
      host: opts.host ?? '127.0.0.1',
      port,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    let settled = false;
    let chain = Promise.resolve();
    const settle = (o: HandshakeOutcome) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(o);
    };
    const handle = (step: ClientStep) => {
      if (step.kind === 'send') sock.write(step.data);
      else if (step.kind === 'done') settle({ ok: true, identity: step.result.identity });
      else if (step.kind === 'failed')
        settle({ ok: false, closedWith: 'error-message', code: step.error.code });
    };
    sock.on('connect', () => handle(client.start()));
    sock.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk);
      chain = chain.then(async () => handle(await client.receive(bytes)));
    });
    sock.on('close', () => void chain.then(() => settle({ ok: false, closedWith: 'close' })));
    sock.on('error', () => undefined);
  });
}
