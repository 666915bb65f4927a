// Unit tests for agent/netlink/address.ts (struct ifaddrmsg + IFA_* attributes) and link.ts
// (struct ifinfomsg + IFLA_*). Vectors are hand-written from linux/if_addr.h and rtnetlink.h.
import test from 'ava';
import { DecodeError } from '../../../../protocol/errors.ts';
import {
  addrOf,
  decodeAddrMessage,
  encodeDelAddr,
  encodeGetAddrDump,
  encodeNewAddr,
} from '../../../../agent/netlink/address.ts';
import { decodeNlmsgs, encodeNlmsg, encodeRtattrs } from '../../../../agent/netlink/codec.ts';
import {
  IFA_F_NODAD,
  IFA_F_PERMANENT,
  IFA_F_TENTATIVE,
  IFA_F_DADFAILED,
  RTM_DELADDR,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_DELLINK,
} from '../../../../agent/netlink/constants.ts';
import {
  checkIfname,
  decodeLinkMessage,
  encodeGetLinkByName,
  encodeGetLinkDump,
} from '../../../../agent/netlink/link.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ADDR = hex('fd000000000000000000000000000001');

test('encodeNewAddr: exact bytes of an RTM_NEWADDR for fd00::1/64 nodad on ifindex 3', (t) => {
  const out = encodeNewAddr({ seq: 5, index: 3, address: ADDR, prefixLen: 64, nodad: true });
  t.deepEqual(
    out,
    hex(
      // nlmsghdr: len 72, RTM_NEWADDR, REQUEST|ACK|CREATE, seq 5, pid 0
      '48000000 1400 0504 05000000 00000000' +
        // ifaddrmsg: AF_INET6, /64, flags PERMANENT|NODAD (0x82), scope universe, index 3
        '0a 40 82 00 03000000' +
        // IFA_LOCAL, IFA_ADDRESS (20 bytes each), IFA_FLAGS u32 0x82
        '1400 0200 fd000000000000000000000000000001' +
        '1400 0100 fd000000000000000000000000000001' +
        '0800 0800 82000000',
    ),
  );
});

test('encodeNewAddr: DAD on by default, NLM_F_EXCL only when asked', (t) => {
  const [m] = decodeNlmsgs(encodeNewAddr({ seq: 1, index: 2, address: ADDR, prefixLen: 48 }));
  t.is(m!.flags, 0x405);
  const a = decodeAddrMessage(m!);
  t.is(a.flags, IFA_F_PERMANENT);
  const [x] = decodeNlmsgs(
    encodeNewAddr({ seq: 1, index: 2, address: ADDR, prefixLen: 48, exclusive: true }),
  );
  t.is(x!.flags, 0x605);
});

test('encodeNewAddr rejects bad address length and prefix', (t) => {
  t.throws(() => encodeNewAddr({ seq: 1, index: 2, address: new Uint8Array(4), prefixLen: 64 }), {
    instanceOf: RangeError,
  });
  t.throws(() => encodeNewAddr({ seq: 1, index: 2, address: ADDR, prefixLen: 129 }), {
    instanceOf: RangeError,
  });
});

test('encodeDelAddr and encodeGetAddrDump', (t) => {
  const [d] = decodeNlmsgs(encodeDelAddr(9, 4, ADDR, 64));
  t.is(d!.type, RTM_DELADDR);
  const a = decodeAddrMessage(d!);
  t.deepEqual(addrOf(a), ADDR);
  t.is(a.index, 4);
  t.deepEqual(encodeGetAddrDump(7), hex('18000000 1600 0103 07000000 00000000 0a000000 00000000'));
});

function kernelAddr(type: number, flags8: number, attrs: { type: number; value: Uint8Array }[]) {
  const body = new Uint8Array([
    ...hex('0a40' + flags8.toString(16).padStart(2, '0') + '00 03000000'),
    ...encodeRtattrs(attrs),
  ]);
  return decodeNlmsgs(encodeNlmsg({ type, flags: 0, seq: 0, pid: 0 }, body))[0]!;
}

test('decodeAddrMessage: a kernel-style RTM_NEWADDR event with IFA_FLAGS, label and cacheinfo', (t) => {
  const m = kernelAddr(RTM_NEWADDR, 0xc0, [
    { type: 1, value: ADDR },
    { type: 6, value: hex('ffffffff ffffffff 10000000 20000000') },
    { type: 8, value: hex('c0000000') },
    { type: 3, value: hex('7665746800') },
    { type: 99, value: hex('0102') }, // unknown attribute: skipped
  ]);
  const a = decodeAddrMessage(m);
  t.is(a.family, 10);
  t.is(a.prefixLen, 64);
  t.is(a.index, 3);
  t.is(a.flags, IFA_F_TENTATIVE | IFA_F_PERMANENT);
  t.is(a.label, 'veth');
  t.deepEqual(a.cacheinfo, { preferred: 0xffffffff, valid: 0xffffffff, cstamp: 16, tstamp: 32 });
  t.deepEqual(addrOf(a), ADDR);
});

