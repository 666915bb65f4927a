// Loader for the XTT 0.12 reference vectors (test/vectors/xtt-0.12/*.json, see its README): typed
// access to the parts the tests use, and the reference's parties rebuilt from the static inputs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../../protocol/util/bytes.ts';
import type { RecordedDraw } from '../fakes/replay-rng.ts';

export interface Vector {
  file: string;
  case: string;
  suite: 1 | 2 | 3 | 4;
  static: {
    gpk: Uint8Array;
    credential: Uint8Array;
    secretKey: Uint8Array;
    basename: Uint8Array;
    gid: Uint8Array;
    rootPrivateKey: Uint8Array;
    rootPublicKey: Uint8Array;
    rootKeyFile: Uint8Array;
    rootId: Uint8Array;
    rootCertificate: Uint8Array;
    serverPrivateKey: Uint8Array;
    serverPublicKey: Uint8Array;
    serverKeyFile: Uint8Array;
    serverCertificate: Uint8Array;
    rootSignatureK: Uint8Array;
  };
  draws: { client: RecordedDraw[]; server: RecordedDraw[] };
  wire: { direction: string; name: string; hex: string }[];
  // The rest stays loosely typed JSON, read with the `h()` helper below.
  raw: Record<string, unknown>;
}

export const VECTOR_FILES = [
  'suite1_chacha20poly1305_sha512.json',
  'suite2_chacha20poly1305_blake2b.json',
  'suite3_aes256gcm_sha512.json',
  'suite4_aes256gcm_blake2b.json',
  'suite1_requested_id.json',
  'error_wrong_gpk.json',
  'error_unknown_root.json',
  'error_bad_server_signature.json',
] as const;

/** Hex field at a dotted path, as bytes; throws when absent so a renamed key cannot pass silently. */
export function h(obj: unknown, path: string): Uint8Array {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(k in cur)) throw new Error(`vector has no ${path}`);
    cur = (cur as Record<string, unknown>)[k];
  }
  if (typeof cur !== 'string') throw new Error(`${path} is not a hex string`);
  return fromHex(cur, path);
}

export function has(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(k in cur)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur !== undefined && cur !== null;
}

export function loadVector(file: string): Vector {
  const path = fileURLToPath(new URL(`../vectors/xtt-0.12/${file}`, import.meta.url));
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const si = 'static_inputs';
  const suite = (raw['suite_spec'] as { value: number }).value;
  if (suite !== 1 && suite !== 2 && suite !== 3 && suite !== 4) throw new Error(`bad suite in ${file}`);
  return {
    file,
    case: raw['case'] as string,
    suite,
    static: {
      gpk: h(raw, `${si}.daa.group_public_key`),
      credential: h(raw, `${si}.daa.credential`),
      secretKey: h(raw, `${si}.daa.member_secret_key`),
      basename: h(raw, `${si}.daa.basename`),
      gid: h(raw, `${si}.daa.gid`),
      rootPrivateKey: h(raw, `${si}.root.root_keypair.private_key`),
      rootPublicKey: h(raw, `${si}.root.root_keypair.public_key`),
      rootKeyFile: h(raw, `${si}.root.root_keypair.der_ecprivatekey`),
      rootId: h(raw, `${si}.root.root_id`),
      rootCertificate: h(raw, `${si}.root.root_certificate`),
      serverPrivateKey: h(raw, `${si}.server.server_keypair.private_key`),
      serverPublicKey: h(raw, `${si}.server.server_keypair.public_key`),
      serverKeyFile: h(raw, `${si}.server.server_keypair.der_ecprivatekey`),
      serverCertificate: h(raw, `${si}.server.server_certificate`),
      rootSignatureK: h(raw, `${si}.server.root_signature.k`),
    },
    draws: raw['random_draws'] as { client: RecordedDraw[]; server: RecordedDraw[] },
    wire: raw['wire_messages'] as { direction: string; name: string; hex: string }[],
    raw,
  };
}

export function wireBytes(v: Vector, name: string): Uint8Array {
  const m = v.wire.find((w) => w.name === name);
  if (!m) throw new Error(`${v.file} has no wire message ${name}`);
  return fromHex(m.hex);
}

export function drawBytes(draws: readonly RecordedDraw[], index: number): Uint8Array {
  const d = draws.find((x) => x.index === index);
  if (!d) throw new Error(`no draw ${index}`);
  return fromHex(d.bytes);
}
