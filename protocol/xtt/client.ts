// XTT 0.12 identity-provisioning client, sans I/O (vectors README, "The handshake, in the order the
// reference computes it", steps 1, 2, 4, 5, 8). Keys come through LongtermSigner and DaaSigner so a
// TPM or software keys can sign. Order of random draws matches libxtt: X25519 key at start, then
// nonce_c; the signers draw their own nonces (longterm k, then the three DAA scalars).
// Deviation from the reference tool: every local failure after a message arrived answers with a
// real Error message (the tool writes 4 uninitialised bytes on its generic path).
import { ProtocolError } from '../errors.ts';
import { equalBytes } from '../util/bytes.ts';
import type { Rng } from '../util/rng.ts';
import { type RootCertificate, verifyServerCertificate } from './certificates.ts';
import {
  DAA_SIGNATURE_LENGTH,
  GID_LENGTH,
  HEADER_LENGTH,
  IDENTITY_LENGTH,
  MsgType,
  NONCE_C_LENGTH,
  NULL_IDENTITY,
  P256_SIGNATURE_LENGTH,
  type SuiteSpec,
} from './constants.ts';
import { verifyP256 } from './ecdsa-p256.ts';
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
  type X25519Ephemeral,
} from './key-schedule.ts';
import {
  decodeIdentityServerFinished,
  decodeIsfPlaintext,
  decodeServerInitAndAttest,
  decodeSiaaPlaintext,
  encodeClientInit,
  encodeErrorMsg,
  encodeIcaPlaintext,
  encodeIcaUnencrypted,
} from './messages.ts';
import type { DaaSigner, LongtermSigner } from './signers.ts';
import { aeadNonce, suiteOps } from './suite-ops.ts';
import { SerialQueue } from '../util/serial-queue.ts';

export interface ClientConfig {
  suite: SuiteSpec;
  /** Root certificates the server certificate may chain to. */
  roots: readonly RootCertificate[];
  longterm: LongtermSigner;
  daa: DaaSigner;
  /** 16 bytes; omitted or all zero asks the server to assign one. */
  requestedId?: Uint8Array;
  rng: Rng;
}

export interface ClientResult {
  identity: Uint8Array;
  longtermPublicKey: Uint8Array;
  suite: SuiteSpec;
  serverPublicKey: Uint8Array;
  rootId: Uint8Array;
  gid: Uint8Array;
}

export type ClientStep = HandshakeStep<ClientResult>;

type State =
  | { at: 'new' }
  | { at: 'awaitServerInitAndAttest'; clientInit: Uint8Array; x25519: X25519Ephemeral | undefined }
  | {
      at: 'awaitServerFinished';
      serverKey: Uint8Array;
      serverIv: Uint8Array;
      serverPublicKey: Uint8Array;
      rootId: Uint8Array;
    }
  | { at: 'finished'; step: ClientStep };

export class XttClient {
  readonly #cfg: ClientConfig;
  readonly #requestedId: Uint8Array;
  readonly #framer = new MessageFramer({ expect: [MsgType.ServerInitAndAttest, MsgType.Error] });
  readonly #steps = new SerialQueue();
  #state: State = { at: 'new' };

  constructor(cfg: ClientConfig) {
    const id = cfg.requestedId ?? NULL_IDENTITY;
    if (id.length !== IDENTITY_LENGTH) throw new RangeError('requestedId must be 16 bytes');
    if (cfg.daa.gid.length !== GID_LENGTH) throw new RangeError('DAA gid must be 32 bytes');
    this.#cfg = cfg;
    this.#requestedId = id.slice();
  }

