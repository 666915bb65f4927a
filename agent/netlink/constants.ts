// rtnetlink constants with their kernel spelling, from the Linux UAPI headers
// (include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h, if_link.h, if.h) so they can be grepped.
// Only what the agent uses: address add/dump/events and link dump/events.

export const AF_UNSPEC = 0;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;

/** Header sizes in bytes (struct nlmsghdr, ifaddrmsg, ifinfomsg, rtattr, nlmsgerr). */
export const NLMSG_HDRLEN = 16;
export const IFADDRMSG_LEN = 8;
export const IFINFOMSG_LEN = 16;
export const RTA_HDRLEN = 4;
export const NLMSGERR_MINLEN = 4 + NLMSG_HDRLEN;
export const IFA_CACHEINFO_LEN = 16;

// nlmsg_type: control messages and the rtnetlink ones we speak.
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

// nlmsg_flags
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** Flags on an NLMSG_ERROR message: the original payload was cut; extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

// Address attributes (enum ifa_attr type, include/uapi/linux/if_addr.h).
export const IFA_UNSPEC = 0;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;

// Address flags (ifa_flags; the full 32-bit set travels in IFA_FLAGS).
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

// Link attributes (include/uapi/linux/if_link.h) and flags (include/uapi/linux/if.h).
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_OPERSTATE = 16;
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** RT_SCOPE_UNIVERSE: a global address (what a ULA or GUA identity is). */
export const RT_SCOPE_UNIVERSE = 0;

// Legacy multicast group bitmask for sockaddr_nl.nl_groups (rtnetlink.h RTMGRP_*).
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV6_IFADDR = 0x100;

// errno values seen in NLMSG_ERROR (negated on the wire); Linux numbering.
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOBUFS = 105;
export const EADDRNOTAVAIL = 99;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [EADDRNOTAVAIL]: 'EADDRNOTAVAIL',
  [ENOBUFS]: 'ENOBUFS',
};

/** The errno's symbolic name, or `errno N` for one we do not list. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}
