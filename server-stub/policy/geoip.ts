// GeoIP for the audit (geolocation where a GeoIP database file is configured): a
// GeoLocator over a CIDR table file, one "network,label" per line (e.g. "192.0.2.0/24,NL Amsterdam"
// or "2001:db8::/32,DE"), '#' comments; the label is the rest of the line (1..64 printable
// characters). Such a file is a flattening of GeoLite2's CSV blocks joined with their locations.
// Lookup is longest-prefix match: one hash probe per prefix length present (at most 33 or 129).
// Strict loading: a bad line fails with its line number, so a broken file is noticed at start.
import { isIPv4 } from 'node:net';
import { readFileSync } from 'node:fs';
import { isMissingPath, MissingFileError } from '../../common/cli.ts';
import { ZtpError } from '../../protocol/errors.ts';
import type { GeoLocator } from './identity-policy.ts';
import { parseIpv6 } from '../registry/ipv6.ts';

export class GeoIpError extends ZtpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_FILE', message, options);
  }
}

const LABEL_RE = /^[\p{L}\p{N} ,./_()'-]{1,64}$/u;

function addressBits(address: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(address)) {
    const o = address.split('.').map(Number);
    return { family: 4, value: BigInt(((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0) };
  }
  try {
    const b = parseIpv6(address, 'address');
    return { family: 6, value: BigInt(`0x${Buffer.from(b).toString('hex')}`) };
  } catch {
    return undefined;
  }
}

function mask(value: bigint, width: number, len: number): bigint {
  return len === 0 ? 0n : (value >> BigInt(width - len)) << BigInt(width - len);
}

export class CidrGeoLocator implements GeoLocator {
  /** family -> prefix length -> masked network -> label; lengths kept longest first. */
  private readonly tables = {
    4: new Map<number, Map<bigint, string>>(),
    6: new Map<number, Map<bigint, string>>(),
  };
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };

  constructor(text: string, source = 'geoip') {
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const comma = line.indexOf(',');
      const cidr = comma < 0 ? line : line.slice(0, comma);
      const label = comma < 0 ? '' : line.slice(comma + 1).trim();
      const where = `${source} line ${i + 1}`;
      const slash = cidr.indexOf('/');
      const addr = slash < 0 ? undefined : addressBits(cidr.slice(0, slash));
      const len = slash < 0 ? NaN : Number(cidr.slice(slash + 1));
      if (!addr || !/^[0-9]{1,3}$/.test(cidr.slice(slash + 1)))
        throw new GeoIpError(`${where}: not a CIDR network`);
      const width = addr.family === 4 ? 32 : 128;
      if (len > width) throw new GeoIpError(`${where}: prefix length ${len} > ${width}`);
      if (mask(addr.value, width, len) !== addr.value) throw new GeoIpError(`${where}: host bits set`);
      if (!LABEL_RE.test(label)) throw new GeoIpError(`${where}: label must be 1-64 printable characters`);
      let table = this.tables[addr.family].get(len);
      if (!table) {
        table = new Map();
        this.tables[addr.family].set(len, table);
      }
      table.set(addr.value, label);
    });
    for (const f of [4, 6] as const) this.lengths[f] = [...this.tables[f].keys()].sort((a, b) => b - a);
  }

  static fromFile(path: string): CidrGeoLocator {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      if (isMissingPath(cause)) throw new MissingFileError(path, 'GeoIP file', { cause });
      throw new GeoIpError(`${path}: cannot read`, { cause });
    }
    return new CidrGeoLocator(text, path);
  }

  locate(address: string): string | null {
    const a = addressBits(address);
    if (!a) return null;
    const width = a.family === 4 ? 32 : 128;
    for (const len of this.lengths[a.family]) {
      const hit = this.tables[a.family].get(len)!.get(mask(a.value, width, len));
      if (hit !== undefined) return hit;
    }
    return null;
  }
}
