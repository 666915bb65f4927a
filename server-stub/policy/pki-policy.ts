// Identity decisions for PKI enrollment (the customer's own CA instead of a DAA batch). Input: a
// leaf certificate whose key proved possession (TLS CertificateVerify, or the signed challenge bound
// to the TLS exporter) and the intermediates the device sent. Decision:
//   1. path validation to a registered CA (protocol/pki/chain.ts; the reasons listed there);
//   2. in one registry write transaction: CA revoked -> ca-revoked; leaf (or the certificate below
//      the CA) on the CA's uploaded CRL -> certificate-revoked; the key known in the CA's network ->
//      its identity (device revoked -> device-revoked); a device of that CA with the same subject
//      allowed to re-key -> takes the new key; otherwise a new device, within the CA's quota
//      (ca-quota-exceeded), identity = the network's /64 prefix || first 8 bytes of
//      SHA-256("pki" || SHA-256(SubjectPublicKeyInfo) || counter) (identity-derivation.ts);
//   3. an audit record for every decision, with source address and geolocation.
// Toward the network every refusal is the same message; the reason is in the audit and the log.
import { createHash } from 'node:crypto';
import type { Certificate } from '../../protocol/pki/certificate.ts';
import { verifyChain } from '../../protocol/pki/chain.ts';
import { chooseIdentity } from './identity-derivation.ts';
import type { GeoLocator, HandshakeSource } from './identity-policy.ts';
import { silentLogger, type Logger } from '../log.ts';
import { formatIpv6 } from '../registry/ipv6.ts';
import type { CaRecord, CertificateInfo, PkiRegistry } from '../registry/pki-registry.ts';
import type { Clock } from '../registry/registry.ts';

export const PKI_REASONS = {
  newDevice: 'new-device',
  returning: 'returning-device',
  rekeyed: 'rekeyed',
  caRevoked: 'ca-revoked',
  deviceRevoked: 'device-revoked',
  quotaExceeded: 'ca-quota-exceeded',
  addressSpaceExhausted: 'address-space-exhausted',
  registryError: 'registry-error',
} as const;

/** What a successful proof of possession hands to the policy. */
export interface PkiEnrollRequest {
  leaf: Certificate;
  intermediates: Certificate[];
  method: 'tls-client-certificate' | 'signed-challenge';
  source: HandshakeSource;
}

/** `networkId`: the network of the CA that issued the chain, when one is known (metrics). */
export type PkiDecision =
  | { ok: true; identity: Uint8Array; prefixLength: number; reason: string; networkId: number }
  | { ok: false; reason: string; networkId?: number };

export interface PkiPolicyOptions {
  clock: Clock;
  logger?: Logger;
  geo?: GeoLocator;
  maxChainLength?: number;
}

const IDENTITY_DOMAIN = new TextEncoder().encode('pki');

export function certificateInfo(c: Certificate): CertificateInfo {
  return {
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serial,
    fingerprint: c.fingerprint,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
  };
}

export function keyFingerprint(c: Certificate): string {
  return createHash('sha256').update(c.publicKeyDer).digest('hex');
}

export class PkiPolicy {
  readonly #log: Logger;
  /** Parsed CA certificates by fingerprint (a registered certificate never changes). */
  readonly #parsed = new Map<string, Certificate>();

  constructor(
    private readonly registry: PkiRegistry,
    private readonly parse: (der: Uint8Array) => Certificate,
    private readonly o: PkiPolicyOptions,
  ) {
    this.#log = o.logger ?? silentLogger;
  }