  /** Draws the X25519 key and nonce_c and returns ClientInit to send. */
  start(): ClientStep {
    if (this.#state.at !== 'new') throw new Error('XttClient.start called twice');
    const x25519 = x25519Ephemeral(this.#cfg.rng);
    const nonceC = this.#cfg.rng.bytes(NONCE_C_LENGTH);
    const clientInit = encodeClientInit({
      suite: this.#cfg.suite,
      nonceC,
      dhKeyshareC: x25519.publicKey,
    });
    this.#state = { at: 'awaitServerInitAndAttest', clientInit, x25519 };
    return { kind: 'send', data: clientInit, bytes: HEADER_LENGTH };
  }

  /** Feeds bytes read from the server. Never throws for anything the peer sends. */
  receive(chunk: Uint8Array): Promise<ClientStep> {
    // Steps may be async (a TPM signs); overlapping calls are queued so bytes are consumed in order.
    return this.#steps.run(() => this.#receive(chunk));
  }

  async #receive(chunk: Uint8Array): Promise<ClientStep> {
    const s = this.#state;
    if (s.at === 'finished') return s.step;
    if (s.at === 'new') throw new Error('XttClient.receive before start');
    const stage = s.at === 'awaitServerInitAndAttest' ? 'ServerInitAndAttest' : 'Identity_ServerFinished';
    let frame;
    try {
      frame = this.#framer.push(chunk);
    } catch (e) {
      return this.#fail(toProtocolError(e, stage), true);
    }
    if (frame.kind === 'need') return { kind: 'need', bytes: frame.bytes };
    if (frame.header.type === MsgType.Error) {
      return this.#fail(new ProtocolError('RECEIVED_ERROR', stage, 'server sent an Error message'), false);
    }
    try {
      if (s.at === 'awaitServerInitAndAttest') return await this.#onServerInitAndAttest(s, frame.bytes);
      return this.#onServerFinished(s, frame.bytes);
    } catch (e) {
      return this.#fail(toProtocolError(e, stage), true);
    }
  }

  #fail(error: ProtocolError, sendError: boolean): ClientStep {
    this.#wipe();
    const step: ClientStep = sendError
      ? { kind: 'failed', error, data: encodeErrorMsg() }
      : { kind: 'failed', error };
    this.#state = { at: 'finished', step };
    return step;
  }

