// Preflight: before any provisioning, one readable report on whether a TPM can do this job, so
// "works on the simulator, fails on the chip" shows up at the factory station and not in the field.
// Everything comes from TPM2_GetCapability (Part 3, 30.2) and NV_ReadPublic/ReadPublic: TPM 2.0
// family, manufacturer and firmware (TPM_PT_MANUFACTURER, TPM_PT_VENDOR_STRING_*, TPM_PT_FIRMWARE_*),
// ECDAA / ECDSA / SHA-256 and the BN_P256 / NIST_P256 curves, TPM2_Commit among the commands, NV
// room and free persistent handles, and the dictionary-attack state (TPM_PT_LOCKOUT_COUNTER,
// TPMA_PERMANENT.inLockout). The spec has no "free NV bytes" property: the report gives the index
// count, the largest index size, whether each reference index is free or already holds an object of
// this layout, and on request (probeNv) defines and removes a scratch index to prove there is room.
// The result is a plain JSON-able object.
import { getCapability } from './commands/get-capability.ts';
import {
  TPM_ALG,
  TPM_CAP_ALGS,
  TPM_CAP_COMMANDS,
  TPM_CAP_ECC_CURVES,
  TPM_CAP_HANDLES,
  TPM_CAP_TPM_PROPERTIES,
  TPM_CC,
  TPM_ECC,
  TPM_PT,
  TPM_SPEC_FAMILY_2_0,
  TPMA_PERMANENT_inLockout,
  TPM_RH_OWNER,
  TPMA_NV,
} from './constants.ts';
import { nvDefineSpace } from './commands/nv-define-space.ts';
import { nvUndefineSpace } from './commands/nv-undefine-space.ts';
import { TpmError } from './errors.ts';
import { tryNvReadPublic, tryReadPublic } from './handles.ts';
import { NV_ATTRIBUTES, NV_INDEX, XTPM_ECDAA_KEY_HANDLE, XTPM_SRK_HANDLE } from './nv-layout.ts';
import type { CapabilityData } from './marshal-results.ts';
import type { Tpm } from './tpm.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface PreflightCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly reason: string;
}

export interface PreflightReport {
  readonly verdict: CheckStatus;
  readonly summary: string;
  readonly tpm: {
    readonly family: string;
    readonly manufacturer: string;
    readonly vendor: string;
    readonly firmwareVersion: string;
    readonly specLevel: number;
    readonly specRevision: string;
  };
  readonly nv: {
    readonly definedIndices: number;
    readonly maxIndexSize: number;
    readonly bufferMax: number;
    readonly referenceIndices: Record<string, 'free' | 'reference-layout' | 'other'>;
    /** Result of the optional space probe (null when not asked for). */
    readonly probe: { readonly bytes: number; readonly ok: boolean; readonly reason: string } | null;
  };
  readonly persistent: {
    readonly used: number;
    readonly available: number;
    readonly ecdaaKeyPresent: boolean;
    readonly srkPresent: boolean;
  };
  readonly lockout: {
    readonly counter: number;
    readonly maxTries: number;
    readonly recoveryTime: number;
    readonly lockoutRecovery: number;
    readonly inLockout: boolean;
  };
  readonly checks: readonly PreflightCheck[];
}

/** The largest object of the reference layout (the credential, 260 bytes). */
const LARGEST_OBJECT = 260;

async function properties(tpm: Tpm, first: number, count: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = first;
  for (;;) {
    const res = await tpm.run(getCapability(TPM_CAP_TPM_PROPERTIES, next, count));
    if (res.data.capability !== TPM_CAP_TPM_PROPERTIES) break;
    for (const p of res.data.properties) out.set(p.property, p.value);
    const last = res.data.properties.at(-1);
    if (!res.moreData || !last || last.property >= first + count - 1) break;
    next = last.property + 1;
  }
  return out;
}