  #anchor(ca: CaRecord): Certificate {
    let c = this.#parsed.get(ca.fingerprint);
    if (!c) {
      c = this.parse(ca.der);
      this.#parsed.set(ca.fingerprint, c);
    }
    return c;
  }

  async enroll(req: PkiEnrollRequest): Promise<PkiDecision> {
    const cas = await this.registry.listCas();
    const now = this.o.clock.now();
    const verdict = verifyChain({
      leaf: req.leaf,
      intermediates: req.intermediates,
      anchors: cas.map((ca) => ({ cert: this.#anchor(ca), ref: ca })),
      now,
      ...(this.o.maxChainLength ? { maxLength: this.o.maxChainLength } : {}),
    });
    const info = certificateInfo(req.leaf);
    const keyFp = keyFingerprint(req.leaf);
    const source = `${req.source.address} ${req.source.port}`;
    const audit = {
      sourceAddress: req.source.address,
      sourcePort: req.source.port,
      certificate: info,
      keyFingerprint: keyFp,
      method: req.method,
      geolocation: this.o.geo?.locate(req.source.address) ?? null,
    };
    let decision: PkiDecision;
    try {
      decision = await this.registry.withPkiTransaction(async (tx) => {
        const refuse = async (
          reason: string,
          ca: { id: number; networkId: number } | null,
        ): Promise<PkiDecision> => {
          await tx.appendPkiAudit({
            ...audit,
            caId: ca?.id ?? null,
            outcome: 'refused',
            reason,
            identity: null,
          });
          return { ok: false, reason, ...(ca ? { networkId: ca.networkId } : {}) };
        };
        if (!verdict.ok) return refuse(verdict.reason, verdict.anchor ?? null);
        const ca = await tx.getCa(verdict.anchor.id);
        if (!ca) return refuse('unknown-ca', null);
        if (ca.status === 'revoked') return refuse(PKI_REASONS.caRevoked, ca);
        const top = verdict.path[verdict.path.length - 1]!;
        if (await tx.isSerialRevoked(ca.id, top.serial)) return refuse('certificate-revoked', ca);
        const prefix = await tx.getNetworkPrefix(ca.networkId);
        const accept = async (identity: Uint8Array, reason: string): Promise<PkiDecision> => {
          await tx.appendPkiAudit({ ...audit, caId: ca.id, outcome: 'provisioned', reason, identity });
          return { ok: true, identity, prefixLength: 64, reason, networkId: ca.networkId };
        };
        const known = await tx.getCertDeviceByKey(ca.networkId, keyFp);
        if (known) {
          if (known.status === 'revoked') return refuse(PKI_REASONS.deviceRevoked, ca);
          await tx.touchCertDevice(known.id, info, ca.id, req.method, source);
          return accept(known.identity, PKI_REASONS.returning);
        }
        const rekey = await tx.findRekeyable(ca.id, info.subject);
        if (rekey && rekey.status === 'active') {
          await tx.rekeyCertDevice(rekey.id, keyFp);
          await tx.touchCertDevice(rekey.id, info, ca.id, req.method, source);
          return accept(rekey.identity, PKI_REASONS.rekeyed);
        }
        if (ca.maxDevices !== null && (await tx.countCaDevices(ca.id)) >= ca.maxDevices) {
          return refuse(PKI_REASONS.quotaExceeded, ca);
        }
        const identity = await chooseIdentity(prefix, IDENTITY_DOMAIN, Buffer.from(keyFp, 'hex'), (id) =>
          tx.isIdentityTaken(id),
        );
        if (!identity) return refuse(PKI_REASONS.addressSpaceExhausted, ca);
        await tx.insertCertDevice({
          ...info,
          caId: ca.id,
          networkId: ca.networkId,
          keyFingerprint: keyFp,
          identity,
          method: req.method,
          source,
        });
        return accept(identity, PKI_REASONS.newDevice);
      });
    } catch (e) {
      this.#log.error('pki.registry-error', { src: req.source.address, msg: (e as Error).message });
      return { ok: false, reason: PKI_REASONS.registryError };
    }
    const fields = {
      src: req.source.address,
      port: req.source.port,
      subject: info.subject,
      serial: info.serial,
      reason: decision.reason,
    };
    if (decision.ok) this.#log.info('pki.enrolled', { ...fields, identity: formatIpv6(decision.identity) });
    else this.#log.warn('pki.refused', fields);
    return decision;
  }
}
