// In-process XTT parties for handshake tests: a fresh root and server certificate, the reference's
// sample DAA member (software keys), a registry-like ServerPolicy over protocol/ecdaa, and a pump
// that runs a client against a server handshake over an in-memory pair with an optional tamper hook.
import {
  encodeRootCertificate,
  issueServerCertificate,
  type RootCertificate,
} from '../../protocol/xtt/certificates.ts';
import { XttClient, type ClientConfig, type ClientStep } from '../../protocol/xtt/client.ts';
import type { SuiteSpec } from '../../protocol/xtt/constants.ts';
import { SealedCookieStrategy, type Clock, type CookieStrategy } from '../../protocol/xtt/cookie.ts';
import {
  XttServer,
  type ServerConfig,
  type ServerStep,
  type XttServerHandshake,
} from '../../protocol/xtt/server.ts';
import { SoftwareP256Signer, type DaaSigner, type ServerPolicy } from '../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner, type SoftwareDaaFiles } from '../../protocol/xtt/software-daa-signer.ts';
import { SoftwareDaaVerifier } from '../../protocol/xtt/software-daa-verifier.ts';
import { toHex } from '../../protocol/util/bytes.ts';
import { systemRng, type Rng } from '../../protocol/util/rng.ts';
import { loadVector } from './xtt-vectors.ts';

export interface Pki {
  root: RootCertificate;
  rootCertificate: Uint8Array;
  rootSigner: SoftwareP256Signer;
  serverSigner: SoftwareP256Signer;
  serverCertificate: Uint8Array;
}

export function makePki(rng: Rng = systemRng): Pki {
  const rootSigner = SoftwareP256Signer.generate(rng);
  const rootId = rng.bytes(16);
  const serverSigner = SoftwareP256Signer.generate(rng);
  const rootKey = rootSigner.toKeyFile().subarray(7, 39);
  const serverCertificate = issueServerCertificate({
    rootId,
    rootPrivateKey: rootKey,
    serverPublicKey: serverSigner.publicKey,
    rng,
  });
  const root = { rootId, publicKey: rootSigner.publicKey };
  return { root, rootCertificate: encodeRootCertificate(root), rootSigner, serverSigner, serverCertificate };
}

const sample = loadVector('suite1_chacha20poly1305_sha512.json').static;
export const SAMPLE_DAA: SoftwareDaaFiles = {
  secretKey: sample.secretKey,
  credential: sample.credential,
  gpk: sample.gpk,
  basename: sample.basename,
};
export const OTHER_GPK = loadVector('error_wrong_gpk.json').raw['client_config_override'] as {
  group_public_key: string;
};

/** A registry-shaped policy: known groups, pseudonym -> id, requested ids honoured unless taken. */
export class MemoryPolicy implements ServerPolicy {
  readonly verifier: SoftwareDaaVerifier;
  readonly ids = new Map<string, Uint8Array>();
  readonly verifyDaa: ServerPolicy['verifyDaa'];
  constructor(
    groups = [{ gpk: SAMPLE_DAA.gpk, basename: SAMPLE_DAA.basename }],
    readonly rng: Rng = systemRng,
  ) {
    this.verifier = new SoftwareDaaVerifier(groups);
    this.verifyDaa = this.verifier.verifyDaa;
  }
  assignIdentity: ServerPolicy['assignIdentity'] = (req) => {
    const key = toHex(req.pseudonym);
    const requested = req.requestedId.some((b) => b !== 0);
    const id = requested ? req.requestedId.slice() : (this.ids.get(key) ?? this.rng.bytes(16));
    for (const [k, other] of this.ids) {
      if (k !== key && toHex(other) === toHex(id)) return Promise.resolve({ ok: false, reason: 'id taken' });
    }
    this.ids.set(key, id);
    return Promise.resolve({ ok: true, id });
  };
}

export interface Parties {
  pki: Pki;
  daa: DaaSigner;
  policy: ServerPolicy;
  cookies: CookieStrategy;
  server: XttServer;
  client(over?: Partial<ClientConfig>): XttClient;
}

export function makeParties(o: {
  suite: SuiteSpec;
  policy?: ServerPolicy;
  daa?: DaaSigner;
  clock?: Clock;
  cookies?: CookieStrategy;
  server?: Partial<ServerConfig>;
  pki?: Pki;
}): Parties {
  const pki = o.pki ?? makePki();
  const daa = o.daa ?? new SoftwareDaaSigner(SAMPLE_DAA, systemRng);
  const policy = o.policy ?? new MemoryPolicy();
  const cookies =
    o.cookies ?? new SealedCookieStrategy({ rng: systemRng, ...(o.clock ? { clock: o.clock } : {}) });
  const server = new XttServer({
    certificate: pki.serverCertificate,
    signer: pki.serverSigner,
    cookies,
    policy,
    rng: systemRng,
    ...o.server,
  });
  const longterm = SoftwareP256Signer.generate(systemRng);
  return {
    pki,
    daa,
    policy,
    cookies,
    server,
    client: (over = {}) =>
      new XttClient({ suite: o.suite, roots: [pki.root], longterm, daa, rng: systemRng, ...over }),
  };
}

export type Tamper = (direction: 'c2s' | 's2c', index: number, bytes: Uint8Array) => Uint8Array;

export interface Outcome {
  client: ClientStep;
  server: ServerStep;
  /** Every message as it crossed the wire (after tampering). */
  wire: { direction: 'c2s' | 's2c'; bytes: Uint8Array }[];
}

/** Runs one handshake to completion over an in-memory pair. */
export async function pump(client: XttClient, hs: XttServerHandshake, tamper?: Tamper): Promise<Outcome> {
  const wire: Outcome['wire'] = [];
  let c: ClientStep = client.start();
  let s: ServerStep = { kind: 'need', bytes: hs.initialNeed };
  let counts = { c2s: 0, s2c: 0 };
  const cross = (direction: 'c2s' | 's2c', data: Uint8Array): Uint8Array => {
    const out = tamper ? tamper(direction, counts[direction], data) : data;
    counts = { ...counts, [direction]: counts[direction] + 1 };
    wire.push({ direction, bytes: out });
    return out;
  };
  const terminal = (k: string): boolean => k === 'done' || k === 'failed';
  for (let guard = 0; guard < 10; guard++) {
    const cData = c.kind === 'send' || c.kind === 'failed' ? c.data : undefined;
    if (cData && !terminal(s.kind)) s = await hs.receive(cross('c2s', cData));
    if (terminal(c.kind)) return { client: c, server: s, wire };
    const sData = s.kind === 'send' || s.kind === 'done' || s.kind === 'failed' ? s.data : undefined;
    if (sData) c = await client.receive(cross('s2c', sData));
    if (terminal(s.kind) || !sData) return { client: c, server: s, wire };
  }
  throw new Error('handshake did not terminate');
}
