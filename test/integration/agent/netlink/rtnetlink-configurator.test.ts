// Integration: the real RtnetlinkConfigurator (koffi socket, our codec) against the kernel, inside
// a network namespace made by the test (veth pair). Checked from outside with iproute2.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { suiteRequires } from '../../../helpers/requirements.ts';
import { createNetns, ipv6Addresses, type TestNetns } from '../../../helpers/netns.ts';

const test = suiteRequires('agent netlink integration', ['root', 'netns']);
const DRIVER = fileURLToPath(new URL('./fixtures/netlink-driver.ts', import.meta.url));
const ADDR_HEX = 'fd00747400000000000000000000a001';
const ADDR_TEXT = 'fd00:7474::a001';

class Driver {
  private readonly replies: ((v: Record<string, unknown>) => void)[] = [];
  private readonly eventWaiters: ((e: string) => void)[] = [];
  readonly events: string[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  stderr = '';
  constructor(ns: TestNetns) {
    this.child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', DRIVER]);
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if ('event' in msg) {
        const w = this.eventWaiters.shift();
        if (w) w(String(msg.event));
        else this.events.push(String(msg.event));
      } else this.replies.shift()?.(msg);
    });
  }
  call(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }
  nextEvent(timeoutMs = 120_000): Promise<string> {
    const queued = this.events.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no watch event; stderr: ${this.stderr}`)), timeoutMs);
      this.eventWaiters.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }
  async exit(): Promise<void> {
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.write(JSON.stringify({ op: 'exit' }) + '\n');
    await done;
  }
}

async function until(cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cond()) await new Promise((r) => setTimeout(r, 50));
}

async function withNs(run: (ns: TestNetns, d: Driver) => Promise<void>): Promise<void> {
  const ns = createNetns();
  const d = new Driver(ns);
  try {
    await run(ns, d);
  } finally {
    await d.exit().catch(() => d.child.kill('SIGKILL'));
    ns.destroy();
  }
}

test.serial('findInterface resolves the veth index and names a missing interface', async (t) => {
  await withNs(async (ns, d) => {
    const index = JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.ifname))[0].ifindex as number;
    t.deepEqual(await d.call({ op: 'find', ifname: ns.ifname }), { ok: index });
    const missing = await d.call({ op: 'find', ifname: 'nosuch0' });
    t.like(missing, { error: { code: 'INTERFACE_MISSING' } });
  });
});

test.serial('addAddress puts the address on the interface; adding it twice succeeds', async (t) => {
  await withNs(async (ns, d) => {
    t.deepEqual(await d.call({ op: 'add', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64, nodad: true }), {
      ok: null,
    });
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);
    t.deepEqual(await d.call({ op: 'add', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64, nodad: true }), {
      ok: null,
    });
    t.is(ipv6Addresses(ns, ns.ifname).length, 1);
    const got = await d.call({ op: 'get', ifname: ns.ifname, addr: ADDR_HEX });
    t.like(got, { ok: { prefixLen: 64, isTentative: false, isDadFailed: false } });
    t.like(await d.call({ op: 'add', ifname: 'nosuch0', addr: ADDR_HEX, prefix: 64 }), {
      error: { code: 'INTERFACE_MISSING' },
    });
  });
});

test.serial(
  'with DAD on the address starts tentative and waitNotTentative returns once DAD is done',
  async (t) => {
    await withNs(async (ns, d) => {
      t.deepEqual(await d.call({ op: 'add', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64 }), { ok: null });
      t.true(ipv6Addresses(ns, ns.ifname)[0]!.tentative, 'freshly added address is tentative');
      t.deepEqual(await d.call({ op: 'wait', ifname: ns.ifname, addr: ADDR_HEX, timeoutMs: 10_000 }), {
        ok: null,
      });
      t.false(ipv6Addresses(ns, ns.ifname)[0]!.tentative);
    });
  },
);

test.serial('waitNotTentative times out while the link is down (DAD cannot run)', async (t) => {
  await withNs(async (ns, d) => {
    ns.ip('link', 'set', ns.ifname, 'down');
    await d.call({ op: 'add', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64 });
    t.like(await d.call({ op: 'wait', ifname: ns.ifname, addr: ADDR_HEX, timeoutMs: 500 }), {
      error: { code: 'TIMEOUT' },
    });
  });
});

test.serial('the watcher puts back a flushed address and the address removed by link down/up', async (t) => {
  await withNs(async (ns, d) => {
    await d.call({ op: 'add', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64, nodad: true });
    t.deepEqual(await d.call({ op: 'watch', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64, nodad: true }), {
      ok: 'watching',
    });
    ns.ip('-6', 'addr', 'del', `${ADDR_TEXT}/64`, 'dev', ns.ifname);
    t.is(await d.nextEvent(), 'address-removed');
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);
    // `ip addr flush` loops until the table is empty; the watcher may re-add faster than that, and
    // then iproute2 gives up ("Flush remains incomplete"). Either way the address must come back.
    try {
      ns.ip('-6', 'addr', 'flush', 'dev', ns.ifname, 'scope', 'global');
    } catch (e) {
      t.regex(String(e), /Flush remains incomplete/);
    }
    t.is(await d.nextEvent(), 'address-removed');
    await until(() => ipv6Addresses(ns, ns.ifname).length === 1);
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);
    d.events.length = 0;
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);

    // keep_addr_on_down=0 (the default): link down drops the address; up brings the watcher's re-add.
    ns.ip('link', 'set', ns.ifname, 'down');
    ns.ip('link', 'set', ns.ifname, 'up');
    await until(() => ipv6Addresses(ns, ns.ifname).length > 0);
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);
    t.true(['address-removed', 'link-up'].includes(await d.nextEvent()));
    t.deepEqual(await d.call({ op: 'unwatch' }), { ok: 'unwatched' });
  });
});

test.serial('the watcher restores the address when the interface is deleted and recreated', async (t) => {
  await withNs(async (ns, d) => {
    await d.call({ op: 'watch', ifname: ns.ifname, addr: ADDR_HEX, prefix: 64, nodad: true });
    t.is(ipv6Addresses(ns, ns.ifname).length, 1, 'watch() applies the address at once');
    ns.ip('link', 'del', ns.ifname);
    ns.ip('link', 'add', ns.ifname, 'type', 'veth', 'peer', 'name', ns.peer);
    ns.ip('link', 'set', ns.ifname, 'up');
    ns.ip('link', 'set', ns.peer, 'up');
    await until(() => ipv6Addresses(ns, ns.ifname).length > 0);
    t.deepEqual(ipv6Addresses(ns, ns.ifname), [{ local: ADDR_TEXT, prefixlen: 64, tentative: false }]);
  });
});