  #wipe(): void {
    const s = this.#state;
    if (s.at === 'awaitServerInitAndAttest') s.x25519 = undefined;
    if (s.at === 'awaitServerFinished') {
      s.serverKey.fill(0);
      s.serverIv.fill(0);
    }
  }

  async #onServerInitAndAttest(
    s: Extract<State, { at: 'awaitServerInitAndAttest' }>,
    bytes: Uint8Array,
  ): Promise<ClientStep> {
    const stage = 'ServerInitAndAttest';
    const suite = this.#cfg.suite;
    const m = decodeServerInitAndAttest(bytes);
    if (m.suite !== suite) throw new ProtocolError('WRONG_SUITE', stage, `server answered suite ${m.suite}`);
    const ops = suiteOps(suite);
    const inner = handshakeKeyHashInner(ops, s.clientInit, m.unencrypted);
    const x25519 = s.x25519;
    s.x25519 = undefined; // one use
    if (!x25519) throw new ProtocolError('INTERNAL', stage, 'X25519 key already used');
    const shared = x25519.shared(m.dhKeyshareS);
    const keys = deriveHandshakeKeys(ops, shared, handshakeKeyHash(ops, inner, m.cookie));
    shared.fill(0);
    try {
      let plain: Uint8Array;
      try {
        plain = ops.open(keys.serverKey, aeadNonce(keys.serverIv, 0), m.unencrypted, m.sealed);
      } catch (cause) {
        throw new ProtocolError('AEAD', stage, 'ServerInitAndAttest does not decrypt', { cause });
      }
      const { certificate, signatureS } = decodeSiaaPlaintext(plain);
      const cert = verifyServerCertificate(certificate, this.#cfg.roots);
      const sigHash = serverSigHash(ops, s.clientInit, m.unencrypted, certificate);
      if (!verifyP256(cert.publicKey, sigHash, signatureS)) {
        throw new ProtocolError('BAD_SERVER_SIGNATURE', stage, 'signature_s does not verify');
      }

      const icaStage = 'Identity_ClientAttest';
      const prefix = encodeIcaUnencrypted(suite, m.cookie);
      const ltHash = clientLongtermSigHash(ops, inner, m.cookie, certificate, signatureS, prefix);
      const daaHash = clientDaaSigHash(ops, inner, m.cookie, certificate, signatureS, prefix);
      let longtermSignature: Uint8Array;
      let daaSignature: Uint8Array;
      try {
        longtermSignature = await this.#cfg.longterm.sign(ltHash);
        daaSignature = await this.#cfg.daa.sign(daaHash);
      } catch (cause) {
        // The signers are ours (TPM or software keys): their messages name a command, never key bytes.
        const why = cause instanceof Error ? cause.message : String(cause);
        throw new ProtocolError('SIGNER_FAILED', icaStage, `a client signer failed: ${why}`, { cause });
      }
      if (
        longtermSignature.length !== P256_SIGNATURE_LENGTH ||
        daaSignature.length !== DAA_SIGNATURE_LENGTH
      ) {
        throw new ProtocolError(
          'SIGNER_FAILED',
          icaStage,
          'a client signer returned a signature of the wrong size',
        );
      }
      const plaintext = encodeIcaPlaintext({
        longtermKey: this.#cfg.longterm.publicKey,
        daaGid: this.#cfg.daa.gid,
        idC: this.#requestedId,
        longtermSignature,
        daaSignature,
      });
      const sealed = ops.seal(keys.clientKey, aeadNonce(keys.clientIv, 0), prefix, plaintext);
      this.#state = {
        at: 'awaitServerFinished',
        serverKey: keys.serverKey.slice(),
        serverIv: keys.serverIv.slice(),
        serverPublicKey: cert.publicKey,
        rootId: cert.rootId,
      };
      this.#framer.expect([MsgType.Identity_ServerFinished, MsgType.Error]);
      const ica = new Uint8Array(prefix.length + sealed.length);
      ica.set(prefix);
      ica.set(sealed, prefix.length);
      return { kind: 'send', data: ica, bytes: HEADER_LENGTH };
    } finally {
      wipeHandshakeKeys(keys);
    }
  }

  #onServerFinished(s: Extract<State, { at: 'awaitServerFinished' }>, bytes: Uint8Array): ClientStep {
    const stage = 'Identity_ServerFinished';
    const m = decodeIdentityServerFinished(bytes);
    if (m.suite !== this.#cfg.suite)
      throw new ProtocolError('WRONG_SUITE', stage, `server answered suite ${m.suite}`);
    let plain: Uint8Array;
    try {
      plain = suiteOps(m.suite).open(s.serverKey, aeadNonce(s.serverIv, 1), m.unencrypted, m.sealed);
    } catch (cause) {
      throw new ProtocolError('AEAD', stage, 'Identity_ServerFinished does not decrypt', { cause });
    }
    const { id, longtermKey } = decodeIsfPlaintext(plain);
    if (!equalBytes(longtermKey, this.#cfg.longterm.publicKey)) {
      throw new ProtocolError('LONGTERM_KEY_MISMATCH', stage, 'server echoed a different longterm key');
    }
    const requested = !equalBytes(this.#requestedId, NULL_IDENTITY);
    if (requested && !equalBytes(id, this.#requestedId)) {
      throw new ProtocolError('ID_MISMATCH', stage, 'server assigned a different id than requested');
    }
    if (equalBytes(id, NULL_IDENTITY))
      throw new ProtocolError('ID_MISMATCH', stage, 'server assigned the null id');
    this.#wipe();
    const step: ClientStep = {
      kind: 'done',
      result: {
        identity: id,
        longtermPublicKey: this.#cfg.longterm.publicKey.slice(),
        suite: m.suite,
        serverPublicKey: s.serverPublicKey,
        rootId: s.rootId,
        gid: this.#cfg.daa.gid.slice(),
      },
    };
    this.#state = { at: 'finished', step };
    return step;
  }
}
