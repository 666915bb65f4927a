// Unit tests for agent/netlink/codec.ts: nlmsghdr framing, rtattrs, NLMSG_ERROR and NLMSG_DONE.
// Byte vectors are written out by hand from the struct layouts in linux/netlink.h (little-endian
// host: x86-64 / arm64, where these tests run).
import test from 'ava';
import fc from 'fast-check';
import { DecodeError } from '../../../../protocol/errors.ts';
import {
  HOST_LE,
  attrString,
  attrU32,
  decodeDone,
  decodeNlmsgerr,
  decodeNlmsgs,
  decodeRtattrs,
  encodeNlmsg,
  encodeRtattrs,
} from '../../../../agent/netlink/codec.ts';
import {
  EEXIST,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
} from '../../../../agent/netlink/constants.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('host is little-endian (the hand-written vectors below assume it)', (t) => {
  t.true(HOST_LE);
});

test('encodeNlmsg writes nlmsghdr fields and pads to 4 bytes', (t) => {
  const out = encodeNlmsg({ type: 20, flags: 0x0605, seq: 0x01020304, pid: 7 }, new Uint8Array([9, 9, 9]));
  t.deepEqual(out, hex('13000000 1400 0506 04030201 07000000 090909 00'));
});

test('decodeNlmsgs splits a multi-part datagram', (t) => {
  const a = encodeNlmsg({ type: 16, flags: 2, seq: 1, pid: 0 }, new Uint8Array([1, 2, 3, 4, 5]));
  const b = encodeNlmsg({ type: NLMSG_DONE, flags: 2, seq: 1, pid: 0 }, new Uint8Array(4));
  const msgs = decodeNlmsgs(new Uint8Array([...a, ...b]));
  t.is(msgs.length, 2);
  t.is(msgs[0]!.type, 16);
  t.deepEqual(msgs[0]!.payload, new Uint8Array([1, 2, 3, 4, 5]));
  t.is(msgs[1]!.type, NLMSG_DONE);
  t.is(msgs[1]!.payload.length, 4);
});

test('decodeNlmsgs accepts an empty datagram and a last message without padding', (t) => {
  t.deepEqual(decodeNlmsgs(new Uint8Array(0)), []);
  const m = encodeNlmsg({ type: 1, flags: 0, seq: 0, pid: 0 }, new Uint8Array([7]));
  t.is(decodeNlmsgs(m.subarray(0, 17)).length, 1);
});

test('decodeNlmsgs rejects a short header', (t) => {
  const e = t.throws(() => decodeNlmsgs(new Uint8Array(15)), { instanceOf: DecodeError });
  t.is(e.field, 'nlmsghdr');
  t.is(e.offset, 0);
});

test('decodeNlmsgs rejects nlmsg_len below the header size', (t) => {
  const m = encodeNlmsg({ type: 1, flags: 0, seq: 0, pid: 0 }, new Uint8Array(0));
  m[0] = 15;
  const e = t.throws(() => decodeNlmsgs(m), { instanceOf: DecodeError });
  t.is(e.field, 'nlmsghdr.nlmsg_len');
});

test('decodeNlmsgs rejects nlmsg_len past the end', (t) => {
  const m = encodeNlmsg({ type: 1, flags: 0, seq: 0, pid: 0 }, new Uint8Array(4));
  m[0] = 24;
  t.throws(() => decodeNlmsgs(m), { instanceOf: DecodeError, message: /exceeds/ });
});

test('decodeNlmsgs rejects trailing bytes after the last message, naming their offset', (t) => {
  const m = encodeNlmsg({ type: 1, flags: 0, seq: 0, pid: 0 }, new Uint8Array(4));
  const e = t.throws(() => decodeNlmsgs(new Uint8Array([...m, 1, 2, 3])), { instanceOf: DecodeError });
  t.is(e.offset, 20);
});

