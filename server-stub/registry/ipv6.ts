// IPv6 text <-> bytes for network prefixes and identities: strict parsing of RFC 4291 section 2.2
// text (no zone ids, no embedded IPv4 in prefixes); canonical output per RFC 5952 section 4 is
// protocol/util/ipv6.ts, shared with the agent.
import { formatIpv6 } from '../../protocol/util/ipv6.ts';
import { ValidationError } from './errors.ts';

export { formatIpv6 };

/** Parse an IPv6 address in text form into 16 bytes; `field` names the input in errors. */
export function parseIpv6(text: string, field: string): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) {
    throw new ValidationError(field, 'not an IPv6 address');
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text)) throw new ValidationError(field, 'not an IPv6 address');
  const halves = text.split('::');
  if (halves.length > 2) throw new ValidationError(field, "more than one '::'");
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const words: number[] = [];
  const pushGroups = (list: string[], isLast: boolean): void => {
    list.forEach((g, i) => {
      if (isLast && i === list.length - 1 && g.includes('.')) {
        const v4 = g.split('.');
        if (v4.length !== 4 || v4.some((o) => !/^(0|[1-9][0-9]{0,2})$/.test(o) || Number(o) > 255)) {
          throw new ValidationError(field, 'bad embedded IPv4 part');
        }
        const o = v4.map(Number);
        words.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new ValidationError(field, `bad group '${g}'`);
      words.push(parseInt(g, 16));
    });
  };
  const hasTail = halves.length === 2;
  pushGroups(head, !hasTail);
  const headWords = words.length;
  pushGroups(tail, true);
  const tailWords = words.length - headWords;
  if (hasTail) {
    if (headWords + tailWords > 7) throw new ValidationError(field, "'::' stands for no group");
    words.splice(headWords, 0, ...new Array<number>(8 - headWords - tailWords).fill(0));
  } else if (words.length !== 8) {
    throw new ValidationError(field, `has ${words.length} groups, want 8`);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Parse "2001:db8:1:2::/64" into its 8 prefix bytes; host bits must be zero, length must be 64. */
export function parsePrefix64(text: string, field: string): Uint8Array {
  if (typeof text !== 'string') throw new ValidationError(field, 'not a string');
  const slash = text.indexOf('/');
  if (slash < 0) throw new ValidationError(field, "missing '/64'");
  const len = text.slice(slash + 1);
  if (len !== '64') throw new ValidationError(field, `prefix length must be 64, got '${len}'`);
  const addr = parseIpv6(text.slice(0, slash), field);
  if (addr.subarray(8).some((b) => b !== 0)) throw new ValidationError(field, 'host bits are not zero');
  if (addr[0] === 0xff) throw new ValidationError(field, 'multicast prefix');
  if (addr.subarray(0, 8).every((b) => b === 0)) throw new ValidationError(field, 'unspecified prefix');
  return addr.slice(0, 8);
}

export function formatPrefix64(prefix: Uint8Array): string {
  const full = new Uint8Array(16);
  full.set(prefix.subarray(0, 8));
  return `${formatIpv6(full)}/64`;
}
