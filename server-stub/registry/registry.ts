// The ENF server's registry port: networks, batches, devices and the append-only audit. Every method
// is async so a networked backend fits; the rules are written once (sql-registry.ts) over SQLite, the
// embedded default (sqlite-registry.ts), or PostgreSQL shared by several servers (postgres-registry.ts). Records carry public values only: GPKs, basenames,
// DAA pseudonyms, long-term public keys and identities. No secret ever reaches the registry.
import type { OperatorAudit, OperatorAuditEntry, OperatorAuditInput } from './operator-audit.ts';
import type { AccountRegistry } from './account-registry.ts';
import type { OverviewStats } from './overview.ts';
import type { PkiRegistry } from './pki-registry.ts';

/** Wall clock in milliseconds since the epoch; tests inject a fixed one. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export const BATCH_STATUSES = ['active', 'revoked'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const DEVICE_STATUSES = ['active', 'revoked'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];
/** provisioned: identity handed out; refused: a policy said no; failed: the handshake broke first. */
export const AUDIT_OUTCOMES = ['provisioned', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A tenant: networks, batches, their devices and their audit belong to exactly one. */
export interface Organization {
  id: number;
  name: string;
  createdAt: number;
}

export interface Network {
  id: number;
  organizationId: number;
  name: string;
  /** The first 8 bytes of the network's IPv6 /64 prefix. */
  prefix: Uint8Array;
  createdAt: number;
}

export interface NewBatch {
  /** ECDAA group public key X | Y on FP256BN (258 bytes, the xtt/ecdaa wire form). */
  gpk: Uint8Array;
  /** The basename the batch's devices sign over (1..256 bytes). */
  basename: Uint8Array;
  name: string;
  /** Network name or id; a batch without a network is stored but refused at the handshake. */
  network?: string | number;
  /** Issued size: the most distinct devices the batch may ever register (the quota). */
  size: number;
}

export interface Batch {
  /** Group id: SHA-256(gpk || basename), as xtt 0.12 computes it. */
  gid: Uint8Array;
  /** The owning organization; a gid belongs to at most one. */
  organizationId: number;
  gpk: Uint8Array;
  basename: Uint8Array;
  name: string;
  networkId: number | null;
  size: number;
  status: BatchStatus;
  createdAt: number;
}

/** A batch with its device counts, for listings. */
export interface BatchSummary extends Batch {
  devices: number;
  revokedDevices: number;
}

export interface Device {
  gid: Uint8Array;
  /** DAA pseudonym: the uncompressed G1 point 0x04 | x | y (65 bytes). */
  pseudonym: Uint8Array;
  /** The 16-byte identity, an IPv6 address inside the batch's network /64. */
  identity: Uint8Array;
  /** The device's XTT long-term public key (P-256, 0x04 | x | y, 65 bytes). */
  longtermPublicKey: Uint8Array;
  status: DeviceStatus;
  allowRekey: boolean;
  firstHandshakeAt: number;
  lastHandshakeAt: number;
  handshakeCount: number;
  /** "address port" of the last successful handshake, or null. */
  lastSource: string | null;
}

export interface NewDevice {
  gid: Uint8Array;
  pseudonym: Uint8Array;
  identity: Uint8Array;
  longtermPublicKey: Uint8Array;
  source: string;
}

export interface AuditInput {
  sourceAddress: string;
  sourcePort: number;
  gid: Uint8Array | null;
  pseudonym: Uint8Array | null;
  suite: number | null;
  outcome: AuditOutcome;
  /** A short stable reason code (see policy/identity-policy.ts REFUSAL_REASONS), never secret bytes. */
  reason: string;
  geolocation: string | null;
  /** The identity handed out, when outcome is provisioned. */
  identity: Uint8Array | null;
}

export interface AuditEntry extends AuditInput {
  id: number;
  at: number;
  /** PKI enrollment facts (CA, leaf certificate, key), present on PKI rows only. */
  pki?: PkiAuditFacts;
}

export interface PkiAuditFacts {
  caId: number | null;
  subject: string | null;
  serial: string | null;
  fingerprint: string | null;
  keyFingerprint: string | null;
}

export interface DeviceFilter {
  gid?: Uint8Array;
  status?: DeviceStatus;
  /** First handshake at or after this time (ms). */
  firstSince?: number;
  /** First handshake before this time (ms). */
  firstUntil?: number;
  /** Last handshake at or after this time (ms). */
  lastSince?: number;
  /** Keyset paging: only devices after this key in the list's order (first handshake, identity). */
  after?: DeviceKey;
  /** At most this many (1 to MAX_DEVICE_LIMIT); all without. */
  limit?: number;
}

/** Where a device stands in the device list's order: first handshake time, then identity bytes. */
export interface DeviceKey {
  firstHandshakeAt: number;
  identity: Uint8Array;
}

export interface AuditFilter {
  /** Entries at or after this time (ms). */
  since?: number;
  /** Entries before this time (ms). */
  until?: number;
  gid?: Uint8Array;
  pseudonym?: Uint8Array;
  outcome?: AuditOutcome;
  /** Only entries that handed out (or re-applied) this identity. */
  identity?: Uint8Array;
  /** Only XTT handshakes or only PKI enrollments. */
  method?: 'xtt' | 'pki';
  /** Only entries with id below this: the cursor of the next page (the previous page's last id). */
  beforeId?: number;
  /**
   * Most recent first; default 100, at most MAX_AUDIT_LIMIT + 1 (validate.ts: a caller paging asks
   * one more than a page to learn whether another follows).
   */
  limit?: number;
}

/**
 * Operations available inside one exclusive write transaction (Registry.withTransaction). They see
 * and change the transaction's state only; nothing is visible to others before commit.
 */
export interface RegistryTx {
  getBatch(gid: Uint8Array): Promise<Batch | undefined>;
  getNetwork(id: number): Promise<Network | undefined>;
  getDevice(gid: Uint8Array, pseudonym: Uint8Array): Promise<Device | undefined>;
  /** Number of distinct devices ever registered in the batch (revoked ones included). */
  countDevices(gid: Uint8Array): Promise<number>;
  /** The device holding this identity, if any. */
  findByIdentity(identity: Uint8Array): Promise<Device | undefined>;
  insertDevice(device: NewDevice): Promise<Device>;
  /** Record a successful handshake: bump count, last time and source. */
  touchDevice(gid: Uint8Array, pseudonym: Uint8Array, source: string): Promise<void>;
  /** Replace the long-term key of a device allowed to re-key, and clear the allowance. */
  rekeyDevice(gid: Uint8Array, pseudonym: Uint8Array, longtermPublicKey: Uint8Array): Promise<void>;
  appendAudit(entry: AuditInput): Promise<AuditEntry>;
}

/**
 * The registry port. Management methods take an optional last argument `org`, an organization id:
 * given, the method sees only that organization's objects (another's look absent: undefined or
 * NOT_FOUND, never a different error), resolves names inside it and creates objects in it. Omitted
 * (the handshake path, the CLI, a server-wide token), ids and gids reach every organization, lists
 * span them all, and names resolve in, and new objects go to, the default organization.
 */
export interface Registry {
  /** Enrollment by the customer's CA: CAs, CRLs, certificate devices (pki-registry.ts). */
  readonly pki: PkiRegistry;
  /** What operators changed, through the API, the dashboard or the CLI (operator-audit.ts). */
  readonly operatorAudit: OperatorAudit;
  /** Users, their sessions and named API tokens (account-registry.ts). */
  readonly accounts: AccountRegistry;
  /** Aggregates for the dashboard's overview (overview.ts). */
  readonly overview: OverviewStats;
  addOrganization(input: { name: string }): Promise<Organization>;
  listOrganizations(): Promise<Organization[]>;
  /** By name or numeric id. */
  getOrganization(ref: string | number): Promise<Organization | undefined>;

  addNetwork(input: { name: string; prefix: string }, org?: number): Promise<Network>;
  listNetworks(org?: number): Promise<Network[]>;
  /** By name or numeric id. */
  getNetwork(ref: string | number, org?: number): Promise<Network | undefined>;
  /** Delete a network no batch refers to; RegistryError NOT_FOUND if missing, CONFLICT if in use. */
  deleteNetwork(ref: string | number, org?: number): Promise<Network>;

  /** In `org`, else in the network's organization, else in the default one. */
  addBatch(input: NewBatch, org?: number): Promise<Batch>;
  getBatch(gid: Uint8Array, org?: number): Promise<Batch | undefined>;
  /** By name or by hex gid. */
  findBatch(ref: string, org?: number): Promise<Batch | undefined>;
  listBatches(org?: number): Promise<BatchSummary[]>;
  /** The network is looked up in the batch's organization. */
  setBatchNetwork(gid: Uint8Array, network: string | number, org?: number): Promise<Batch>;
  revokeBatch(gid: Uint8Array, org?: number): Promise<Batch>;

  getDevice(gid: Uint8Array, pseudonym: Uint8Array, org?: number): Promise<Device | undefined>;
  getDeviceByIdentity(identity: Uint8Array, org?: number): Promise<Device | undefined>;
  /**
   * Ordered by first handshake, then identity (bytewise); filtered, keyset-paged (`after`) and
   * limited in the database. With `org`, only the devices of its batches.
   */
  listDevices(filter?: DeviceFilter, org?: number): Promise<Device[]>;
  revokeDevice(gid: Uint8Array, pseudonym: Uint8Array, org?: number): Promise<Device>;
  setAllowRekey(gid: Uint8Array, pseudonym: Uint8Array, allow: boolean, org?: number): Promise<Device>;

  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /**
   * Newest first, filtered, at most `limit`; no window: any page is reachable by cursor. With `org`,
   * only the entries of its batches and of its networks' CAs (a handshake that never named a known
   * batch belongs to no organization and shows only unscoped).
   */
  queryAudit(filter?: AuditFilter, org?: number): Promise<AuditEntry[]>;

  /**
   * A state change and its operator-audit entry in one write transaction: runs `change` (calls of
   * this registry's management methods, its `pki` and `accounts`; nothing else that waits), builds
   * the entry from its result with `describe` (which may read the registry, inside the transaction),
   * appends it, and commits both, or neither. A change that throws (NOT_FOUND, CONFLICT, VALIDATION)
   * rolls back and records nothing; an append that fails rolls the change back and throws STORAGE
   * with field `operatorAudit` ("the change was not made"). Returns the change's result and the entry.
   */
  withOperatorAudit<T>(
    change: () => Promise<T>,
    describe: (result: T) => OperatorAuditInput | Promise<OperatorAuditInput>,
  ): Promise<{ result: T; entry: OperatorAuditEntry }>;

  /**
   * Run `fn` in one exclusive write transaction (SQLite: BEGIN IMMEDIATE). Commits when `fn`
   * resolves, rolls back when it throws. `fn` must only await `tx` methods, never other I/O.
   */
  withTransaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
