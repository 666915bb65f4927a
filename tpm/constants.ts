// TPM 2.0 constants used by this project, with the spec's spelling so they can be grepped against
// TCG "TPM 2.0 Library Part 2: Structures" (rev 1.59): TPM_ST (6.9), TPM_CC (6.5), TPM_RC (6.6),
// TPM_ALG_ID (6.3), TPM_ECC_CURVE (6.4), TPM_HT/TPM_RH handles (7), TPM_PT (6.13), TPM_CAP (6.12),
// TPMA_OBJECT (8.3), TPMA_NV (13.4), TPMA_PERMANENT (8.6), TPM_SU (6.7).

export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_ST_CREATION = 0x8021;
export const TPM_ST_HASHCHECK = 0x8024;

export const TPM_SU_CLEAR = 0x0000;
export const TPM_SU_STATE = 0x0001;

export const TPM_CC = {
  TPM_CC_NV_UndefineSpace: 0x00000122,
  TPM_CC_EvictControl: 0x00000120,
  TPM_CC_CreatePrimary: 0x00000131,
  TPM_CC_NV_DefineSpace: 0x0000012a,
  TPM_CC_DictionaryAttackLockReset: 0x00000139,
  TPM_CC_DictionaryAttackParameters: 0x0000013a,
  TPM_CC_NV_Write: 0x00000137,
  TPM_CC_SelfTest: 0x00000143,
  TPM_CC_Startup: 0x00000144,
  TPM_CC_Shutdown: 0x00000145,
  TPM_CC_NV_Read: 0x0000014e,
  TPM_CC_Create: 0x00000153,
  TPM_CC_Load: 0x00000157,
  TPM_CC_Sign: 0x0000015d,
  TPM_CC_FlushContext: 0x00000165,
  TPM_CC_NV_ReadPublic: 0x00000169,
  TPM_CC_ReadPublic: 0x00000173,
  TPM_CC_StartAuthSession: 0x00000176,
  TPM_CC_GetCapability: 0x0000017a,
  TPM_CC_GetRandom: 0x0000017b,
  TPM_CC_Commit: 0x0000018b,
} as const;
export type CommandName = keyof typeof TPM_CC;

export const TPM_ALG = {
  TPM_ALG_ERROR: 0x0000,
  TPM_ALG_RSA: 0x0001,
  TPM_ALG_SHA1: 0x0004,
  TPM_ALG_HMAC: 0x0005,
  TPM_ALG_AES: 0x0006,
  TPM_ALG_KEYEDHASH: 0x0008,
  TPM_ALG_XOR: 0x000a,
  TPM_ALG_SHA256: 0x000b,
  TPM_ALG_SHA384: 0x000c,
  TPM_ALG_SHA512: 0x000d,
  TPM_ALG_NULL: 0x0010,
  TPM_ALG_RSASSA: 0x0014,
  TPM_ALG_RSAES: 0x0015,
  TPM_ALG_RSAPSS: 0x0016,
  TPM_ALG_OAEP: 0x0017,
  TPM_ALG_ECDSA: 0x0018,
  TPM_ALG_ECDH: 0x0019,
  TPM_ALG_ECDAA: 0x001a,
  TPM_ALG_SM2: 0x001b,
  TPM_ALG_ECSCHNORR: 0x001c,
  TPM_ALG_ECMQV: 0x001d,
  TPM_ALG_KDF1_SP800_56A: 0x0020,
  TPM_ALG_KDF2: 0x0021,
  TPM_ALG_KDF1_SP800_108: 0x0022,
  TPM_ALG_ECC: 0x0023,
  TPM_ALG_SYMCIPHER: 0x0025,
  TPM_ALG_CTR: 0x0040,
  TPM_ALG_OFB: 0x0041,
  TPM_ALG_CBC: 0x0042,
  TPM_ALG_CFB: 0x0043,
  TPM_ALG_ECB: 0x0044,
} as const;

export const TPM_ECC = {
  TPM_ECC_NONE: 0x0000,
  TPM_ECC_NIST_P192: 0x0001,
  TPM_ECC_NIST_P224: 0x0002,
  TPM_ECC_NIST_P256: 0x0003,
  TPM_ECC_NIST_P384: 0x0004,
  TPM_ECC_NIST_P521: 0x0005,
  TPM_ECC_BN_P256: 0x0010,
  TPM_ECC_BN_P638: 0x0011,
  TPM_ECC_SM2_P256: 0x0020,
} as const;

