// TPM response codes (TCG TPM 2.0 Library Part 2, 6.6 "TPM_RC") decoded into names, and TpmError,
// the tpm/ layer's subclass of ZtpError carrying the command and the code's name.
//
// Format zero (bit 7 clear, bit 8 "VER1" set): bits 0..6 error number, bit 10 vendor, bit 11 warning.
// Format one (bit 7 set): bits 0..5 error number; bit 6 set: parameter number in bits 8..11;
// else bit 11 set: session number in bits 8..10; else handle number in bits 8..10.
// A code below 0x100 with bit 7 clear is a TPM 1.2 code (or TPM_RC_SUCCESS).
import { ZtpError } from '../protocol/errors.ts';

const FMT0_ERRORS: Record<number, string> = {
  0x000: 'TPM_RC_INITIALIZE',
  0x001: 'TPM_RC_FAILURE',
  0x003: 'TPM_RC_SEQUENCE',
  0x00b: 'TPM_RC_PRIVATE',
  0x019: 'TPM_RC_HMAC',
  0x020: 'TPM_RC_DISABLED',
  0x021: 'TPM_RC_EXCLUSIVE',
  0x024: 'TPM_RC_AUTH_TYPE',
  0x025: 'TPM_RC_AUTH_MISSING',
  0x026: 'TPM_RC_POLICY',
  0x027: 'TPM_RC_PCR',
  0x028: 'TPM_RC_PCR_CHANGED',
  0x02d: 'TPM_RC_UPGRADE',
  0x02e: 'TPM_RC_TOO_MANY_CONTEXTS',
  0x02f: 'TPM_RC_AUTH_UNAVAILABLE',
  0x030: 'TPM_RC_REBOOT',
  0x031: 'TPM_RC_UNBALANCED',
  0x042: 'TPM_RC_COMMAND_SIZE',
  0x043: 'TPM_RC_COMMAND_CODE',
  0x044: 'TPM_RC_AUTHSIZE',
  0x045: 'TPM_RC_AUTH_CONTEXT',
  0x046: 'TPM_RC_NV_RANGE',
  0x047: 'TPM_RC_NV_SIZE',
  0x048: 'TPM_RC_NV_LOCKED',
  0x049: 'TPM_RC_NV_AUTHORIZATION',
  0x04a: 'TPM_RC_NV_UNINITIALIZED',
  0x04b: 'TPM_RC_NV_SPACE',
  0x04c: 'TPM_RC_NV_DEFINED',
  0x050: 'TPM_RC_BAD_CONTEXT',
  0x051: 'TPM_RC_CPHASH',
  0x052: 'TPM_RC_PARENT',
  0x053: 'TPM_RC_NEEDS_TEST',
  0x054: 'TPM_RC_NO_RESULT',
  0x055: 'TPM_RC_SENSITIVE',
};

const WARNINGS: Record<number, string> = {
  0x001: 'TPM_RC_CONTEXT_GAP',
  0x002: 'TPM_RC_OBJECT_MEMORY',
  0x003: 'TPM_RC_SESSION_MEMORY',
  0x004: 'TPM_RC_MEMORY',
  0x005: 'TPM_RC_SESSION_HANDLES',
  0x006: 'TPM_RC_OBJECT_HANDLES',
  0x007: 'TPM_RC_LOCALITY',
  0x008: 'TPM_RC_YIELDED',
  0x009: 'TPM_RC_CANCELED',
  0x00a: 'TPM_RC_TESTING',
  0x020: 'TPM_RC_NV_RATE',
  0x021: 'TPM_RC_LOCKOUT',
  0x022: 'TPM_RC_RETRY',
  0x023: 'TPM_RC_NV_UNAVAILABLE',
};
for (let i = 0; i < 7; i++) {
  WARNINGS[0x010 + i] = `TPM_RC_REFERENCE_H${i}`;
  WARNINGS[0x018 + i] = `TPM_RC_REFERENCE_S${i}`;
}

const FMT1_ERRORS: Record<number, string> = {
  0x001: 'TPM_RC_ASYMMETRIC',
  0x002: 'TPM_RC_ATTRIBUTES',
  0x003: 'TPM_RC_HASH',
  0x004: 'TPM_RC_VALUE',
  0x005: 'TPM_RC_HIERARCHY',
  0x007: 'TPM_RC_KEY_SIZE',
  0x008: 'TPM_RC_MGF',
  0x009: 'TPM_RC_MODE',
  0x00a: 'TPM_RC_TYPE',
  0x00b: 'TPM_RC_HANDLE',
  0x00c: 'TPM_RC_KDF',
  0x00d: 'TPM_RC_RANGE',
  0x00e: 'TPM_RC_AUTH_FAIL',
  0x00f: 'TPM_RC_NONCE',
  0x010: 'TPM_RC_PP',
  0x012: 'TPM_RC_SCHEME',
  0x015: 'TPM_RC_SIZE',
  0x016: 'TPM_RC_SYMMETRIC',
  0x017: 'TPM_RC_TAG',
  0x018: 'TPM_RC_SELECTOR',
  0x01a: 'TPM_RC_INSUFFICIENT',
  0x01b: 'TPM_RC_SIGNATURE',
  0x01c: 'TPM_RC_KEY',
  0x01d: 'TPM_RC_POLICY_FAIL',
  0x01f: 'TPM_RC_INTEGRITY',
  0x020: 'TPM_RC_TICKET',
  0x021: 'TPM_RC_RESERVED_BITS',
  0x022: 'TPM_RC_BAD_AUTH',
  0x023: 'TPM_RC_EXPIRED',
  0x024: 'TPM_RC_POLICY_CC',
  0x025: 'TPM_RC_BINDING',
  0x026: 'TPM_RC_CURVE',
  0x027: 'TPM_RC_ECC_POINT',
};

