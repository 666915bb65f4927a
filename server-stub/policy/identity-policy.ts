// The server's identity decisions: which batches may handshake, which identity a device gets,
// quotas, re-keying, and an audit record for every decision (server-stub/README.md, "Identity
// rules"). Each decision runs in one registry write transaction, so two
// servers on one registry never hand out one address twice (BEGIN IMMEDIATE in SQLite plus the
// identity UNIQUE constraint). forConnection() gives each XTT connection a ServerPolicy
// (protocol/xtt/signers.ts) that knows its source: it looks up the batch, verifies the DAA
// signature through the injected verifier (VerifyPool in production), audits and logs refusals,
// then decides the identity. Toward the network the endpoint answers every refusal the same way;
// the typed reason is only in the audit and the log.
import { equalBytes, toHex } from '../../protocol/util/bytes.ts';
import { chooseIdentity, isNullIdentity, isReservedIid } from './identity-derivation.ts';
import type { DaaVerdict, IdentityVerdict, ServerPolicy } from '../../protocol/xtt/signers.ts';
import { silentLogger, type Logger } from '../log.ts';
import { RegistryError, ValidationError } from '../registry/errors.ts';
import { formatIpv6 } from '../registry/ipv6.ts';
import type { AuditInput, Registry, RegistryTx } from '../registry/registry.ts';
import {
  checkBytes,
  checkGid,
  checkPseudonym,
  IDENTITY_LENGTH,
  checkLongtermKey,
} from '../registry/validate.ts';
import type { VerifyRequest } from '../endpoint/verify-pool.ts';
import type { ItemVerdict } from '../endpoint/verify-worker.ts';

/** DAA verification port (VerifyPool in production). */
export interface DaaVerifier {
  verify(req: VerifyRequest): Promise<ItemVerdict>;
}

/** Audit reason codes (stable; operators filter on them). */
export const REASONS = {
  newDevice: 'new-device',
  newDeviceRequestedId: 'new-device-requested-id',
  returning: 'returning-device',
  rekeyed: 'rekeyed',
  unknownBatch: 'unknown-batch',
  batchRevoked: 'batch-revoked',
  batchWithoutNetwork: 'batch-without-network',
  deviceRevoked: 'device-revoked',
  quotaExceeded: 'batch-quota-exceeded',
  longtermKeyChanged: 'longterm-key-changed',
  requestedIdOutsideNetwork: 'requested-id-outside-network',
  requestedIdReserved: 'requested-id-reserved',
  requestedIdTaken: 'requested-id-taken',
  requestedIdDiffers: 'requested-id-differs',
  addressSpaceExhausted: 'address-space-exhausted',
  badRequest: 'bad-request',
  registryError: 'registry-error',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** Where a handshake came from, for the audit. */
export interface HandshakeSource {
  address: string;
  port: number;
}

/** Optional GeoIP port: a short location text for an address, or null. */
export interface GeoLocator {
  locate(address: string): string | null;
}

export interface AssignRequest {
  gid: Uint8Array;
  pseudonym: Uint8Array;
  longtermPublicKey: Uint8Array;
  /** The client's requested identity; null or all-zero means "assign one". */
  requestedId: Uint8Array | null;
  suite: number;
  source: HandshakeSource;
}

export type AssignResult = { ok: true; id: Uint8Array; reason: Reason } | { ok: false; reason: Reason };

/** What the DAA verifier needs to check a signature from a batch. */
/** A batch's verification material, or a refusal; `organizationId` once the batch is known. */
export type BatchLookup =
  | { ok: true; gpk: Uint8Array; basename: Uint8Array; organizationId: number }
  | { ok: false; reason: Reason; organizationId?: number };

export interface IdentityPolicyOptions {
  logger?: Logger;
  geo?: GeoLocator;
  /** Verifies DAA signatures for forConnection()'s policies (not needed for assignIdentity alone). */
  verifier?: DaaVerifier;
}

type Decision = AssignResult;

function isValid(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof ValidationError) return false;
    throw err;
  }
}

export class IdentityPolicy {
  private readonly logger: Logger;
  private readonly geo: GeoLocator | undefined;
  private readonly verifier: DaaVerifier | undefined;

  constructor(
    private readonly registry: Registry,
    options: IdentityPolicyOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.geo = options.geo;
    this.verifier = options.verifier;
  }

  /** The ServerPolicy of one XTT connection from `source` (needs the `verifier` option). */
  forConnection(source: HandshakeSource): HandshakePolicy {
    if (!this.verifier) throw new TypeError('IdentityPolicy.forConnection needs the verifier option');
    return new HandshakePolicy(this, this.verifier, this.logger, source);
  }

