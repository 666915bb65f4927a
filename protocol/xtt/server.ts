// XTT 0.12 identity-provisioning server, sans I/O (vectors README, "The handshake, in the order the
// reference computes it", steps 3, 6, 7). One XttServerHandshake per connection, made by
// XttServer.accept(policy) with that connection's ServerPolicy (a transport adapter gives each
// connection one that knows its source); once ClientInit is accepted the handshake exposes the
// negotiated suite, and passes it to the policy with the DAA signature. Between ServerInitAndAttest and Identity_ClientAttest a handshake holds only
// the cookie and signature_s (194 bytes); the X25519 result and the ClientInit-derived hash live in
// the cookie (see cookie.ts). Decisions go through ServerPolicy. Toward the network every failure
// looks the same: the 4-byte Error message (silence only after the peer's own Error); the typed
// reason goes to the driver in the 'failed' step.
import { ProtocolError } from '../errors.ts';
import { equalBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { decodeServerCertificate } from './certificates.ts';
import {
  ALL_SUITES,
  HEADER_LENGTH,
  IDENTITY_LENGTH,
  MsgType,
  NULL_IDENTITY,
  P256_SIGNATURE_LENGTH,
  type SuiteSpec,
} from './constants.ts';
import type { CookieStrategy } from './cookie.ts';
import { isValidP256PublicKey, verifyP256 } from './ecdsa-p256.ts';
import { MessageFramer } from './framer.ts';
import { type HandshakeStep, toProtocolError } from './handshake-step.ts';
import {
  clientDaaSigHash,
  clientLongtermSigHash,
  deriveHandshakeKeys,
  handshakeKeyHash,
  handshakeKeyHashInner,
  serverSigHash,
  wipeHandshakeKeys,
  x25519Ephemeral,
} from './key-schedule.ts';
import {
  decodeClientInit,
  decodeIcaPlaintext,
  decodeIdentityClientAttest,
  encodeErrorMsg,
  encodeIsfPlaintext,
  encodeSiaaPlaintext,
  encodeSiaaUnencrypted,
  messagePrefix,
} from './messages.ts';
import type { ServerPolicy, ServerSigner } from './signers.ts';
import { aeadNonce, suiteOps } from './suite-ops.ts';
import { concatBytes } from '../util/bytes.ts';
import { SerialQueue } from '../util/serial-queue.ts';

export interface ServerConfig {
  /** The 169-byte server certificate (root-signed), sent inside ServerInitAndAttest. */
  certificate: Uint8Array;
  /** Key matching the certificate's public key. */
  signer: ServerSigner;
  cookies: CookieStrategy;
  /** The policy of accept() called without one (tests, benchmarks: one policy for every connection). */
  policy?: ServerPolicy;
  rng: Rng;
  /** Suites the server accepts (default all four). */
  suites?: readonly SuiteSpec[];
}

export interface ServerResult {
  identity: Uint8Array;
  pseudonym: Uint8Array;
  gid: Uint8Array;
  longtermPublicKey: Uint8Array;
  suite: SuiteSpec;
}

export type ServerStep = HandshakeStep<ServerResult>;

export class XttServer {
  readonly config: Readonly<ServerConfig>;

  constructor(config: ServerConfig) {
    const cert = decodeServerCertificate(config.certificate);
    if (!equalBytes(cert.publicKey, config.signer.publicKey)) {
      throw new RangeError('server signer does not match the certificate public key');
    }
    this.config = { ...config, certificate: config.certificate.slice() };
  }

  /**
   * A fresh per-connection handshake deciding through `policy` (default: the config's); it first
   * needs the 4-byte header of ClientInit.
   */
  accept(policy?: ServerPolicy): XttServerHandshake {
    return new XttServerHandshake(this.config, policy);
  }
}

type State =
  | { at: 'awaitClientInit' }
  | { at: 'awaitClientAttest'; suite: SuiteSpec; cookie: Uint8Array; signatureS: Uint8Array }
  | { at: 'finished'; step: ServerStep; suite: SuiteSpec | undefined };

export class XttServerHandshake {
  readonly #cfg: Readonly<ServerConfig>;
  readonly #policy: ServerPolicy;
  readonly #framer = new MessageFramer({ expect: [MsgType.ClientInit, MsgType.Error] });
  readonly #steps = new SerialQueue();
  #state: State = { at: 'awaitClientInit' };

  constructor(cfg: Readonly<ServerConfig>, policy: ServerPolicy | undefined = cfg.policy) {
    if (!policy)
      throw new TypeError('XttServerHandshake needs a ServerPolicy (accept(policy) or config.policy)');
    this.#cfg = cfg;
    this.#policy = policy;
  }

  /** The suite the client chose, once its ClientInit was accepted (undefined before). */
  get suite(): SuiteSpec | undefined {
    const s = this.#state;
    if (s.at === 'awaitClientAttest') return s.suite;
    return s.at === 'finished' ? s.suite : undefined;
  }

  /** Bytes to read before anything can happen. */
  get initialNeed(): number {
    return HEADER_LENGTH;
  }

  /** Feeds bytes from the client. Never throws for anything the peer sends. */
  receive(chunk: Uint8Array): Promise<ServerStep> {
    // Steps may be async (a TPM signs); overlapping calls are queued so bytes are consumed in order.
    return this.#steps.run(() => this.#receive(chunk));
  }

  async #receive(chunk: Uint8Array): Promise<ServerStep> {
    const s = this.#state;
    if (s.at === 'finished') return s.step;
    const stage = s.at === 'awaitClientInit' ? 'ClientInit' : 'Identity_ClientAttest';
    let frame;
    try {
      frame = this.#framer.push(chunk);
    } catch (e) {
      return this.#fail(toProtocolError(e, stage), true);
    }
    if (frame.kind === 'need') return { kind: 'need', bytes: frame.bytes };
    if (frame.header.type === MsgType.Error) {
      return this.#fail(new ProtocolError('RECEIVED_ERROR', stage, 'client sent an Error message'), false);
    }
    try {
      if (s.at === 'awaitClientInit') return await this.#onClientInit(frame.bytes);
      return await this.#onClientAttest(s, frame.bytes);
    } catch (e) {
      return this.#fail(toProtocolError(e, stage), true);
    }
  }

  #fail(error: ProtocolError, sendError: boolean): ServerStep {
    const step: ServerStep = sendError
      ? { kind: 'failed', error, data: encodeErrorMsg() }
      : { kind: 'failed', error };
    this.#state = { at: 'finished', step, suite: this.suite };
    return step;
  }

  async #onClientInit(clientInit: Uint8Array): Promise<ServerStep> {
    const stage = 'ClientInit';
    const m = decodeClientInit(clientInit);
    const suites = this.#cfg.suites ?? ALL_SUITES;
    if (!suites.includes(m.suite))
      throw new ProtocolError('UNSUPPORTED_SUITE', stage, `suite ${m.suite} not accepted`);
    const ops = suiteOps(m.suite);
    const x25519 = x25519Ephemeral(this.#cfg.rng);
    let shared: Uint8Array | undefined;
    try {
      const dhKeyshareS = x25519.publicKey;
      shared = x25519.shared(m.dhKeyshareC);
      // inner only covers SIAA[0:38] (header, suite, dh_keyshare_s): a placeholder cookie is fine here.
      const inner = handshakeKeyHashInner(
        ops,
        clientInit,
        encodeSiaaUnencrypted(m.suite, dhKeyshareS, new Uint8Array(130)),
      );
      const cookie = this.#cfg.cookies.issue({ suite: m.suite, sharedSecret: shared, innerHash: inner });
      const unencrypted = encodeSiaaUnencrypted(m.suite, dhKeyshareS, cookie);
      const certificate = this.#cfg.certificate;
      const signatureS = await this.#cfg.signer.sign(
        serverSigHash(ops, clientInit, unencrypted, certificate),
      );
      if (signatureS.length !== P256_SIGNATURE_LENGTH)
        throw new ProtocolError('SIGNER_FAILED', stage, 'server signer output size');
      const keys = deriveHandshakeKeys(ops, shared, handshakeKeyHash(ops, inner, cookie));
      try {
        const sealed = ops.seal(
          keys.serverKey,
          aeadNonce(keys.serverIv, 0),
          unencrypted,
          encodeSiaaPlaintext({ certificate, signatureS }),
        );
        this.#state = { at: 'awaitClientAttest', suite: m.suite, cookie, signatureS };
        this.#framer.expect([MsgType.Identity_ClientAttest, MsgType.Error]);
        return { kind: 'send', data: concatBytes(unencrypted, sealed), bytes: HEADER_LENGTH };
      } finally {
        wipeHandshakeKeys(keys);
      }
    } finally {
      shared?.fill(0);
    }
  }

  async #onClientAttest(
    s: Extract<State, { at: 'awaitClientAttest' }>,
    bytes: Uint8Array,
  ): Promise<ServerStep> {
    const stage = 'Identity_ClientAttest';
    const m = decodeIdentityClientAttest(bytes);
    if (m.suite !== s.suite) throw new ProtocolError('WRONG_SUITE', stage, `suite changed to ${m.suite}`);
    if (!equalBytes(m.cookie, s.cookie))
      throw new ProtocolError('COOKIE_INVALID', stage, 'cookie echo differs');
    const cs = this.#cfg.cookies.redeem(m.cookie);
    if (cs.suite !== s.suite) throw new ProtocolError('COOKIE_INVALID', stage, 'cookie suite differs');
    const ops = suiteOps(s.suite);
    const keys = deriveHandshakeKeys(ops, cs.sharedSecret, handshakeKeyHash(ops, cs.innerHash, m.cookie));
    cs.sharedSecret.fill(0);
    try {
      let plain: Uint8Array;
      try {
        plain = ops.open(keys.clientKey, aeadNonce(keys.clientIv, 0), m.unencrypted, m.sealed);
      } catch (cause) {
        throw new ProtocolError('AEAD', stage, 'Identity_ClientAttest does not decrypt', { cause });
      }
      const p = decodeIcaPlaintext(plain);
      const certificate = this.#cfg.certificate;
      if (!isValidP256PublicKey(p.longtermKey))
        throw new ProtocolError('BAD_LONGTERM_KEY', stage, 'longterm key is not a P-256 point');
      const ltHash = clientLongtermSigHash(
        ops,
        cs.innerHash,
        m.cookie,
        certificate,
        s.signatureS,
        m.unencrypted,
      );
      if (!verifyP256(p.longtermKey, ltHash, p.longtermSignature)) {
        throw new ProtocolError('BAD_LONGTERM_SIGNATURE', stage, 'longterm_signature does not verify');
      }
      const daaHash = clientDaaSigHash(ops, cs.innerHash, m.cookie, certificate, s.signatureS, m.unencrypted);
      const daa = await this.#policy.verifyDaa({
        gid: p.daaGid,
        message: daaHash,
        signature: p.daaSignature,
        suite: s.suite,
      });
      if (!daa.ok) throw new ProtocolError('DAA_REJECTED', stage, `DAA signature rejected: ${daa.reason}`);
      const decision = await this.#policy.assignIdentity({
        gid: p.daaGid,
        pseudonym: daa.pseudonym,
        longtermPublicKey: p.longtermKey,
        requestedId: p.idC,
        suite: s.suite,
      });
      if (!decision.ok)
        throw new ProtocolError('IDENTITY_REJECTED', stage, `identity refused: ${decision.reason}`);
      const id = decision.id;
      const requested = !equalBytes(p.idC, NULL_IDENTITY);
      if (
        id.length !== IDENTITY_LENGTH ||
        equalBytes(id, NULL_IDENTITY) ||
        (requested && !equalBytes(id, p.idC))
      ) {
        throw new ProtocolError('IDENTITY_REJECTED', stage, 'policy returned an unusable id');
      }
      const prefix = messagePrefix(MsgType.Identity_ServerFinished, s.suite);
      const sealed = ops.seal(
        keys.serverKey,
        aeadNonce(keys.serverIv, 1),
        prefix,
        encodeIsfPlaintext({ id, longtermKey: p.longtermKey }),
      );
      const step: ServerStep = {
        kind: 'done',
        data: concatBytes(prefix, sealed),
        result: {
          identity: id.slice(),
          pseudonym: daa.pseudonym,
          gid: p.daaGid,
          longtermPublicKey: p.longtermKey,
          suite: s.suite,
        },
      };
      this.#state = { at: 'finished', step, suite: s.suite };
      return step;
    } finally {
      wipeHandshakeKeys(keys);
    }
  }
}
