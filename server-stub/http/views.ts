// JSON representations of registry records for the management API (the shapes openapi.json
// describes): byte fields as lower-case hex (gid, pseudonym, keys) or base64 (GPK, basename),
// identities and prefixes as canonical IPv6 text (RFC 5952), times as ISO 8601 UTC strings,
// certificate fingerprints as lower-case hex SHA-256. The CLI's --json prints the same shapes.
import { toHex } from '../../protocol/util/bytes.ts';
import { formatIpv6, formatPrefix64 } from '../registry/ipv6.ts';
import type { OperatorAuditEntry } from '../registry/operator-audit.ts';
import type { CaRecord, CaSummary, CertDevice } from '../registry/pki-registry.ts';
import type { AuditEntry, Batch, BatchSummary, Device, Network, Organization } from '../registry/registry.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** An organization (tenant). */
export function organizationView(o: Organization) {
  return { id: o.id, name: o.name, createdAt: iso(o.createdAt) };
}

export function networkView(n: Network) {
  return { id: n.id, name: n.name, prefix: formatPrefix64(n.prefix), createdAt: iso(n.createdAt) };
}

export function batchView(b: Batch | BatchSummary, networks: ReadonlyMap<number, Network>) {
  const summary = 'devices' in b ? b : undefined;
  return {
    gid: toHex(b.gid),
    name: b.name,
    basename: b64(b.basename),
    gpk: b64(b.gpk),
    network: b.networkId === null ? null : (networks.get(b.networkId)?.name ?? String(b.networkId)),
    status: b.status,
    createdAt: iso(b.createdAt),
    counts: {
      issued: b.size,
      provisioned: summary?.devices ?? null,
      revoked: summary?.revokedDevices ?? null,
    },
  };
}

export function deviceView(d: Device, batchNames: ReadonlyMap<string, string>) {
  const gid = toHex(d.gid);
  return {
    kind: 'daa' as const,
    id: toHex(d.identity),
    identity: formatIpv6(d.identity),
    batch: batchNames.get(gid) ?? gid,
    gid,
    pseudonym: toHex(d.pseudonym),
    longtermPublicKey: toHex(d.longtermPublicKey),
    status: d.status,
    allowRekey: d.allowRekey,
    firstHandshakeAt: iso(d.firstHandshakeAt),
    lastHandshakeAt: iso(d.lastHandshakeAt),
    handshakeCount: d.handshakeCount,
    lastSource: d.lastSource,
  };
}

export function auditView(e: AuditEntry) {
  return {
    id: e.id,
    at: iso(e.at),
    sourceAddress: e.sourceAddress,
    sourcePort: e.sourcePort,
    gid: e.gid ? toHex(e.gid) : null,
    pseudonym: e.pseudonym ? toHex(e.pseudonym) : null,
    suite: e.suite,
    outcome: e.outcome,
    reason: e.reason,
    geolocation: e.geolocation,
    identity: e.identity ? formatIpv6(e.identity) : null,
    method: e.pki ? ('pki' as const) : ('xtt' as const),
    pki: e.pki ?? null,
  };
}

/** Where a device has been seen from: distinct source addresses of its audited handshakes. */
export function sourcesView(history: readonly AuditEntry[]) {
  const byAddress = new Map<
    string,
    { address: string; lastSeenAt: number; count: number; geolocation: string | null }
  >();
  for (const e of history) {
    const s = byAddress.get(e.sourceAddress);
    if (!s) {
      byAddress.set(e.sourceAddress, {
        address: e.sourceAddress,
        lastSeenAt: e.at,
        count: 1,
        geolocation: e.geolocation,
      });
    } else {
      s.count++;
      if (e.at > s.lastSeenAt) {
        s.lastSeenAt = e.at;
        s.geolocation = e.geolocation ?? s.geolocation;
      }
    }
  }
  return [...byAddress.values()]
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
    .map((s) => ({ ...s, lastSeenAt: iso(s.lastSeenAt) }));
}

/** A registered CA (enrollment group of the PKI option); with its counts when listed. */
export function caView(c: CaRecord | CaSummary) {
  return {
    id: c.id,
    name: c.name,
    fingerprint: c.fingerprint,
    subject: c.subject,
    notBefore: iso(c.notBefore),
    notAfter: iso(c.notAfter),
    networkId: c.networkId,
    maxDevices: c.maxDevices,
    status: c.status,
    verified: c.isVerified,
    createdAt: iso(c.createdAt),
    ...('devices' in c
      ? {
          devices: c.devices,
          revokedDevices: c.revokedDevices,
          crlEntries: c.crlEntries,
          crlThisUpdate: c.crlThisUpdate === null ? null : iso(c.crlThisUpdate),
        }
      : {}),
  };
}

/** A certificate device with the facts of the certificate it last enrolled with. */
export function certDeviceView(d: CertDevice) {
  return {
    identity: formatIpv6(d.identity),
    caId: d.caId,
    networkId: d.networkId,
    subject: d.subject,
    issuer: d.issuer,
    serial: d.serial,
    fingerprint: d.fingerprint,
    keyFingerprint: d.keyFingerprint,
    notBefore: iso(d.notBefore),
    notAfter: iso(d.notAfter),
    method: d.method,
    status: d.status,
    allowRekey: d.allowRekey,
    firstEnrolledAt: iso(d.firstEnrolledAt),
    lastEnrolledAt: iso(d.lastEnrolledAt),
    enrollCount: d.enrollCount,
    lastSource: d.lastSource,
  };
}

/**
 * A certificate device in the device list beside DAA devices: the fields both kinds share (times
 * named as for handshakes: an enrollment is the PKI option's handshake) and the certificate.
 */
export function certDeviceListView(d: CertDevice, caNames: ReadonlyMap<number, string>) {
  return {
    kind: 'certificate' as const,
    id: toHex(d.identity),
    identity: formatIpv6(d.identity),
    ca: caNames.get(d.caId) ?? String(d.caId),
    status: d.status,
    allowRekey: d.allowRekey,
    firstHandshakeAt: iso(d.firstEnrolledAt),
    lastHandshakeAt: iso(d.lastEnrolledAt),
    handshakeCount: d.enrollCount,
    lastSource: d.lastSource,
    certificate: certDeviceView(d),
  };
}

/** An operator action (who changed what, on which object, from where). */
export function operatorAuditView(e: OperatorAuditEntry) {
  return {
    id: e.id,
    at: iso(e.at),
    organizationId: e.organizationId,
    actor: e.actor,
    action: e.action,
    objectType: e.objectType,
    objectId: e.objectId,
    objectName: e.objectName,
    source: e.source,
    detail: e.detail,
  };
}
