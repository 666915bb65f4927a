// Input validation for the registry: strict validation of every input with clear errors naming
// the field. Every backend calls these before touching storage, so bad input never changes
// stored state. Sizes follow the xtt 0.12 / ecdaa 1.0 wire forms.
import { isIP } from 'node:net';
import { ValidationError } from './errors.ts';
import {
  AUDIT_OUTCOMES,
  DEVICE_STATUSES,
  type AuditFilter,
  type AuditInput,
  type DeviceFilter,
  type NewBatch,
  type NewDevice,
} from './registry.ts';
import type { CertDeviceFilter } from './pki-registry.ts';

export const GID_LENGTH = 32;
/** ECDAA FP256BN group public key X | Y: two G2 points of 129 bytes (0x04 | 4 x 32). */
export const GPK_LENGTH = 258;
/** DAA pseudonym (the signature's K point): 0x04 | x | y on FP256BN G1. */
export const PSEUDONYM_LENGTH = 65;
/** XTT 0.12 (reference) long-term keys are P-256 public keys, uncompressed: 0x04 | x | y. */
export const LONGTERM_KEY_LENGTH = 65;
export const IDENTITY_LENGTH = 16;
export const MAX_BASENAME_LENGTH = 256;
export const MAX_BATCH_SIZE = 100_000_000;
export const MAX_AUDIT_LIMIT = 10_000;
/** The most devices one list call returns when it is limited (a page asks one more than its size). */
export const MAX_DEVICE_LIMIT = 10_000;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: unknown, field: string): string {
  if (typeof name !== 'string') throw new ValidationError(field, 'not a string');
  if (!NAME_RE.test(name)) {
    throw new ValidationError(
      field,
      'must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter/digit',
    );
  }
  if (/^[0-9]+$/.test(name)) throw new ValidationError(field, 'must not be all digits (reserved for ids)');
  return name;
}

export function checkBytes(b: unknown, field: string, length: number): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new ValidationError(field, 'not bytes');
  if (b.length !== length) throw new ValidationError(field, `must be ${length} bytes, got ${b.length}`);
  return b;
}

export function checkBytesRange(b: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new ValidationError(field, 'not bytes');
  if (b.length < min || b.length > max) {
    throw new ValidationError(field, `must be ${min}..${max} bytes, got ${b.length}`);
  }
  return b;
}

export function checkInt(n: unknown, field: string, min: number, max: number): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ValidationError(field, 'not an integer');
  if (n < min || n > max) throw new ValidationError(field, `must be in ${min}..${max}, got ${n}`);
  return n;
}

export function checkPseudonym(p: unknown, field = 'pseudonym'): Uint8Array {
  const b = checkBytes(p, field, PSEUDONYM_LENGTH);
  if (b[0] !== 0x04) throw new ValidationError(field, 'not an uncompressed point (first byte 0x04)');
  return b;
}

export function checkLongtermKey(k: unknown, field: string): Uint8Array {
  const b = checkBytes(k, field, LONGTERM_KEY_LENGTH);
  if (b[0] !== 0x04) throw new ValidationError(field, 'not an uncompressed P-256 point (first byte 0x04)');
  return b;
}

export function checkGid(g: unknown, field = 'gid'): Uint8Array {
  return checkBytes(g, field, GID_LENGTH);
}

export function checkNetworkRef(ref: unknown, field: string): string | number {
  if (typeof ref === 'number') return checkInt(ref, field, 1, Number.MAX_SAFE_INTEGER);
  if (typeof ref === 'string') return checkName(ref, field);
  throw new ValidationError(field, 'not a network name or id');
}

export function checkNewBatch(b: NewBatch): void {
  if (typeof b !== 'object' || b === null) throw new ValidationError('batch', 'not an object');
  const gpk = checkBytes(b.gpk, 'batch.gpk', GPK_LENGTH);
  if (gpk[0] !== 0x04 || gpk[129] !== 0x04) {
    throw new ValidationError('batch.gpk', 'X and Y must be uncompressed G2 points (0x04 prefix)');
  }
  checkBytesRange(b.basename, 'batch.basename', 1, MAX_BASENAME_LENGTH);
  checkName(b.name, 'batch.name');
  if (b.network !== undefined) checkNetworkRef(b.network, 'batch.network');
  checkInt(b.size, 'batch.size', 1, MAX_BATCH_SIZE);
}

export function checkNewDevice(d: NewDevice): void {
  checkGid(d.gid, 'device.gid');
  checkPseudonym(d.pseudonym, 'device.pseudonym');
  checkBytes(d.identity, 'device.identity', IDENTITY_LENGTH);
  checkLongtermKey(d.longtermPublicKey, 'device.longtermPublicKey');
  checkSource(d.source, 'device.source');
}

export function checkSource(s: unknown, field: string): string {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64 || !/^[0-9A-Za-z:.% -]+$/.test(s)) {
    throw new ValidationError(field, 'not an "address port" source string');
  }
  return s;
}