test('decodeNlmsgs rejects non-zero padding', (t) => {
  const m = encodeNlmsg({ type: 1, flags: 0, seq: 0, pid: 0 }, new Uint8Array([1]));
  m[18] = 0xff;
  const e = t.throws(() => decodeNlmsgs(m), { instanceOf: DecodeError });
  t.is(e.field, 'nlmsghdr padding');
  t.is(e.offset, 18);
});

test('rtattrs round trip with padding', (t) => {
  const attrs = [
    { type: 1, value: new Uint8Array([1, 2, 3]) },
    { type: 8, value: new Uint8Array([4, 0, 0, 0]) },
    { type: 3, value: new Uint8Array(0) },
  ];
  const enc = encodeRtattrs(attrs);
  t.deepEqual(enc, hex('0700 0100 010203 00  0800 0800 04000000  0400 0300'));
  t.deepEqual(decodeRtattrs(enc, 'x'), attrs);
});

test('rtattr type masks NLA_F_NESTED and NLA_F_NET_BYTEORDER', (t) => {
  t.is(decodeRtattrs(hex('0400 0180'), 'x')[0]!.type, 1);
  t.is(decodeRtattrs(hex('0400 0240'), 'x')[0]!.type, 2);
});

test('decodeRtattrs rejects short header, small and overlong rta_len, with base offset', (t) => {
  let e = t.throws(() => decodeRtattrs(hex('0400'), 'ifaddrmsg', 24), { instanceOf: DecodeError });
  t.is(e.field, 'ifaddrmsg.rtattr');
  t.is(e.offset, 24);
  e = t.throws(() => decodeRtattrs(hex('0300 0100'), 'ifaddrmsg', 24), { instanceOf: DecodeError });
  t.is(e.field, 'ifaddrmsg.rta_len');
  e = t.throws(() => decodeRtattrs(hex('0400 0100 0900 0100 00'), 'ifaddrmsg', 24), {
    instanceOf: DecodeError,
  });
  t.is(e.offset, 28);
});

test('attrU32 and attrString are strict', (t) => {
  t.is(attrU32({ type: 8, value: hex('80000000') }, 'IFA_FLAGS'), 0x80);
  t.throws(() => attrU32({ type: 8, value: hex('800000') }, 'IFA_FLAGS'), { instanceOf: DecodeError });
  t.is(attrString({ type: 3, value: hex('657468300000') }, 'IFLA_IFNAME'), 'eth0');
  t.throws(() => attrString({ type: 3, value: hex('65746830') }, 'IFLA_IFNAME'), { message: /NUL/ });
  t.throws(() => attrString({ type: 3, value: hex('6500 31') }, 'IFLA_IFNAME'), { message: /after/ });
});

function errMsg(errno: number, flags: number, echoedPayload: number, extra: Uint8Array = new Uint8Array(0)) {
  const req = encodeNlmsg({ type: 20, flags: 0x605, seq: 42, pid: 0 }, new Uint8Array(echoedPayload));
  const reqHeaderLen = new DataView(req.buffer).getUint32(0, true);
  const payload = new Uint8Array(4 + 16 + (flags & NLM_F_CAPPED ? 0 : echoedPayload) + extra.length);
  const v = new DataView(payload.buffer);
  v.setInt32(0, -errno, true);
  payload.set(req.subarray(0, 16 + (flags & NLM_F_CAPPED ? 0 : echoedPayload)), 4);
  payload.set(extra, payload.length - extra.length);
  t_ensure(reqHeaderLen === 16 + echoedPayload);
  return decodeNlmsgs(encodeNlmsg({ type: NLMSG_ERROR, flags, seq: 42, pid: 0 }, payload))[0]!;
}
function t_ensure(ok: boolean): void {
  if (!ok) throw new Error('test vector construction');
}

test('NLMSG_ERROR with error 0 is an ACK carrying the request header', (t) => {
  const ack = decodeNlmsgerr(errMsg(0, NLM_F_CAPPED, 0));
  t.is(ack.errno, 0);
  t.deepEqual(ack.request, { type: 20, flags: 0x605, seq: 42, pid: 0 });
});