/** A capability list (algorithms, curves, commands, handles) as numbers, following moreData. */
async function capList(
  tpm: Tpm,
  cap: number,
  first: number,
  extract: (d: CapabilityData) => number[],
): Promise<number[]> {
  const out: number[] = [];
  let next = first;
  for (let i = 0; i < 64; i++) {
    const res = await tpm.run(getCapability(cap, next, 256));
    const items = extract(res.data);
    out.push(...items);
    const last = items.at(-1);
    if (!res.moreData || last === undefined) break;
    next = last + 1;
  }
  return out;
}

const algIds = (d: CapabilityData): number[] => ('algs' in d ? d.algs.map((a) => a.alg) : []);
const curveIds = (d: CapabilityData): number[] => ('curves' in d ? d.curves : []);
// TPMA_CC: commandIndex in bits 0..15 (Part 2, 8.9).
const commandIndices = (d: CapabilityData): number[] =>
  'commands' in d ? d.commands.map((c) => c & 0xffff) : [];
const handleList = (d: CapabilityData): number[] => ('handles' in d ? d.handles : []);

function ascii(...words: (number | undefined)[]): string {
  let s = '';
  for (const w of words) {
    if (w === undefined) continue;
    for (const sh of [24, 16, 8, 0]) {
      const c = (w >>> sh) & 0xff;
      if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    }
  }
  return s.trim();
}

/** Scratch index for the optional NV space probe (owner range, defined and removed at once). */
export const PREFLIGHT_PROBE_INDEX = 0x013ffff0;
/** Headroom the probe asks for: the four objects the client reads fit in about 610 bytes. */
export const PREFLIGHT_PROBE_BYTES = 1024;

export interface PreflightOptions {
  /**
   * Define and undefine a scratch NV index of PREFLIGHT_PROBE_BYTES to prove there is room: the spec
   * has no "free NV bytes" property, and a full NV is a classic chip-only failure. Writes NV once;
   * off by default so that the plain report is read-only.
   */
  readonly probeNv?: boolean;
}

async function probeNvSpace(
  tpm: Tpm,
  bytes: number,
): Promise<{ bytes: number; ok: boolean; reason: string }> {
  if (await tryNvReadPublic(tpm, PREFLIGHT_PROBE_INDEX)) {
    return {
      bytes,
      ok: false,
      reason: `probe index 0x${PREFLIGHT_PROBE_INDEX.toString(16)} is already defined`,
    };
  }
  const pub = {
    nvIndex: PREFLIGHT_PROBE_INDEX,
    nameAlg: TPM_ALG.TPM_ALG_SHA256,
    attributes: TPMA_NV.TPMA_NV_OWNERWRITE | TPMA_NV.TPMA_NV_OWNERREAD | TPMA_NV.TPMA_NV_NO_DA,
    authPolicy: new Uint8Array(0),
    dataSize: bytes,
  };
  try {
    await tpm.run(nvDefineSpace(TPM_RH_OWNER, new Uint8Array(0), pub));
  } catch (e) {
    if (e instanceof TpmError)
      return { bytes, ok: false, reason: `defining ${bytes} bytes failed: ${e.rcName}` };
    throw e;
  }
  await tpm.run(nvUndefineSpace(TPM_RH_OWNER, PREFLIGHT_PROBE_INDEX));
  return { bytes, ok: true, reason: `a ${bytes}-byte probe index was defined and removed` };
}

