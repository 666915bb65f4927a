// The registry's PKI part (enrollment by the customer's own CA): CA certificates the operator
// registered with a network (enrollment groups), the CRLs uploaded for them, and certificate
// devices. A certificate device is one public key (SHA-256 of its SubjectPublicKeyInfo) in one
// network: the same key always gets the same identity, whichever of the network's CAs certified it;
// a new key is a new device unless the operator allowed a re-key of a device with the same CA and
// subject. Certificate metadata (subject, issuer, serial, fingerprint, validity) is kept from the
// last successful enrollment. Public values only.
import type { AuditOutcome } from './registry.ts';

export const CA_STATUSES = ['active', 'revoked'] as const;
export type CaStatus = (typeof CA_STATUSES)[number];

export interface NewCa {
  /** The CA certificate, DER. */
  der: Uint8Array;
  name: string;
  network: string | number;
  /** Most distinct devices this CA may ever enroll; null: no limit but the network's /64. */
  maxDevices: number | null;
}

export interface CaRecord {
  id: number;
  name: string;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
  der: Uint8Array;
  subject: string;
  notBefore: number;
  notAfter: number;
  networkId: number;
  maxDevices: number | null;
  status: CaStatus;
  /** True when the operator proved possession of the CA key (signed verification challenge). */
  isVerified: boolean;
  createdAt: number;
}

export interface CaSummary extends CaRecord {
  devices: number;
  revokedDevices: number;
  /** Serials on the newest uploaded CRL, 0 when none. */
  crlEntries: number;
  crlThisUpdate: number | null;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  serial: string;
  /** SHA-256 of the leaf certificate DER, lower-case hex. */
  fingerprint: string;
  notBefore: number;
  notAfter: number;
}

export interface CertDevice extends CertificateInfo {
  id: number;
  caId: number;
  networkId: number;
  /** SHA-256 of the SubjectPublicKeyInfo, lower-case hex: what the device is. */
  keyFingerprint: string;
  identity: Uint8Array;
  status: 'active' | 'revoked';
  allowRekey: boolean;
  /** 'tls-client-certificate' or 'signed-challenge' at the last enrollment. */
  method: string;
  firstEnrolledAt: number;
  lastEnrolledAt: number;
  enrollCount: number;
  lastSource: string | null;
}

export interface NewCertDevice extends CertificateInfo {
  caId: number;
  networkId: number;
  keyFingerprint: string;
  identity: Uint8Array;
  method: string;
  source: string;
}

export interface PkiAuditInput {
  sourceAddress: string;
  sourcePort: number;
  caId: number | null;
  /** Leaf certificate facts, when the request carried a parseable leaf. */
  certificate: CertificateInfo | null;
  keyFingerprint: string | null;
  method: string;
  outcome: AuditOutcome;
  reason: string;
  geolocation: string | null;
  identity: Uint8Array | null;
}

/** Inside one write transaction (Registry.withTransaction / withPkiTransaction). */
export interface PkiRegistryTx {
  getCa(id: number): Promise<CaRecord | undefined>;
  /** The first 8 bytes of the network's /64. */
  getNetworkPrefix(networkId: number): Promise<Uint8Array>;
  /** Distinct devices ever enrolled through the CA (revoked ones included). */
  countCaDevices(caId: number): Promise<number>;
  getCertDeviceByKey(networkId: number, keyFingerprint: string): Promise<CertDevice | undefined>;
  /** A device of the CA with this subject whose re-key the operator allowed. */
  findRekeyable(caId: number, subject: string): Promise<CertDevice | undefined>;
  /** True when any device (DAA or certificate) holds the identity. */
  isIdentityTaken(identity: Uint8Array): Promise<boolean>;
  insertCertDevice(d: NewCertDevice): Promise<CertDevice>;
  /** A successful enrollment of a known device: count, time, source, current certificate. */
  touchCertDevice(
    id: number,
    cert: CertificateInfo,
    caId: number,
    method: string,
    source: string,
  ): Promise<void>;
  /** Bind a new key to a device allowed to re-key, and clear the allowance. */
  rekeyCertDevice(id: number, keyFingerprint: string): Promise<void>;
  isSerialRevoked(caId: number, serial: string): Promise<boolean>;
  appendPkiAudit(entry: PkiAuditInput): Promise<void>;
}

export interface CertDeviceFilter {
  caId?: number;
  status?: 'active' | 'revoked';
  /** Only the devices of this organization's networks. */
  organizationId?: number;
  /** First enrollment at or after this time (ms). */
  firstSince?: number;
  /** First enrollment before this time (ms). */
  firstUntil?: number;
  /** Last enrollment at or after this time (ms). */
  lastSince?: number;
  /** Keyset paging: only devices with a larger id. */
  afterId?: number;
  /** At most this many (1 to MAX_DEVICE_LIMIT); all without. */
  limit?: number;
}

/**
 * A CA belongs to the organization of its network, and its name is unique in that organization
 * (two organizations may each have a CA "factory-ca"); its certificate (fingerprint) is registered
 * at most once server-wide. `org` scopes like the Registry's management methods (registry.ts): given,
 * only that organization's CAs exist; omitted, ids and fingerprints reach every organization and
 * names resolve in the default one.
 */
export interface PkiRegistry {
  /** Every registered CA (of `org`), revoked ones too (an enrollment under one is refused as ca-revoked). */
  listCas(org?: number): Promise<CaSummary[]>;
  /** The network (name or id) is looked up in `org` (names: else the default organization). */
  addCa(input: NewCa, org?: number): Promise<CaRecord>;
  /** By name (in `org`, else the default organization), id or fingerprint (in `org` when given). */
  findCa(ref: string, org?: number): Promise<CaRecord | undefined>;
  revokeCa(id: number): Promise<CaRecord>;
  markCaVerified(id: number): Promise<CaRecord>;
  /** Stores a CRL already checked against the CA; keeps the newest by thisUpdate. */
  putCrl(
    caId: number,
    crl: { der: Uint8Array; thisUpdate: number; nextUpdate: number | null; serials: readonly string[] },
  ): Promise<{ replaced: boolean; entries: number }>;
  /** Ordered by id (enrollment order); filtered, keyset-paged (`afterId`) and limited in the database. */
  listCertDevices(filter?: CertDeviceFilter): Promise<CertDevice[]>;
  getCertDeviceByIdentity(identity: Uint8Array): Promise<CertDevice | undefined>;
  revokeCertDevice(id: number): Promise<CertDevice>;
  setCertDeviceAllowRekey(id: number, allow: boolean): Promise<CertDevice>;
  withPkiTransaction<T>(fn: (tx: PkiRegistryTx) => Promise<T>): Promise<T>;
}