// Permanent handles (Part 2, 7.4) and handle ranges (7.2).
export const TPM_RH_OWNER = 0x40000001;
export const TPM_RS_PW = 0x40000009;
export const TPM_RH_LOCKOUT = 0x4000000a;
export const TPM_RH_ENDORSEMENT = 0x4000000b;
export const TPM_RH_PLATFORM = 0x4000000c;
export const TPM_RH_NULL = 0x40000007;
export const TPM_HT_NV_INDEX = 0x01;
export const TPM_HT_HMAC_SESSION = 0x02;
export const TPM_HT_POLICY_SESSION = 0x03;
export const TPM_HT_TRANSIENT = 0x80;
export const TPM_HT_PERSISTENT = 0x81;

export const TPM_CAP_ALGS = 0x00000000;
export const TPM_CAP_HANDLES = 0x00000001;
export const TPM_CAP_COMMANDS = 0x00000002;
export const TPM_CAP_TPM_PROPERTIES = 0x00000006;
export const TPM_CAP_ECC_CURVES = 0x00000008;

export const TPM_PT = {
  TPM_PT_FAMILY_INDICATOR: 0x100,
  TPM_PT_LEVEL: 0x101,
  TPM_PT_REVISION: 0x102,
  TPM_PT_DAY_OF_YEAR: 0x103,
  TPM_PT_YEAR: 0x104,
  TPM_PT_MANUFACTURER: 0x105,
  TPM_PT_VENDOR_STRING_1: 0x106,
  TPM_PT_VENDOR_STRING_2: 0x107,
  TPM_PT_VENDOR_STRING_3: 0x108,
  TPM_PT_VENDOR_STRING_4: 0x109,
  TPM_PT_VENDOR_TPM_TYPE: 0x10a,
  TPM_PT_FIRMWARE_VERSION_1: 0x10b,
  TPM_PT_FIRMWARE_VERSION_2: 0x10c,
  TPM_PT_INPUT_BUFFER: 0x10d,
  TPM_PT_HR_TRANSIENT_MIN: 0x10e,
  TPM_PT_HR_PERSISTENT_MIN: 0x10f,
  TPM_PT_NV_INDEX_MAX: 0x117,
  TPM_PT_MAX_COMMAND_SIZE: 0x11e,
  TPM_PT_MAX_RESPONSE_SIZE: 0x11f,
  TPM_PT_NV_BUFFER_MAX: 0x12c,
  TPM_PT_PERMANENT: 0x200,
  TPM_PT_STARTUP_CLEAR: 0x201,
  TPM_PT_HR_NV_INDEX: 0x202,
  TPM_PT_HR_LOADED: 0x203,
  TPM_PT_HR_LOADED_AVAIL: 0x204,
  TPM_PT_HR_TRANSIENT_AVAIL: 0x207,
  TPM_PT_HR_PERSISTENT: 0x208,
  TPM_PT_HR_PERSISTENT_AVAIL: 0x209,
  TPM_PT_LOCKOUT_COUNTER: 0x20e,
  TPM_PT_MAX_AUTH_FAIL: 0x20f,
  TPM_PT_LOCKOUT_INTERVAL: 0x210,
  TPM_PT_LOCKOUT_RECOVERY: 0x211,
} as const;

/** TPMA_PERMANENT bits (Part 2, 8.6). */
export const TPMA_PERMANENT_inLockout = 1 << 9;

/** TPMA_OBJECT bits (Part 2, 8.3.2). */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** TPMA_NV bits (Part 2, 13.4). TPM_NT occupies bits 4..7 (0 = ordinary index). */
export const TPMA_NV = {
  TPMA_NV_PPWRITE: 1 << 0,
  TPMA_NV_OWNERWRITE: 1 << 1,
  TPMA_NV_AUTHWRITE: 1 << 2,
  TPMA_NV_POLICYWRITE: 1 << 3,
  TPMA_NV_POLICY_DELETE: 1 << 10,
  TPMA_NV_WRITELOCKED: 1 << 11,
  TPMA_NV_WRITEALL: 1 << 12,
  TPMA_NV_PPREAD: 1 << 16,
  TPMA_NV_OWNERREAD: 1 << 17,
  TPMA_NV_AUTHREAD: 1 << 18,
  TPMA_NV_POLICYREAD: 1 << 19,
  TPMA_NV_NO_DA: 1 << 25,
  TPMA_NV_ORDERLY: 1 << 26,
  TPMA_NV_READLOCKED: 1 << 28,
  TPMA_NV_WRITTEN: 1 << 29,
  TPMA_NV_PLATFORMCREATE: 1 << 30,
} as const;

/** TPM family indicator "2.0" as the big-endian u32 TPM_PT_FAMILY_INDICATOR carries it. */
export const TPM_SPEC_FAMILY_2_0 = 0x322e3000;
