// The koffi netlink socket against the running kernel, read-only and unprivileged: RTM_GETLINK for
// the loopback interface, a receive with nothing queued, and close() waking a pending poll (the
// waiting happens on koffi's worker thread, so the event loop keeps running meanwhile).
import test from 'ava';
import { RtnetlinkConfigurator } from '../../../../agent/netlink/rtnetlink-configurator.ts';
import { KoffiNetlinkSocket } from '../../../../agent/netlink/socket.ts';
import { decodeNlmsgs } from '../../../../agent/netlink/codec.ts';
import { encodeGetLinkDump, decodeLinkMessage } from '../../../../agent/netlink/link.ts';
import { NLMSG_DONE, RTM_NEWLINK, RTMGRP_LINK } from '../../../../agent/netlink/constants.ts';

test('findInterface("lo") through a real NETLINK_ROUTE socket', async (t) => {
  const c = new RtnetlinkConfigurator((g) => new KoffiNetlinkSocket(g));
  try {
    t.is(await c.findInterface('lo'), 1);
    await t.throwsAsync(c.findInterface('nosuch-if-9'), { message: /does not exist/ });
  } finally {
    await c.close();
  }
});

test('a link dump ends with NLMSG_DONE and includes lo', async (t) => {
  const s = new KoffiNetlinkSocket();
  try {
    s.send(encodeGetLinkDump(77));
    const names: string[] = [];
    let done = false;
    while (!done) {
      const d = await s.recv(5000);
      if (!d) throw new Error('no answer');
      for (const m of decodeNlmsgs(d)) {
        if (m.seq !== 77) continue;
        if (m.type === NLMSG_DONE) done = true;
        else if (m.type === RTM_NEWLINK) names.push(decodeLinkMessage(m).ifname ?? '?');
      }
    }
    t.true(names.includes('lo'));
  } finally {
    await s.close();
  }
});

test('recv times out with null; close() ends a pending recv while the event loop keeps running', async (t) => {
  const s = new KoffiNetlinkSocket(RTMGRP_LINK);
  t.is(await s.recv(50), null);
  const pending = s.recv(600_000);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  await new Promise((r) => setTimeout(r, 100));
  clearInterval(timer);
  t.true(ticks > 0, 'event loop not blocked by the wait');
  await s.close();
  t.is(await pending, null);
  t.throws(() => s.send(new Uint8Array(16)), { message: /closed/ });
});
