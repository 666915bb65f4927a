// RTM_GETLINK / RTM_NEWLINK / RTM_DELLINK messages: struct ifinfomsg and the IFLA_* attributes the
// agent reads (include/uapi/linux/rtnetlink.h, if_link.h; rtnetlink(7) "RTM_NEWLINK"). Pure.
import { DecodeError } from '../../protocol/errors.ts';
import {
  AF_UNSPEC,
  IFINFOMSG_LEN,
  IFLA_IFNAME,
  IFLA_MTU,
  IFLA_OPERSTATE,
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from './constants.ts';
import {
  HOST_LE,
  attrString,
  attrU32,
  decodeRtattrs,
  encodeNlmsg,
  encodeRtattrs,
  stringBytes,
} from './codec.ts';
import type { NlMessage } from './codec.ts';

/** Linux IFNAMSIZ is 16 including the NUL. */
export const IFNAMSIZ = 16;

export interface LinkMessage {
  family: number;
  /** ARPHRD_* device type. */
  deviceType: number;
  index: number;
  /** IFF_* flags (IFF_UP, IFF_RUNNING, IFF_LOWER_UP). */
  flags: number;
  change: number;
  ifname?: string;
  mtu?: number;
  operstate?: number;
}

function ifinfomsg(index: number): Uint8Array {
  const out = new Uint8Array(IFINFOMSG_LEN);
  out[0] = AF_UNSPEC;
  new DataView(out.buffer).setInt32(4, index, HOST_LE);
  return out;
}

export function checkIfname(name: string): void {
  const len = new TextEncoder().encode(name).length;
  if (len === 0 || len >= IFNAMSIZ || name.includes('/') || /\s|\0/.test(name)) {
    throw new RangeError(`invalid interface name ${JSON.stringify(name)}`);
  }
}

/** RTM_GETLINK for one interface by name: answered by one RTM_NEWLINK, or NLMSG_ERROR ENODEV. */
export function encodeGetLinkByName(seq: number, name: string): Uint8Array {
  checkIfname(name);
  const body = ifinfomsg(0);
  const attrs = encodeRtattrs([{ type: IFLA_IFNAME, value: stringBytes(name) }]);
  const all = new Uint8Array(body.length + attrs.length);
  all.set(body);
  all.set(attrs, body.length);
  return encodeNlmsg({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 }, all);
}

/** RTM_GETLINK dump of every interface. */
export function encodeGetLinkDump(seq: number): Uint8Array {
  return encodeNlmsg({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid: 0 }, ifinfomsg(0));
}

/** Decodes the payload of an RTM_NEWLINK / RTM_DELLINK message. */
export function decodeLinkMessage(msg: NlMessage): LinkMessage {
  if (msg.type !== RTM_NEWLINK && msg.type !== RTM_DELLINK) {
    throw new DecodeError('ifinfomsg', 0, `message type ${msg.type} is not RTM_NEWLINK/RTM_DELLINK`);
  }
  const p = msg.payload;
  if (p.length < IFINFOMSG_LEN) {
    throw new DecodeError('ifinfomsg', NLMSG_HDRLEN, `need ${IFINFOMSG_LEN} bytes, have ${p.length}`);
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: LinkMessage = {
    family: p[0]!,
    deviceType: v.getUint16(2, HOST_LE),
    index: v.getInt32(4, HOST_LE),
    flags: v.getUint32(8, HOST_LE),
    change: v.getUint32(12, HOST_LE),
  };
  const base = NLMSG_HDRLEN + IFINFOMSG_LEN;
  for (const a of decodeRtattrs(p.subarray(IFINFOMSG_LEN), 'ifinfomsg', base)) {
    if (a.type === IFLA_IFNAME) out.ifname = attrString(a, 'IFLA_IFNAME', base);
    else if (a.type === IFLA_MTU) out.mtu = attrU32(a, 'IFLA_MTU', base);
    else if (a.type === IFLA_OPERSTATE) {
      if (a.value.length !== 1)
        throw new DecodeError('IFLA_OPERSTATE', base, `expected 1 byte, have ${a.value.length}`);
      out.operstate = a.value[0]!;
    }
  }
  return out;
}