/** Reasons are short stable codes, so they can be filtered and never carry bytes. */
export function checkReason(r: unknown, field: string): string {
  if (typeof r !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(r)) {
    throw new ValidationError(field, 'must be a short lower-case code (a-z 0-9 -)');
  }
  return r;
}

export function checkAuditInput(e: AuditInput): void {
  if (typeof e !== 'object' || e === null) throw new ValidationError('audit', 'not an object');
  if (typeof e.sourceAddress !== 'string' || isIP(e.sourceAddress) === 0) {
    throw new ValidationError('audit.sourceAddress', 'not an IP address');
  }
  checkInt(e.sourcePort, 'audit.sourcePort', 0, 65535);
  if (e.gid !== null) checkGid(e.gid, 'audit.gid');
  if (e.pseudonym !== null) checkPseudonym(e.pseudonym, 'audit.pseudonym');
  if (e.suite !== null) checkInt(e.suite, 'audit.suite', 0, 0xffff);
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(e.outcome)) {
    throw new ValidationError('audit.outcome', `must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  }
  checkReason(e.reason, 'audit.reason');
  if (e.geolocation !== null && (typeof e.geolocation !== 'string' || e.geolocation.length > 128)) {
    throw new ValidationError('audit.geolocation', 'must be a string of at most 128 characters');
  }
  if (e.identity !== null) checkBytes(e.identity, 'audit.identity', IDENTITY_LENGTH);
  if (e.outcome === 'provisioned' && e.identity === null) {
    throw new ValidationError('audit.identity', 'required when the outcome is provisioned');
  }
}

export function checkDeviceFilter(f: DeviceFilter): void {
  if (f.gid !== undefined) checkGid(f.gid, 'filter.gid');
  if (f.status !== undefined && !(DEVICE_STATUSES as readonly string[]).includes(f.status)) {
    throw new ValidationError('filter.status', `must be one of ${DEVICE_STATUSES.join(', ')}`);
  }
  checkTimeFilter(f);
  if (f.after !== undefined) {
    checkInt(f.after.firstHandshakeAt, 'filter.after.firstHandshakeAt', 0, Number.MAX_SAFE_INTEGER);
    checkBytes(f.after.identity, 'filter.after.identity', IDENTITY_LENGTH);
  }
  if (f.limit !== undefined) checkInt(f.limit, 'filter.limit', 1, MAX_DEVICE_LIMIT);
}

export function checkCertDeviceFilter(f: CertDeviceFilter): CertDeviceFilter {
  const id = (v: unknown, field: string) => checkInt(v, field, 1, Number.MAX_SAFE_INTEGER);
  if (f.caId !== undefined) id(f.caId, 'filter.caId');
  if (f.status !== undefined && !(DEVICE_STATUSES as readonly string[]).includes(f.status)) {
    throw new ValidationError('filter.status', `must be one of ${DEVICE_STATUSES.join(', ')}`);
  }
  if (f.organizationId !== undefined) id(f.organizationId, 'filter.organizationId');
  checkTimeFilter(f);
  if (f.afterId !== undefined) id(f.afterId, 'filter.afterId');
  if (f.limit !== undefined) checkInt(f.limit, 'filter.limit', 1, MAX_DEVICE_LIMIT);
  return f;
}

/** The device lists' time bounds (DAA and certificate devices alike), each a time in ms. */
export function checkTimeFilter(f: { firstSince?: number; firstUntil?: number; lastSince?: number }): void {
  for (const k of ['firstSince', 'firstUntil', 'lastSince'] as const) {
    if (f[k] !== undefined) checkInt(f[k], `filter.${k}`, 0, Number.MAX_SAFE_INTEGER);
  }
}

/** Audit filters: a page of the management API asks one more than MAX_AUDIT_LIMIT to see if more follow. */
export function checkAuditFilter(f: AuditFilter): void {
  if (f.since !== undefined) checkInt(f.since, 'filter.since', 0, Number.MAX_SAFE_INTEGER);
  if (f.gid !== undefined) checkGid(f.gid, 'filter.gid');
  if (f.outcome !== undefined && !(AUDIT_OUTCOMES as readonly string[]).includes(f.outcome)) {
    throw new ValidationError('filter.outcome', `must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  }
  if (f.limit !== undefined) checkInt(f.limit, 'filter.limit', 1, MAX_AUDIT_LIMIT + 1);
  if (f.until !== undefined) checkInt(f.until, 'filter.until', 0, Number.MAX_SAFE_INTEGER);
  if (f.pseudonym !== undefined) checkPseudonym(f.pseudonym, 'filter.pseudonym');
  if (f.beforeId !== undefined) checkInt(f.beforeId, 'filter.beforeId', 1, Number.MAX_SAFE_INTEGER);
  if (f.identity !== undefined) checkBytes(f.identity, 'filter.identity', 16);
  if (f.method !== undefined && f.method !== 'xtt' && f.method !== 'pki') {
    throw new ValidationError('filter.method', 'must be xtt or pki');
  }
}