test('NLMSG_ERROR -EEXIST with the full echoed request', (t) => {
  t.is(decodeNlmsgerr(errMsg(EEXIST, 0, 32)).errno, EEXIST);
});

test('NLMSG_ERROR capped with extended-ack TLVs', (t) => {
  const tlv = encodeRtattrs([{ type: 1, value: new TextEncoder().encode('bad\0') }]);
  t.is(decodeNlmsgerr(errMsg(22, NLM_F_CAPPED | NLM_F_ACK_TLVS, 32, tlv)).errno, 22);
});

test('NLMSG_ERROR error paths: short, positive error, cut-short echo, bad inner length, wrong type', (t) => {
  const short = decodeNlmsgs(
    encodeNlmsg({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0 }, new Uint8Array(19)),
  )[0]!;
  t.throws(() => decodeNlmsgerr(short), { instanceOf: DecodeError, message: /need 20/ });
  const pos = new Uint8Array(20);
  pos[0] = 1;
  pos[4] = 16;
  const posMsg = decodeNlmsgs(encodeNlmsg({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0 }, pos))[0]!;
  t.throws(() => decodeNlmsgerr(posMsg), { message: /positive/ });
  const cut = errMsg(EEXIST, 0, 32);
  const cutMsg = { ...cut, payload: cut.payload.subarray(0, 30) };
  t.throws(() => decodeNlmsgerr(cutMsg), { message: /cut short/ });
  const inner = new Uint8Array(20);
  inner[4] = 3;
  const innerMsg = decodeNlmsgs(encodeNlmsg({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0 }, inner))[0]!;
  t.throws(() => decodeNlmsgerr(innerMsg), { message: /below 16/ });
  t.throws(() => decodeNlmsgerr({ ...innerMsg, type: NLMSG_DONE }), { message: /not NLMSG_ERROR/ });
});

test('NLMSG_DONE carries 0 or -errno and must hold 4 bytes', (t) => {
  const done = (p: Uint8Array) =>
    decodeNlmsgs(encodeNlmsg({ type: NLMSG_DONE, flags: 2, seq: 1, pid: 0 }, p))[0]!;
  t.is(decodeDone(done(new Uint8Array(4))), 0);
  t.is(decodeDone(done(hex('effffffF'))), 17);
  t.throws(() => decodeDone(done(new Uint8Array(2))), { instanceOf: DecodeError });
  t.throws(() => decodeDone({ ...done(new Uint8Array(4)), type: NLMSG_ERROR }), {
    message: /not NLMSG_DONE/,
  });
});

test('property: any sequence of messages round-trips through encode/decode', (t) => {
  const msg = fc.record({
    type: fc.integer({ min: 0, max: 0xffff }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    pid: fc.integer({ min: 0, max: 0xffffffff }),
    payload: fc.uint8Array({ maxLength: 64 }),
  });
  fc.assert(
    fc.property(fc.array(msg, { maxLength: 5 }), (ms) => {
      const wire = new Uint8Array(ms.flatMap((m) => [...encodeNlmsg(m, m.payload)]));
      const back = decodeNlmsgs(wire);
      t.is(back.length, ms.length);
      back.forEach((b, i) => {
        const m = ms[i]!;
        t.deepEqual({ ...b, payload: [...b.payload] }, { ...m, payload: [...m.payload] });
      });
    }),
  );
});

test('property: rtattrs round-trip', (t) => {
  const attr = fc.record({
    type: fc.integer({ min: 0, max: 0x3fff }),
    value: fc.uint8Array({ maxLength: 40 }),
  });
  fc.assert(
    fc.property(fc.array(attr, { maxLength: 6 }), (as) => {
      const back = decodeRtattrs(encodeRtattrs(as), 'x');
      t.deepEqual(
        back.map((a) => [a.type, [...a.value]]),
        as.map((a) => [a.type, [...a.value]]),
      );
    }),
  );
});
