// Netlink framing, pure: struct nlmsghdr, struct rtattr and the NLMSG_ERROR/NLMSG_DONE control
// payloads (Linux include/uapi/linux/netlink.h; rtnetlink(7), netlink(7)). Netlink fields are in
// host byte order: we detect it once and use DataView with that endianness.
// Decoders are strict: every length is checked before reading, misaligned or overlong lengths and
// trailing bytes are DecodeErrors naming field and offset. One deliberate leniency: unknown
// attribute *types* are kept (not rejected), because the kernel adds attributes over time and
// rtnetlink's contract is that readers skip what they do not know.
import { DecodeError } from '../../protocol/errors.ts';
import {
  NLMSG_ERROR,
  NLMSG_DONE,
  NLMSG_HDRLEN,
  NLMSGERR_MINLEN,
  RTA_HDRLEN,
  NLM_F_CAPPED,
} from './constants.ts';

/** True on little-endian hosts (x86, arm, riscv): netlink uses the host's byte order. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NlMessage extends NlHeader {
  /** The bytes after the 16-byte header, exactly nlmsg_len - 16 long. */
  payload: Uint8Array;
}

export interface RtAttr {
  /** rta_type with the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits masked off. */
  type: number;
  value: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** One netlink message: header (length filled in) + payload, padded to 4 bytes. */
export function encodeNlmsg(h: NlHeader, payload: Uint8Array): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(align4(len));
  const v = view(out);
  v.setUint32(0, len, HOST_LE);
  v.setUint16(4, h.type, HOST_LE);
  v.setUint16(6, h.flags, HOST_LE);
  v.setUint32(8, h.seq >>> 0, HOST_LE);
  v.setUint32(12, h.pid >>> 0, HOST_LE);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Splits one datagram into its messages. Each nlmsg_len must be >= 16 and fit in what is left;
 * between messages only alignment padding may appear; anything after the last is rejected.
 */
export function decodeNlmsgs(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const v = view(buf);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) {
      throw new DecodeError('nlmsghdr', off, `need ${NLMSG_HDRLEN} bytes, have ${buf.length - off}`);
    }
    const len = v.getUint32(off, HOST_LE);
    if (len < NLMSG_HDRLEN)
      throw new DecodeError('nlmsghdr.nlmsg_len', off, `${len} is below ${NLMSG_HDRLEN}`);
    if (len > buf.length - off) {
      throw new DecodeError('nlmsghdr.nlmsg_len', off, `${len} exceeds the ${buf.length - off} bytes left`);
    }
    out.push({
      type: v.getUint16(off + 4, HOST_LE),
      flags: v.getUint16(off + 6, HOST_LE),
      seq: v.getUint32(off + 8, HOST_LE),
      pid: v.getUint32(off + 12, HOST_LE),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    const next = off + align4(len);
    // The final message may omit its padding; any padding present must be zero bytes.
    for (let i = off + len; i < Math.min(next, buf.length); i++) {
      if (buf[i] !== 0) throw new DecodeError('nlmsghdr padding', i, 'non-zero alignment byte');
    }
    off = next;
  }
  return out;
}

/** Attributes, each 4-byte aligned. */
export function encodeRtattrs(attrs: RtAttr[]): Uint8Array {
  let total = 0;
  for (const a of attrs) total += align4(RTA_HDRLEN + a.value.length);
  const out = new Uint8Array(total);
  const v = view(out);
  let off = 0;
  for (const a of attrs) {
    const len = RTA_HDRLEN + a.value.length;
    if (len > 0xffff) throw new RangeError(`rtattr ${a.type} too long: ${len}`);
    v.setUint16(off, len, HOST_LE);
    v.setUint16(off + 2, a.type, HOST_LE);
    out.set(a.value, off + RTA_HDRLEN);
    off += align4(len);
  }
  return out;
}

/** Parses a run of rtattrs filling `buf` exactly; `base` is buf's offset in the message for errors. */
export function decodeRtattrs(buf: Uint8Array, field: string, base = 0): RtAttr[] {
  const out: RtAttr[] = [];
  const v = view(buf);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < RTA_HDRLEN) {
      throw new DecodeError(
        `${field}.rtattr`,
        base + off,
        `need ${RTA_HDRLEN} bytes, have ${buf.length - off}`,
      );
    }
    const len = v.getUint16(off, HOST_LE);
    const type = v.getUint16(off + 2, HOST_LE) & 0x3fff;
    if (len < RTA_HDRLEN)
      throw new DecodeError(`${field}.rta_len`, base + off, `${len} is below ${RTA_HDRLEN}`);
    if (len > buf.length - off) {
      throw new DecodeError(
        `${field}.rta_len`,
        base + off,
        `${len} exceeds the ${buf.length - off} bytes left`,
      );
    }
    out.push({ type, value: buf.subarray(off + RTA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Reads a u32 attribute value, which must be exactly 4 bytes. */
export function attrU32(a: RtAttr, field: string, base = 0): number {
  if (a.value.length !== 4) throw new DecodeError(field, base, `expected 4 bytes, have ${a.value.length}`);
  return view(a.value).getUint32(0, HOST_LE);
}

/** Reads a NUL-terminated string attribute (IFLA_IFNAME, IFA_LABEL). */
export function attrString(a: RtAttr, field: string, base = 0): string {
  const nul = a.value.indexOf(0);
  if (nul < 0) throw new DecodeError(field, base, 'string is not NUL-terminated');
  for (let i = nul + 1; i < a.value.length; i++) {
    if (a.value[i] !== 0) throw new DecodeError(field, base + i, 'bytes after the terminating NUL');
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(a.value.subarray(0, nul));
}

export function u32Bytes(n: number): Uint8Array {
  const out = new Uint8Array(4);
  view(out).setUint32(0, n >>> 0, HOST_LE);
  return out;
}

export function stringBytes(s: string): Uint8Array {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

export interface NlAck {
  /** Positive errno (EEXIST = 17, ...), or 0 for a plain acknowledgement. */
  errno: number;
  /** Header of the request being answered (its seq ties the answer to the request). */
  request: NlHeader;
}

/**
 * struct nlmsgerr: int error (0 or -errno) then the request's nlmsghdr; the request payload follows
 * unless NLM_F_CAPPED, then extended-ack TLVs if NLM_F_ACK_TLVS. We need only error and header.
 */
export function decodeNlmsgerr(msg: NlMessage): NlAck {
  if (msg.type !== NLMSG_ERROR)
    throw new DecodeError('nlmsgerr', 0, `message type ${msg.type} is not NLMSG_ERROR`);
  const p = msg.payload;
  if (p.length < NLMSGERR_MINLEN) {
    throw new DecodeError('nlmsgerr', NLMSG_HDRLEN, `need ${NLMSGERR_MINLEN} bytes, have ${p.length}`);
  }
  const v = view(p);
  const error = v.getInt32(0, HOST_LE);
  if (error > 0) throw new DecodeError('nlmsgerr.error', NLMSG_HDRLEN, `positive error ${error}`);
  const reqLen = v.getUint32(4, HOST_LE);
  if (reqLen < NLMSG_HDRLEN) {
    throw new DecodeError('nlmsgerr.msg.nlmsg_len', NLMSG_HDRLEN + 4, `${reqLen} is below ${NLMSG_HDRLEN}`);
  }
  // Without NLM_F_CAPPED the whole original request is echoed (error != 0 or on ACK of a short one).
  if (error !== 0 && !(msg.flags & NLM_F_CAPPED) && p.length < 4 + reqLen) {
    throw new DecodeError('nlmsgerr.msg', NLMSG_HDRLEN + 4, `echoed request of ${reqLen} bytes is cut short`);
  }
  return {
    errno: error === 0 ? 0 : -error,
    request: {
      type: v.getUint16(8, HOST_LE),
      flags: v.getUint16(10, HOST_LE),
      seq: v.getUint32(12, HOST_LE),
      pid: v.getUint32(16, HOST_LE),
    },
  };
}

/** NLMSG_DONE carries an int: 0, or -errno when a dump failed part way. */
export function decodeDone(msg: NlMessage): number {
  if (msg.type !== NLMSG_DONE)
    throw new DecodeError('nlmsg_done', 0, `message type ${msg.type} is not NLMSG_DONE`);
  if (msg.payload.length < 4) {
    throw new DecodeError('nlmsg_done.error', NLMSG_HDRLEN, `need 4 bytes, have ${msg.payload.length}`);
  }
  const error = view(msg.payload).getInt32(0, HOST_LE);
  return error === 0 ? 0 : -error;
}
