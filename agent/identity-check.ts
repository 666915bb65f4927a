// The identity a server returns becomes the device's address for life, so it must be an address
// Linux will put on an interface as a unicast address. The reference server assigns 16 random bytes
// when the client asks for none, so about 1 in 256 identities from it is multicast (ff00::/8), which
// the kernel refuses ("Cannot assign multicast address"). Storing such an identity would make every
// later start fail on it; the agent rejects it before storing and treats it as a refusal (the next
// handshake may yield a usable one; our own server never assigns such addresses).
import { ZtpError } from '../protocol/errors.ts';
import { formatIpv6 } from '../protocol/util/ipv6.ts';

export class UnusableIdentityError extends ZtpError {
  readonly identity: Uint8Array;
  constructor(identity: Uint8Array, reason: string) {
    super('IDENTITY_UNUSABLE', `server assigned ${formatIpv6(identity)}, ${reason}`);
    this.identity = identity;
  }
}

/** Why `id` cannot be a device's unicast address, or undefined when it can. */
export function unusableIdentityReason(id: Uint8Array): string | undefined {
  if (id.length !== 16) return `not 16 bytes (${id.length})`;
  if (id[0] === 0xff) return 'a multicast address (ff00::/8)';
  const allZeroUpTo = (n: number) => id.subarray(0, n).every((b) => b === 0);
  if (allZeroUpTo(16)) return 'the unspecified address (::)';
  if (allZeroUpTo(15) && id[15] === 1) return 'the loopback address (::1)';
  if (allZeroUpTo(10) && id[10] === 0xff && id[11] === 0xff) return 'an IPv4-mapped address (::ffff:0:0/96)';
  return undefined;
}

export function assertUsableIdentity(id: Uint8Array): void {
  const reason = unusableIdentityReason(id);
  if (reason) throw new UnusableIdentityError(id, reason);
}
