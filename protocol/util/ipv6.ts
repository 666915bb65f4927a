// RFC 5952 section 4 text form of a 16-byte IPv6 address, for every program's logs, listings and
// views: lower case, no leading zeros, the longest run of two or more zero groups as "::" (the
// first such run on a tie). Parsing with field-named errors is the server's (registry/ipv6.ts).

/** Canonical RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zeros as '::'. */
export function formatIpv6(addr: Uint8Array): string {
  if (addr.length !== 16) throw new RangeError(`IPv6 address must be 16 bytes, got ${addr.length}`);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((addr[2 * i]! << 8) | addr[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
