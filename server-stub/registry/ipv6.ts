// IPv6 text <-> bytes for network prefixes and identities: strict parsing of RFC 4291 section 2.2
// text (no zone ids, no embedded IPv4 in prefixes); canonical output per RFC 5952 section 4 is
// protocol/util/ipv6.ts, shared with the agent.
import { isIPv4 } from 'node:net';
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

/** What a refused prefix should look like, at the end of every message about one. */
const PREFIX_EXAMPLE = 'give an IPv6 /64 such as 2001:db8:1:2::/64';

/**
 * Parse "2001:db8:1:2::/64" into its 8 prefix bytes; host bits must be zero, length must be 64. A
 * refusal lists everything wrong with the text at once (an IPv4 prefix, its length, host bits),
 * so the operator fixes it in one go.
 */
export function parsePrefix64(text: string, field: string): Uint8Array {
  if (typeof text !== 'string') throw new ValidationError(field, 'not a string');
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const problems: string[] = [];
  if (isIPv4(addrText)) problems.push('an IPv4 address, not IPv6');
  let addr: Uint8Array | undefined;
  if (problems.length === 0) {
    try {
      addr = parseIpv6(addrText, field);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(`address ${JSON.stringify(addrText)}: ${e.message.slice(field.length + 2)}`);
    }
  }
  if (slash < 0) problems.push("no prefix length (want '/64')");
  else if (text.slice(slash + 1) !== '64')
    problems.push(`prefix length ${JSON.stringify(text.slice(slash + 1))}, not 64`);
  if (addr) {
    if (addr.subarray(8).some((b) => b !== 0)) problems.push('host bits (the last 64) are not zero');
    if (addr[0] === 0xff) problems.push('a multicast prefix');
    if (addr.subarray(0, 8).every((b) => b === 0)) problems.push('the unspecified prefix');
  }
  if (problems.length > 0 || !addr) {
    throw new ValidationError(field, `${JSON.stringify(text)}: ${problems.join('; ')}; ${PREFIX_EXAMPLE}`);
  }
  return addr.slice(0, 8);
}

export function formatPrefix64(prefix: Uint8Array): string {
  const full = new Uint8Array(16);
  full.set(prefix.subarray(0, 8));
  return `${formatIpv6(full)}/64`;
}