export const TPM_RC_SUCCESS = 0x000;
export const TPM_RC_HANDLE = 0x08b;
export const TPM_RC_VALUE = 0x084;
export const TPM_RC_NV_DEFINED = 0x14c;
export const TPM_RC_NV_SPACE = 0x14b;
export const TPM_RC_INITIALIZE = 0x100;
export const TPM_RC_YIELDED = 0x908;
export const TPM_RC_TESTING = 0x90a;
export const TPM_RC_LOCKOUT = 0x921;
export const TPM_RC_RETRY = 0x922;

export interface DecodedResponseCode {
  readonly rc: number;
  /** Spec name of the base code, e.g. TPM_RC_HANDLE, TPM_RC_RETRY. */
  readonly name: string;
  readonly format: 'success' | 'format-zero' | 'format-one' | 'tpm12' | 'vendor';
  readonly isWarning: boolean;
  /** Format one: which parameter (1..15), handle (1..7) or session (1..7) the code refers to. */
  readonly parameter?: number;
  readonly handle?: number;
  readonly session?: number;
}

export function decodeResponseCode(rc: number): DecodedResponseCode {
  const hex = `0x${rc.toString(16).padStart(3, '0')}`;
  if (rc === 0) return { rc, name: 'TPM_RC_SUCCESS', format: 'success', isWarning: false };
  if (rc & 0x080) {
    const n = rc & 0x03f;
    const name = FMT1_ERRORS[n] ?? `TPM_RC_FMT1_${hex}`;
    const num = (rc >>> 8) & 0xf;
    if (rc & 0x040) return { rc, name, format: 'format-one', isWarning: false, parameter: num };
    if (rc & 0x800) return { rc, name, format: 'format-one', isWarning: false, session: num & 0x7 };
    if (num === 0) return { rc, name, format: 'format-one', isWarning: false };
    return { rc, name, format: 'format-one', isWarning: false, handle: num & 0x7 };
  }
  if (!(rc & 0x100)) return { rc, name: `TPM12_RC_${hex}`, format: 'tpm12', isWarning: false };
  if (rc & 0x400) return { rc, name: `TPM_RC_VENDOR_${hex}`, format: 'vendor', isWarning: false };
  const n = rc & 0x07f;
  if (rc & 0x800) {
    return { rc, name: WARNINGS[n] ?? `TPM_RC_WARN_${hex}`, format: 'format-zero', isWarning: true };
  }
  return { rc, name: FMT0_ERRORS[n] ?? `TPM_RC_VER1_${hex}`, format: 'format-zero', isWarning: false };
}

/** "TPM_RC_VALUE (parameter 1)" style text for messages and logs. */
export function describeResponseCode(rc: number): string {
  const d = decodeResponseCode(rc);
  const where =
    d.parameter !== undefined
      ? ` (parameter ${d.parameter})`
      : d.handle !== undefined
        ? ` (handle ${d.handle})`
        : d.session !== undefined
          ? ` (session ${d.session})`
          : '';
  return `${d.name}${where} [0x${rc.toString(16).padStart(3, '0')}]`;
}

/** Stable codes of the tpm/ layer's errors; programs map them to exit codes. */
export const TPM_ERROR_CODES = [
  'TPM_RC',
  'TPM_TRANSPORT',
  'TPM_SPEC',
  'TPM_ECDAA',
  'TPM_NV_LAYOUT',
  'TPM_KEY',
  'TPM_SIGNATURE',
] as const;
export type TpmErrorCode = (typeof TPM_ERROR_CODES)[number];

/** Base of every error of the tpm/ layer: programs match it by class and code. */
export class TpmLayerError extends ZtpError {
  declare readonly code: TpmErrorCode;
  constructor(code: TpmErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The TPM answered a command with a non-success response code. `code` is 'TPM_RC' for every such
 * error; `rcName` is the spec name, `rc` the raw value, `command` the command's spec name.
 */
export class TpmError extends TpmLayerError {
  readonly command: string;
  readonly rc: number;
  readonly rcName: string;
  readonly decoded: DecodedResponseCode;
  constructor(command: string, rc: number, options?: { cause?: unknown }) {
    super('TPM_RC', `${command} failed: ${describeResponseCode(rc)}`, options);
    this.command = command;
    this.rc = rc;
    this.decoded = decodeResponseCode(rc);
    this.rcName = this.decoded.name;
  }

  /** Base code without the parameter/handle/session number: compare against TPM_RC_HANDLE etc. */
  get baseCode(): number {
    return this.rc & 0x080 ? 0x080 | (this.rc & 0x03f) : this.rc;
  }
}

/** The transport failed (device missing, connection refused, short read, size mismatch). */
export class TpmTransportError extends TpmLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TPM_TRANSPORT', message, options);
  }
}