  /**
   * The batch's GPK and basename for verifying a DAA signature, or a refusal (unknown, revoked,
   * not associated with a network). Refusals here are audited by `recordFailure` by the caller.
   */
  async lookupBatch(gid: Uint8Array): Promise<BatchLookup> {
    if (!(gid instanceof Uint8Array) || gid.length !== 32) return { ok: false, reason: REASONS.badRequest };
    const batch = await this.registry.getBatch(gid);
    if (!batch) return { ok: false, reason: REASONS.unknownBatch };
    const organizationId = batch.organizationId;
    if (batch.status === 'revoked') return { ok: false, reason: REASONS.batchRevoked, organizationId };
    if (batch.networkId === null) return { ok: false, reason: REASONS.batchWithoutNetwork, organizationId };
    return { ok: true, gpk: batch.gpk, basename: batch.basename, organizationId };
  }

  /** Decide and record the identity of a device whose DAA signature has been verified. */
  async assignIdentity(req: AssignRequest): Promise<AssignResult> {
    // For the audit of a malformed request keep only the fields that are themselves well-formed.
    const gid = isValid(() => checkGid(req.gid)) ? req.gid : null;
    const pseudonym = isValid(() => checkPseudonym(req.pseudonym)) ? req.pseudonym : null;
    try {
      checkGid(req.gid, 'request.gid');
      checkPseudonym(req.pseudonym, 'request.pseudonym');
      checkLongtermKey(req.longtermPublicKey, 'request.longtermPublicKey');
      if (req.requestedId !== null) checkBytes(req.requestedId, 'request.requestedId', IDENTITY_LENGTH);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      this.logger.warn('handshake.bad-request', { src: req.source?.address, field: err.field });
      await this.recordFailure(req.source, { gid, pseudonym, suite: req.suite, reason: REASONS.badRequest });
      return { ok: false, reason: REASONS.badRequest };
    }
    // A CONFLICT means another writer won a race the transaction could not see (not possible with
    // SQLite's BEGIN IMMEDIATE, possible with weaker isolation): decide again on fresh state.
    for (let attempt = 0; ; attempt++) {
      try {
        const decision = await this.registry.withTransaction((tx) => this.decide(tx, req));
        this.logDecision(req, decision);
        return decision;
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'CONFLICT' && attempt < 3) continue;
        this.logger.error('handshake.registry-error', {
          src: req.source.address,
          code: err instanceof RegistryError ? err.code : 'UNKNOWN',
          msg: err instanceof Error ? err.message : String(err),
        });
        await this.recordFailure(req.source, {
          gid,
          pseudonym,
          suite: req.suite,
          reason: REASONS.registryError,
        });
        return { ok: false, reason: REASONS.registryError };
      }
    }
  }

  /** Audit a handshake that failed before an identity decision (bad message, bad signature...). */
  async recordFailure(
    source: HandshakeSource,
    what: { gid: Uint8Array | null; pseudonym: Uint8Array | null; suite: number | null; reason: string },
    outcome: 'failed' | 'refused' = 'failed',
  ): Promise<void> {
    try {
      await this.registry.appendAudit({
        sourceAddress: source.address,
        sourcePort: source.port,
        gid: what.gid,
        pseudonym: what.pseudonym,
        suite: what.suite,
        outcome,
        reason: what.reason,
        geolocation: this.locate(source.address),
        identity: null,
      });
    } catch (err) {
      this.logger.error('audit.write-failed', { src: source.address, msg: (err as Error).message });
    }
  }

  private locate(address: string): string | null {
    try {
      return this.geo?.locate(address) ?? null;
    } catch (err) {
      this.logger.warn('geo.lookup-failed', { msg: (err as Error).message });
      return null;
    }
  }

  private async decide(tx: RegistryTx, req: AssignRequest): Promise<Decision> {
    const source = `${req.source.address} ${req.source.port}`;
    const base = { gid: req.gid, pseudonym: req.pseudonym, suite: req.suite };
    const refuse = async (reason: Reason): Promise<Decision> => {
      await this.audit(tx, req, { ...base, outcome: 'refused', reason, identity: null });
      return { ok: false, reason };
    };
    const grant = async (id: Uint8Array, reason: Reason): Promise<Decision> => {
      await this.audit(tx, req, { ...base, outcome: 'provisioned', reason, identity: id });
      return { ok: true, id, reason };
    };

    const batch = await tx.getBatch(req.gid);
    if (!batch) return refuse(REASONS.unknownBatch);
    if (batch.status === 'revoked') return refuse(REASONS.batchRevoked);
    const network = batch.networkId === null ? undefined : await tx.getNetwork(batch.networkId);
    if (!network) return refuse(REASONS.batchWithoutNetwork);
    const requested = req.requestedId && !isNullIdentity(req.requestedId) ? req.requestedId : null;

    const device = await tx.getDevice(req.gid, req.pseudonym);
    if (device) {
      if (device.status === 'revoked') return refuse(REASONS.deviceRevoked);
      if (requested && !equalBytes(requested, device.identity)) return refuse(REASONS.requestedIdDiffers);
      let reason: Reason = REASONS.returning;
      if (!equalBytes(device.longtermPublicKey, req.longtermPublicKey)) {
        if (!device.allowRekey) return refuse(REASONS.longtermKeyChanged);
        await tx.rekeyDevice(req.gid, req.pseudonym, req.longtermPublicKey);
        reason = REASONS.rekeyed;
      }
      await tx.touchDevice(req.gid, req.pseudonym, source);
      return grant(device.identity, reason);
    }

    if ((await tx.countDevices(req.gid)) >= batch.size) return refuse(REASONS.quotaExceeded);
    let identity: Uint8Array | undefined;
    let reason: Reason = REASONS.newDevice;
    if (requested) {
      if (!equalBytes(requested.subarray(0, 8), network.prefix))
        return refuse(REASONS.requestedIdOutsideNetwork);
      if (isReservedIid(requested.subarray(8))) return refuse(REASONS.requestedIdReserved);
      if (await tx.findByIdentity(requested)) return refuse(REASONS.requestedIdTaken);
      identity = requested.slice();
      reason = REASONS.newDeviceRequestedId;
    } else {
      identity = await chooseIdentity(
        network.prefix,
        req.gid,
        req.pseudonym,
        async (id) => (await tx.findByIdentity(id)) !== undefined,
      );
      if (!identity) return refuse(REASONS.addressSpaceExhausted);
    }
    await tx.insertDevice({
      gid: req.gid,
      pseudonym: req.pseudonym,
      identity,
      longtermPublicKey: req.longtermPublicKey,
      source,
    });
    return grant(identity, reason);
  }

  private async audit(
    tx: RegistryTx,
    req: AssignRequest,
    e: Omit<AuditInput, 'sourceAddress' | 'sourcePort' | 'geolocation'>,
  ): Promise<void> {
    await tx.appendAudit({
      ...e,
      sourceAddress: req.source.address,
      sourcePort: req.source.port,
      geolocation: this.locate(req.source.address),
    });
  }

  private logDecision(req: AssignRequest, d: Decision): void {
    const fields = {
      src: req.source.address,
      port: req.source.port,
      gid: toHex(req.gid).slice(0, 16),
      suite: req.suite,
      reason: d.reason,
      id: d.ok ? formatIpv6(d.id) : undefined,
    };
    if (d.ok) this.logger.info('handshake.provisioned', fields);
    else this.logger.warn('handshake.refused', fields);
  }
}

