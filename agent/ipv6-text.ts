// RFC 5952 text form of a 16-byte IPv6 address (lower case, longest run of two or more zero groups
// compressed to "::", the first such run on a tie) for logs, STATUS= and `xtt-agent status`.

export function formatIpv6(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`IPv6 address must be 16 bytes, got ${b.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