test('decodeAddrMessage: IFA_FLAGS widens the 8-bit field; IFA_LOCAL preferred over IFA_ADDRESS', (t) => {
  const other = hex('fd000000000000000000000000000002');
  const a = decodeAddrMessage(
    kernelAddr(RTM_DELADDR, 0x02, [
      { type: 1, value: other },
      { type: 2, value: ADDR },
      { type: 8, value: hex('0a010000') },
    ]),
  );
  t.is(a.flags, 0x10a);
  t.true((a.flags & IFA_F_DADFAILED) !== 0 && (a.flags & IFA_F_NODAD) !== 0);
  t.deepEqual(addrOf(a), ADDR);
});

test('decodeAddrMessage error branches', (t) => {
  const short = decodeNlmsgs(
    encodeNlmsg({ type: RTM_NEWADDR, flags: 0, seq: 0, pid: 0 }, new Uint8Array(7)),
  )[0]!;
  let e = t.throws(() => decodeAddrMessage(short), { instanceOf: DecodeError });
  t.is(e.field, 'ifaddrmsg');
  t.is(e.offset, 16);
  e = t.throws(() => decodeAddrMessage(kernelAddr(RTM_NEWADDR, 0, [{ type: 1, value: new Uint8Array(4) }])), {
    instanceOf: DecodeError,
  });
  t.is(e.field, 'IFA_ADDRESS');
  t.throws(() => decodeAddrMessage(kernelAddr(RTM_NEWADDR, 0, [{ type: 8, value: new Uint8Array(2) }])), {
    message: /IFA_FLAGS/,
  });
  t.throws(() => decodeAddrMessage(kernelAddr(RTM_NEWADDR, 0, [{ type: 6, value: new Uint8Array(12) }])), {
    message: /IFA_CACHEINFO/,
  });
  const bad = kernelAddr(RTM_NEWADDR, 0, [{ type: 1, value: ADDR }]);
  const truncated = { ...bad, payload: bad.payload.subarray(0, bad.payload.length - 3) };
  t.throws(() => decodeAddrMessage(truncated), { instanceOf: DecodeError, message: /rta_len/ });
  t.throws(() => decodeAddrMessage({ ...bad, type: RTM_NEWLINK }), { message: /not RTM_NEWADDR/ });
});

test('link: RTM_GETLINK by name and dump encodings', (t) => {
  t.deepEqual(
    encodeGetLinkByName(3, 'veth0'),
    hex(
      '2c000000 1200 0500 03000000 00000000 00000000 00000000 00000000 00000000 0a00 0300 7665746830 00 0000',
    ),
  );
  t.deepEqual(encodeGetLinkDump(4), hex('20000000 1200 0103 04000000 00000000' + '00'.repeat(16)));
  t.throws(() => checkIfname(''));
  t.throws(() => checkIfname('a'.repeat(16)));
  t.throws(() => checkIfname('a/b'));
  t.notThrows(() => checkIfname('a'.repeat(15)));
});

test('link: decode RTM_NEWLINK with name, mtu, operstate; strict on short and bad attrs', (t) => {
  const body = new Uint8Array([
    ...hex('00 00 0100 07000000 43100100 ffffffff'),
    ...encodeRtattrs([
      { type: 3, value: hex('6574683000') },
      { type: 4, value: hex('dc050000') },
      { type: 16, value: hex('06') },
    ]),
  ]);
  const m = decodeNlmsgs(encodeNlmsg({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0 }, body))[0]!;
  t.deepEqual(decodeLinkMessage(m), {
    family: 0,
    deviceType: 1,
    index: 7,
    flags: 0x11043,
    change: 0xffffffff,
    ifname: 'eth0',
    mtu: 1500,
    operstate: 6,
  });
  t.is(decodeLinkMessage({ ...m, type: RTM_DELLINK }).index, 7);
  t.throws(() => decodeLinkMessage({ ...m, payload: m.payload.subarray(0, 15) }), { message: /need 16/ });
  t.throws(() => decodeLinkMessage({ ...m, type: RTM_NEWADDR }), { message: /not RTM_NEWLINK/ });
  const badOp = new Uint8Array([
    ...body.subarray(0, 16),
    ...encodeRtattrs([{ type: 16, value: hex('0607') }]),
  ]);
  const mb = decodeNlmsgs(encodeNlmsg({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0 }, badOp))[0]!;
  t.throws(() => decodeLinkMessage(mb), { message: /IFLA_OPERSTATE/ });
});
