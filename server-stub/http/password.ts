// Password hashing for local users: scrypt (RFC 7914) from node:crypto with a random 16-byte salt
// per user. The stored text carries its parameters so they can be raised later without breaking
// older hashes: `scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>` (N = 2^ln, 32-byte output).
// Verification compares in constant time; a sign-in for an unknown user still runs one scrypt
// (verifyDummy) so the answer time does not say whether the name exists. Passwords are never logged.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ValidationError } from '../registry/errors.ts';

export interface ScryptParams {
  /** log2 of the cost N. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP's scrypt floor is N=2^17 r=8 p=1; 2^15 keeps a sign-in near 100 ms on a small server. */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Uint8Array, { ln, r, p }: ScryptParams): Promise<Buffer> {
  // Memory: 128 * N * r bytes; give scrypt twice that so N=2^17 r=8 (128 MiB) still fits.
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new password's rules: length only (NIST SP 800-63B 5.1.1.2: no composition rules). */
export function checkPassword(password: unknown, field = 'password'): string {
  if (typeof password !== 'string') throw new ValidationError(field, 'not a string');
  if ([...password].length < MIN_PASSWORD_LENGTH)
    throw new ValidationError(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const STORED_RE =
  /^scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** The stored form's parts, or undefined if it is not one we made (then nothing verifies). */
export function parseStored(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const m = STORED_RE.exec(stored);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 1 || params.ln > 20 || params.r < 1 || params.p < 1) return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < SALT_LENGTH || key.length !== KEY_LENGTH) return undefined;
  return { params, salt, key };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const s = parseStored(stored);
  if (!s || typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) {
    await verifyDummy();
    return false;
  }
  const key = await derive(password, s.salt, s.params);
  return timingSafeEqual(key, s.key);
}

let dummy: Promise<string> | undefined;

/** As long as a real check, for a user that does not exist (or is disabled). */
export async function verifyDummy(): Promise<void> {
  dummy ??= hashPassword('not a password of anyone');
  const s = parseStored(await dummy)!;
  await derive('not the same', s.salt, s.params);
}