/**
 * One connection's ServerPolicy: batch lookup, DAA verification, audit and log of a refusal, then
 * IdentityPolicy's decision with the connection's source.
 */
export class HandshakePolicy implements ServerPolicy {
  /** The organization of the batch the client named, once looked up (metrics); unknown: undefined. */
  organizationId: number | undefined;

  constructor(
    private readonly identities: IdentityPolicy,
    private readonly verifier: DaaVerifier,
    private readonly logger: Logger,
    private readonly source: HandshakeSource,
  ) {}

  async verifyDaa(req: Parameters<ServerPolicy['verifyDaa']>[0]): Promise<DaaVerdict> {
    const { gid, message, signature, suite } = req;
    const { address, port } = this.source;
    const batch = await this.identities.lookupBatch(gid);
    this.organizationId = batch.organizationId;
    if (!batch.ok) {
      await this.identities.recordFailure(
        this.source,
        { gid: gid.length === 32 ? gid : null, pseudonym: null, suite, reason: batch.reason },
        'refused',
      );
      this.logger.warn('handshake.refused', { src: address, port, reason: batch.reason });
      return { ok: false, reason: batch.reason };
    }
    const verdict = await this.verifier.verify({
      gid,
      gpk: batch.gpk,
      basename: batch.basename,
      message,
      signature,
    });
    if (!verdict.ok) {
      await this.identities.recordFailure(this.source, {
        gid,
        pseudonym: null,
        suite,
        reason: verdict.reason,
      });
      this.logger.warn('handshake.failed', { src: address, port, reason: verdict.reason });
    }
    return verdict;
  }

  assignIdentity(req: Parameters<ServerPolicy['assignIdentity']>[0]): Promise<IdentityVerdict> {
    return this.identities.assignIdentity({ ...req, source: this.source });
  }
}