export async function runPreflight(tpm: Tpm, opts: PreflightOptions = {}): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  const check = (name: string, ok: boolean | 'warn', reason: string): void => {
    checks.push({ name, status: ok === 'warn' ? 'warn' : ok ? 'pass' : 'fail', reason });
  };

  const fixed = await properties(tpm, 0x100, 0x30);
  const variable = await properties(tpm, 0x200, 0x20);
  const family = fixed.get(TPM_PT.TPM_PT_FAMILY_INDICATOR) ?? 0;
  const fw1 = fixed.get(TPM_PT.TPM_PT_FIRMWARE_VERSION_1) ?? 0;
  const fw2 = fixed.get(TPM_PT.TPM_PT_FIRMWARE_VERSION_2) ?? 0;
  const info = {
    family: ascii(family),
    manufacturer: ascii(fixed.get(TPM_PT.TPM_PT_MANUFACTURER)),
    vendor: ascii(
      fixed.get(TPM_PT.TPM_PT_VENDOR_STRING_1),
      fixed.get(TPM_PT.TPM_PT_VENDOR_STRING_2),
      fixed.get(TPM_PT.TPM_PT_VENDOR_STRING_3),
      fixed.get(TPM_PT.TPM_PT_VENDOR_STRING_4),
    ),
    firmwareVersion: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
    specLevel: fixed.get(TPM_PT.TPM_PT_LEVEL) ?? 0,
    specRevision: ((fixed.get(TPM_PT.TPM_PT_REVISION) ?? 0) / 100).toFixed(2),
  };
  check('tpm-2.0', family === TPM_SPEC_FAMILY_2_0, `TPM_PT_FAMILY_INDICATOR is "${info.family}"`);

  const algs = new Set(await capList(tpm, TPM_CAP_ALGS, 0, algIds));
  const curves = new Set(await capList(tpm, TPM_CAP_ECC_CURVES, 0, curveIds));
  const commands = new Set(await capList(tpm, TPM_CAP_COMMANDS, 0, commandIndices));
  for (const [name, alg] of [
    ['ECDAA', TPM_ALG.TPM_ALG_ECDAA],
    ['ECDSA', TPM_ALG.TPM_ALG_ECDSA],
    ['SHA256', TPM_ALG.TPM_ALG_SHA256],
    ['ECC', TPM_ALG.TPM_ALG_ECC],
  ] as const) {
    check(
      `alg-${name}`,
      algs.has(alg),
      algs.has(alg) ? `TPM_ALG_${name} supported` : `TPM_ALG_${name} missing`,
    );
  }
  check(
    'curve-BN_P256',
    curves.has(TPM_ECC.TPM_ECC_BN_P256),
    curves.has(TPM_ECC.TPM_ECC_BN_P256)
      ? 'TPM_ECC_BN_P256 supported (ECDAA key)'
      : 'TPM_ECC_BN_P256 missing: no ECDAA key possible',
  );
  check(
    'curve-NIST_P256',
    curves.has(TPM_ECC.TPM_ECC_NIST_P256),
    curves.has(TPM_ECC.TPM_ECC_NIST_P256)
      ? 'TPM_ECC_NIST_P256 supported (SRK, long-term key)'
      : 'TPM_ECC_NIST_P256 missing',
  );
  const needed = [
    'TPM_CC_Commit',
    'TPM_CC_Sign',
    'TPM_CC_CreatePrimary',
    'TPM_CC_EvictControl',
    'TPM_CC_NV_DefineSpace',
  ] as const;
  const missingCc = needed.filter((n) => !commands.has(TPM_CC[n]));
  check(
    'commands',
    missingCc.length === 0,
    missingCc.length === 0
      ? 'Commit, Sign, CreatePrimary, EvictControl, NV_DefineSpace implemented'
      : `missing ${missingCc.join(', ')}`,
  );

  const nvHandles = await capList(tpm, TPM_CAP_HANDLES, 0x01000000, handleList);
  const persistentHandles = await capList(tpm, TPM_CAP_HANDLES, 0x81000000, handleList);
  const referenceIndices: Record<string, 'free' | 'reference-layout' | 'other'> = {};
  for (const [name, index] of Object.entries(NV_INDEX)) {
    const pub = nvHandles.includes(index) ? await tryNvReadPublic(tpm, index) : undefined;
    referenceIndices[name] = !pub
      ? 'free'
      : (pub.nvPublic.attributes & ~TPMA_NV.TPMA_NV_WRITTEN) === NV_ATTRIBUTES
        ? 'reference-layout'
        : 'other';
  }
  const conflicting = Object.entries(referenceIndices)
    .filter(([, v]) => v === 'other')
    .map(([k]) => k);
  check(
    'nv-indices',
    conflicting.length === 0,
    conflicting.length === 0
      ? 'every reference NV index is free or holds this layout'
      : `NV indices with foreign attributes: ${conflicting.join(', ')}`,
  );
  const maxIndexSize = fixed.get(TPM_PT.TPM_PT_NV_INDEX_MAX) ?? 0;
  check(
    'nv-index-size',
    maxIndexSize >= LARGEST_OBJECT,
    `largest NV index ${maxIndexSize} bytes (need ${LARGEST_OBJECT})`,
  );
  const bufferMax = fixed.get(TPM_PT.TPM_PT_NV_BUFFER_MAX) ?? 0;
  check(
    'nv-buffer',
    bufferMax >= LARGEST_OBJECT ? true : 'warn',
    `TPM_PT_NV_BUFFER_MAX ${bufferMax}: objects ${bufferMax >= LARGEST_OBJECT ? 'fit one command' : 'are split'}`,
  );
  let probe: { bytes: number; ok: boolean; reason: string } | null = null;
  if (opts.probeNv) {
    probe = await probeNvSpace(tpm, Math.min(PREFLIGHT_PROBE_BYTES, maxIndexSize || PREFLIGHT_PROBE_BYTES));
    check('nv-space', probe.ok, probe.reason);
  }

  const ecdaaKeyPresent =
    persistentHandles.includes(XTPM_ECDAA_KEY_HANDLE) &&
    (await tryReadPublic(tpm, XTPM_ECDAA_KEY_HANDLE)) !== undefined;
  const srkPresent = persistentHandles.includes(XTPM_SRK_HANDLE);
  const persistentAvail = variable.get(TPM_PT.TPM_PT_HR_PERSISTENT_AVAIL) ?? 0;
  const needSlots = (ecdaaKeyPresent ? 0 : 1) + (srkPresent ? 0 : 1);
  check(
    'persistent-handles',
    persistentAvail >= needSlots,
    `${persistentAvail} persistent slots free, ${needSlots} needed (ECDAA key ${ecdaaKeyPresent ? 'present' : 'absent'}, SRK ${srkPresent ? 'present' : 'absent'})`,
  );

  const permanent = variable.get(TPM_PT.TPM_PT_PERMANENT) ?? 0;
  const lockout = {
    counter: variable.get(TPM_PT.TPM_PT_LOCKOUT_COUNTER) ?? 0,
    maxTries: variable.get(TPM_PT.TPM_PT_MAX_AUTH_FAIL) ?? 0,
    recoveryTime: variable.get(TPM_PT.TPM_PT_LOCKOUT_INTERVAL) ?? 0,
    lockoutRecovery: variable.get(TPM_PT.TPM_PT_LOCKOUT_RECOVERY) ?? 0,
    inLockout: (permanent & TPMA_PERMANENT_inLockout) !== 0,
  };
  check(
    'lockout',
    lockout.inLockout ? false : lockout.counter > 0 ? 'warn' : true,
    lockout.inLockout
      ? `in DA lockout (counter ${lockout.counter}/${lockout.maxTries}); DictionaryAttackLockReset or wait ${lockout.recoveryTime} s`
      : `lockout counter ${lockout.counter} of ${lockout.maxTries}`,
  );

  const verdict: CheckStatus = checks.some((c) => c.status === 'fail')
    ? 'fail'
    : checks.some((c) => c.status === 'warn')
      ? 'warn'
      : 'pass';
  const failed = checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.reason}`);
  const summary =
    verdict === 'pass'
      ? `${info.manufacturer} TPM ${info.family} firmware ${info.firmwareVersion} is fit for provisioning`
      : `${info.manufacturer} TPM ${info.family}: ${verdict.toUpperCase()} (${failed.join('; ')})`;
  return {
    verdict,
    summary,
    tpm: info,
    nv: { definedIndices: nvHandles.length, maxIndexSize, bufferMax, referenceIndices, probe },
    persistent: { used: persistentHandles.length, available: persistentAvail, ecdaaKeyPresent, srkPresent },
    lockout,
    checks,
  };
}
