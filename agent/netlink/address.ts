// RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR messages: struct ifaddrmsg and its IFA_* attributes
// (include/uapi/linux/if_addr.h; rtnetlink(7) "RTM_NEWADDR"). Pure encode/decode, IPv6 only for
// encoding (the agent's identity is an IPv6 address); decoding accepts any family so that a dump
// containing IPv4 entries still parses.
import { DecodeError } from '../../protocol/errors.ts';
import {
  AF_INET6,
  IFA_ADDRESS,
  IFA_CACHEINFO,
  IFA_CACHEINFO_LEN,
  IFA_FLAGS,
  IFA_F_NODAD,
  IFA_F_PERMANENT,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.ts';
import {
  HOST_LE,
  attrString,
  attrU32,
  decodeRtattrs,
  encodeNlmsg,
  encodeRtattrs,
  u32Bytes,
  type NlMessage,
  type RtAttr,
} from './codec.ts';

export interface IfaCacheinfo {
  preferred: number;
  valid: number;
  cstamp: number;
  tstamp: number;
}

export interface AddrMessage {
  family: number;
  prefixLen: number;
  /** ifa_flags widened with IFA_FLAGS when present (the 8-bit field cannot hold newer flags). */
  flags: number;
  scope: number;
  index: number;
  address?: Uint8Array;
  local?: Uint8Array;
  label?: string;
  cacheinfo?: IfaCacheinfo;
}

export interface AddAddressRequest {
  seq: number;
  index: number;
  /** 16-byte IPv6 address. */
  address: Uint8Array;
  prefixLen: number;
  /** Skip duplicate address detection (IFA_F_NODAD): the address is usable at once. */
  nodad?: boolean;
  /** Fail with EEXIST rather than succeed when the address is already there (NLM_F_EXCL). */
  exclusive?: boolean;
}

function checkIpv6(address: Uint8Array, prefixLen: number): void {
  if (address.length !== 16) throw new RangeError(`IPv6 address must be 16 bytes, got ${address.length}`);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) {
    throw new RangeError(`IPv6 prefix length out of range: ${prefixLen}`);
  }
}

function ifaddrmsg(
  family: number,
  prefixLen: number,
  flags: number,
  scope: number,
  index: number,
): Uint8Array {
  const out = new Uint8Array(IFADDRMSG_LEN);
  out[0] = family;
  out[1] = prefixLen;
  out[2] = flags & 0xff;
  out[3] = scope;
  new DataView(out.buffer).setUint32(4, index >>> 0, HOST_LE);
  return out;
}

/**
 * RTM_NEWADDR for a permanent global IPv6 address. For IPv6 the kernel reads the address from
 * IFA_LOCAL when present, else IFA_ADDRESS; we send both (as iproute2 does for a host address).
 * Without NLM_F_EXCL an existing identical address is updated in place; with it, EEXIST comes back.
 */
export function encodeNewAddr(r: AddAddressRequest): Uint8Array {
  checkIpv6(r.address, r.prefixLen);
  const flags = IFA_F_PERMANENT | (r.nodad ? IFA_F_NODAD : 0);
  const attrs: RtAttr[] = [
    { type: IFA_LOCAL, value: r.address },
    { type: IFA_ADDRESS, value: r.address },
    { type: IFA_FLAGS, value: u32Bytes(flags) },
  ];
  const body = ifaddrmsg(AF_INET6, r.prefixLen, flags, RT_SCOPE_UNIVERSE, r.index);
  const nlFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (r.exclusive ? NLM_F_EXCL : 0);
  return encodeNlmsg(
    { type: RTM_NEWADDR, flags: nlFlags, seq: r.seq, pid: 0 },
    concat(body, encodeRtattrs(attrs)),
  );
}

/** RTM_DELADDR for one IPv6 address on an interface (tests and `ip addr del` equivalence). */
export function encodeDelAddr(
  seq: number,
  index: number,
  address: Uint8Array,
  prefixLen: number,
): Uint8Array {
  checkIpv6(address, prefixLen);
  const body = concat(
    ifaddrmsg(AF_INET6, prefixLen, 0, RT_SCOPE_UNIVERSE, index),
    encodeRtattrs([{ type: IFA_LOCAL, value: address }]),
  );
  return encodeNlmsg({ type: RTM_DELADDR, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 }, body);
}

/** RTM_GETADDR dump of all IPv6 addresses (the kernel ignores the index filter on dumps). */
export function encodeGetAddrDump(seq: number): Uint8Array {
  return encodeNlmsg(
    { type: RTM_GETADDR, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid: 0 },
    ifaddrmsg(AF_INET6, 0, 0, 0, 0),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function addrLength(family: number): number | undefined {
  return family === AF_INET6 ? 16 : family === 2 ? 4 : undefined;
}

/** Decodes the payload of an RTM_NEWADDR / RTM_DELADDR message. */
export function decodeAddrMessage(msg: NlMessage): AddrMessage {
  if (msg.type !== RTM_NEWADDR && msg.type !== RTM_DELADDR) {
    throw new DecodeError('ifaddrmsg', 0, `message type ${msg.type} is not RTM_NEWADDR/RTM_DELADDR`);
  }
  const p = msg.payload;
  if (p.length < IFADDRMSG_LEN) {
    throw new DecodeError('ifaddrmsg', NLMSG_HDRLEN, `need ${IFADDRMSG_LEN} bytes, have ${p.length}`);
  }
  const out: AddrMessage = {
    family: p[0]!,
    prefixLen: p[1]!,
    flags: p[2]!,
    scope: p[3]!,
    index: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(4, HOST_LE),
  };
  const base = NLMSG_HDRLEN + IFADDRMSG_LEN;
  const want = addrLength(out.family);
  for (const a of decodeRtattrs(p.subarray(IFADDRMSG_LEN), 'ifaddrmsg', base)) {
    switch (a.type) {
      case IFA_ADDRESS:
      case IFA_LOCAL: {
        const name = a.type === IFA_ADDRESS ? 'IFA_ADDRESS' : 'IFA_LOCAL';
        if (want !== undefined && a.value.length !== want) {
          throw new DecodeError(
            name,
            base,
            `expected ${want} bytes for family ${out.family}, have ${a.value.length}`,
          );
        }
        if (a.type === IFA_ADDRESS) out.address = a.value.slice();
        else out.local = a.value.slice();
        break;
      }
      case IFA_FLAGS:
        out.flags = attrU32(a, 'IFA_FLAGS', base);
        break;
      case IFA_LABEL:
        out.label = attrString(a, 'IFA_LABEL', base);
        break;
      case IFA_CACHEINFO: {
        if (a.value.length !== IFA_CACHEINFO_LEN) {
          throw new DecodeError(
            'IFA_CACHEINFO',
            base,
            `expected ${IFA_CACHEINFO_LEN} bytes, have ${a.value.length}`,
          );
        }
        const v = new DataView(a.value.buffer, a.value.byteOffset, a.value.byteLength);
        out.cacheinfo = {
          preferred: v.getUint32(0, HOST_LE),
          valid: v.getUint32(4, HOST_LE),
          cstamp: v.getUint32(8, HOST_LE),
          tstamp: v.getUint32(12, HOST_LE),
        };
        break;
      }
      default:
        break; // unknown attribute: skipped by contract (see codec.ts header)
    }
  }
  return out;
}

/** The address an IPv6 entry stands for: IFA_LOCAL if present (peer setups), else IFA_ADDRESS. */
export function addrOf(m: AddrMessage): Uint8Array | undefined {
  return m.local ?? m.address;
}
