// Key templates of the reference stack, byte-identical to what it sends (traces README, "Key
// templates"): T1 storage primary (platform primary at the factory, SRK 0x81000001 in the client),
// T2 ECDAA key on BN_P256 (persisted at 0x81800000), T3 XTT long-term ECDSA P-256 key.
// None sets noDA: like the reference, every key use is DA-protected, hence the retry on
// TPM_RC_RETRY after each startup (tpm/tpm.ts).
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from './constants.ts';
import type { EccPublic } from './marshal.ts';

const { fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, restricted, decrypt, sign } = TPMA_OBJECT;
const empty = new Uint8Array(0);

/** 0x00030072: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | decrypt. */
export const TEMPLATE_T1_STORAGE: EccPublic = {
  type: TPM_ALG.TPM_ALG_ECC,
  nameAlg: TPM_ALG.TPM_ALG_SHA256,
  objectAttributes: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | decrypt,
  authPolicy: empty,
  symmetric: { algorithm: TPM_ALG.TPM_ALG_AES, keyBits: 128, mode: TPM_ALG.TPM_ALG_CFB },
  scheme: { scheme: TPM_ALG.TPM_ALG_NULL },
  curveID: TPM_ECC.TPM_ECC_NIST_P256,
  kdf: { scheme: TPM_ALG.TPM_ALG_NULL },
  unique: { x: empty, y: empty },
};

/** 0x00040072: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign; ECDAA count 1. */
export const TEMPLATE_T2_ECDAA: EccPublic = {
  type: TPM_ALG.TPM_ALG_ECC,
  nameAlg: TPM_ALG.TPM_ALG_SHA256,
  objectAttributes: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign,
  authPolicy: empty,
  symmetric: { algorithm: TPM_ALG.TPM_ALG_NULL },
  scheme: { scheme: TPM_ALG.TPM_ALG_ECDAA, hashAlg: TPM_ALG.TPM_ALG_SHA256, count: 1 },
  curveID: TPM_ECC.TPM_ECC_BN_P256,
  kdf: { scheme: TPM_ALG.TPM_ALG_NULL },
  unique: { x: empty, y: empty },
};

/** Same attributes as T2; scheme NULL (Sign names ECDSA), NIST P-256. */
export const TEMPLATE_T3_LONGTERM: EccPublic = {
  type: TPM_ALG.TPM_ALG_ECC,
  nameAlg: TPM_ALG.TPM_ALG_SHA256,
  objectAttributes: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign,
  authPolicy: empty,
  symmetric: { algorithm: TPM_ALG.TPM_ALG_NULL },
  scheme: { scheme: TPM_ALG.TPM_ALG_NULL },
  curveID: TPM_ECC.TPM_ECC_NIST_P256,
  kdf: { scheme: TPM_ALG.TPM_ALG_NULL },
  unique: { x: empty, y: empty },
};
