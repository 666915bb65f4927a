// Hands the stored identity address to the network manager the device runs, as that manager's own
// configuration, so nothing of the agent needs to stay resident after READY=1 (`xtt-agent handoff`,
// run by the unit's ExecStartPost= with the privileges the managers require):
//   networkd:        networkd.ts drop-in, then `networkctl reload` (only when the file changed);
//   networkmanager:  networkmanager.ts connection change, then `nmcli device reapply`;
//   none:            nothing (the agent's netlink path already put the address on the interface).
// takeBack() undoes it for a factory reset: every drop-in named DROPIN_NAME in both networkd
// directories, and the address on NetworkManager's active connection.
import { constants as fsc } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NetworkManagerChoice, NetworkPersistence } from '../config.ts';
import { NetworkManagerError } from '../errors.ts';
import { formatIpv6 } from '../../protocol/util/ipv6.ts';
import type { Logger } from '../logger.ts';
import { chooseManager, type ManagerDecision, type ManagerFacts } from './choose.ts';
import type { CommandRunner } from './command-runner.ts';
import { firstDenied, parseAccount, type NodeMode } from './file-access.ts';
import {
  DROPIN_NAME,
  NETWORKD_DIRS,
  dropInPath,
  parseLinkState,
  renderDropIn,
  type NetworkdDirs,
} from './networkd.ts';
import {
  ACTIVE_CONNECTIONS_ARGS,
  addAddressArgs,
  connectionIpv6Args,
  deviceStateArgs,
  NM_DEVICE_STATE_ACTIVATED,
  parseActiveConnection,
  parseDeviceState,
  parseConnectionIpv6,
  reapplyArgs,
  removeAddressArgs,
} from './networkmanager.ts';

/** Where the host's facts are read and networkd's files written (tests point these at temp dirs). */
export interface HandoffHost {
  runner: CommandRunner;
  /** /sys/class/net: IFNAME/ifindex */
  sysClassNet: string;
  /** /run/systemd/netif/links: networkd's per-link state, by ifindex */
  netifLinks: string;
  networkd: NetworkdDirs;
  /** /etc: passwd and group, for the account networkd reads its configuration as */
  etc: string;
  log: Logger;
  /** Waits between looks at NetworkManager's device state (tests pass one that returns at once). */
  sleep?: (ms: number) => Promise<void>;
}

export const HOST_PATHS = {
  sysClassNet: '/sys/class/net',
  netifLinks: '/run/systemd/netif/links',
  networkd: NETWORKD_DIRS,
  etc: '/etc',
} as const;

export interface HandoffRequest {
  choice: NetworkManagerChoice;
  persist: NetworkPersistence;
  ifname: string;
  address: Uint8Array;
  prefixLen: number;
  nodad: boolean;
}

export interface HandoffResult {
  manager: ManagerDecision['kind'];
  /** False when the manager already had exactly this configuration. */
  changed: boolean;
  /** The drop-in path, the connection UUID, or why no manager was used. */
  detail: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function isActive(host: HandoffHost, unit: string): Promise<boolean> {
  return (await host.runner.run('systemctl', ['is-active', '--quiet', unit])).status === 0;
}

async function mustRun(host: HandoffHost, manager: string, file: string, args: string[]): Promise<string> {
  const r = await host.runner.run(file, args);
  if (r.status !== 0) {
    const why = r.stderr.trim().split('\n').at(-1) || `exit status ${r.status}`;
    throw new NetworkManagerError(manager, `${file} ${args.join(' ')} failed: ${why}`);
  }
  return r.stdout;
}

/** What runs on the host and manages `ifname`. */
export async function gatherFacts(host: HandoffHost, ifname: string): Promise<ManagerFacts> {
  const facts: ManagerFacts = { networkd: { isRunning: false }, networkManager: { isRunning: false } };
  if (await isActive(host, 'systemd-networkd.service')) {
    facts.networkd.isRunning = true;
    const index = (await readText(join(host.sysClassNet, ifname, 'ifindex')))?.trim();
    const state = index ? await readText(join(host.netifLinks, index)) : undefined;
    if (state !== undefined) Object.assign(facts.networkd, parseLinkState(state));
  }
  if (await isActive(host, 'NetworkManager.service')) {
    facts.networkManager.isRunning = true;
    const r = await host.runner.run('nmcli', ACTIVE_CONNECTIONS_ARGS);
    const uuid = r.status === 0 ? parseActiveConnection(r.stdout, ifname) : undefined;
    if (uuid) facts.networkManager.connectionUuid = uuid;
  }
  return facts;
}

/** Modes networkd needs: it runs as User=systemd-network and skips what it cannot read. */
const DROPIN_DIR_MODE = 0o755;
/** systemd-networkd.service's User=. */
const NETWORKD_USER = 'systemd-network';
const DROPIN_FILE_MODE = 0o644;

/**
 * Replaces `path` atomically (temp, fsync, rename, fsync dir), world-readable for networkd. The
 * modes are set explicitly: mkdir() and open() apply the process umask, and the unit's UMask=0077
 * holds for ExecStartPost=+ too, which left /run/systemd/network 0700 and the drop-in 0600, so
 * networkd (not root) silently skipped both and dropped the identity at its next reconfiguration.
 * Directories that already existed keep their modes (they are the image's).
 */
async function writeReplacing(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const firstCreated = await mkdir(dir, { recursive: true, mode: DROPIN_DIR_MODE });
  if (firstCreated !== undefined) {
    for (let d = dir; ; d = dirname(d)) {
      await chmod(d, DROPIN_DIR_MODE);
      if (d === firstCreated || d === dirname(d)) break;
    }
  }
  const temp = join(dir, `.${DROPIN_NAME}.tmp-${process.pid}`);
  const fh = await open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW, DROPIN_FILE_MODE);
  try {
    await fh.chmod(DROPIN_FILE_MODE);
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  const dh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

async function modeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Fails (exit 14) unless systemd-networkd's account can read the drop-in through every directory
 * above it: networkd skips an unreadable drop-in without an error and would drop the identity at
 * its next reconfiguration, while the address the agent put there itself hides that until then.
 * An image without that account (networkd from elsewhere) is not checked.
 */
async function assertNetworkdCanRead(host: HandoffHost, path: string): Promise<void> {
  const passwd = await readText(join(host.etc, 'passwd'));
  const account =
    passwd === undefined
      ? undefined
      : parseAccount(NETWORKD_USER, passwd, (await readText(join(host.etc, 'group'))) ?? '');
  if (!account) {
    host.log.debug(`no ${NETWORKD_USER} account in ${host.etc}/passwd: drop-in access not checked`);
    return;
  }
  const chain: NodeMode[] = [];
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(p);
    chain.unshift({ path: p, mode: st.mode, uid: st.uid, gid: st.gid });
    if (p === dirname(p)) break;
  }
  const denied = firstDenied(account, chain);
  if (denied) {
    const mode = (denied.mode & 0o7777).toString(8).padStart(4, '0');
    throw new NetworkManagerError(
      'networkd',
      `systemd-networkd reads its configuration as ${NETWORKD_USER}, which cannot ` +
        `${denied.path === path ? 'read' : 'search'} ${denied.path} (mode ${mode}, owner ` +
        `${denied.uid}:${denied.gid}): networkd would ignore ${path}`,
    );
  }
}

/** Looks at the device state every ACTIVATION_POLL_MS, ACTIVATION_POLLS times at most (3 min). */
const ACTIVATION_POLL_MS = 2_000;
const ACTIVATION_POLLS = 90;

/**
 * `nmcli device reapply` once the device is activated. At boot the agent can be READY while
 * NetworkManager is still activating the connection (DHCP), and reapply refuses a device that is
 * not activated; the changed profile alone would only count from the next activation.
 */
async function reapplyWhenActivated(host: HandoffHost, ifname: string): Promise<void> {
  const sleep = host.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let poll = 0; ; poll++) {
    const r = await host.runner.run('nmcli', deviceStateArgs(ifname));
    const state = r.status === 0 ? parseDeviceState(r.stdout) : undefined;
    if (state === NM_DEVICE_STATE_ACTIVATED) break;
    const seen = r.status === 0 ? r.stdout.trim() : r.stderr.trim();
    if (poll >= ACTIVATION_POLLS) {
      throw new NetworkManagerError(
        'networkmanager',
        `${ifname} not activated ${(ACTIVATION_POLLS * ACTIVATION_POLL_MS) / 1000} s after the ` +
          `connection change (device state: ${seen || 'unknown'}), so it cannot be reapplied`,
      );
    }
    if (poll === 0) host.log.info(`waiting for NetworkManager to activate ${ifname} (${seen || 'unknown'})`);
    await sleep(ACTIVATION_POLL_MS);
  }
  await mustRun(host, 'networkmanager', 'nmcli', reapplyArgs(ifname));
}

export async function handOff(host: HandoffHost, req: HandoffRequest): Promise<HandoffResult> {
  const decision = chooseManager(req.choice, await gatherFacts(host, req.ifname), req.ifname);
  const text = formatIpv6(req.address);
  const cidr = `${text}/${req.prefixLen}`;
  if (decision.kind === 'none') return { manager: 'none', changed: false, detail: decision.reason };

  if (decision.kind === 'networkd') {
    const path = dropInPath(decision.networkFile, req.persist, host.networkd);
    const other = dropInPath(
      decision.networkFile,
      req.persist === 'runtime' ? 'persistent' : 'runtime',
      host.networkd,
    );
    const wanted = renderDropIn({ address: text, prefixLen: req.prefixLen, nodad: req.nodad });
    let changed = false;
    if ((await readText(path)) !== wanted || (await modeOf(path)) !== DROPIN_FILE_MODE) {
      await writeReplacing(path, wanted);
      changed = true;
    }
    if ((await readText(other)) !== undefined) {
      await rm(other);
      changed = true;
    }
    await assertNetworkdCanRead(host, path);
    if (changed) await mustRun(host, 'networkd', 'networkctl', ['reload']);
    host.log.info(`${cidr} handed to systemd-networkd: ${path}${changed ? ' (reloaded)' : ' (unchanged)'}`);
    return { manager: 'networkd', changed, detail: path };
  }

  const uuid = decision.connectionUuid;
  const current = parseConnectionIpv6(
    await mustRun(host, 'networkmanager', 'nmcli', connectionIpv6Args(uuid)),
  );
  const modify = addAddressArgs(uuid, cidr, current, req.persist);
  if (modify) {
    await mustRun(host, 'networkmanager', 'nmcli', modify);
    await reapplyWhenActivated(host, req.ifname);
  }
  host.log.info(
    `${cidr} handed to NetworkManager: connection ${uuid}${modify ? ' (reapplied)' : ' (unchanged)'}`,
  );
  return { manager: 'networkmanager', changed: modify !== undefined, detail: uuid };
}

/**
 * Removes what handOff() wrote, wherever it was; returns what was removed. `cidr` (the identity
 * with its prefix) is needed for NetworkManager only; without it only networkd's drop-ins go.
 */
export async function takeBack(
  host: HandoffHost,
  ifname: string,
  cidr: string | undefined,
): Promise<string[]> {
  const removed: string[] = [];
  for (const base of [host.networkd.runtime, host.networkd.persistent]) {
    let entries: string[] = [];
    try {
      entries = await readdir(base);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const d of entries.filter((e) => e.endsWith('.network.d'))) {
      const path = join(base, d, DROPIN_NAME);
      if ((await readText(path)) === undefined) continue;
      await rm(path);
      removed.push(path);
    }
  }
  if (removed.length > 0 && (await isActive(host, 'systemd-networkd.service'))) {
    await mustRun(host, 'networkd', 'networkctl', ['reload']);
  }
  const uuid = (await gatherFacts(host, ifname)).networkManager.connectionUuid;
  if (uuid && cidr) {
    const current = parseConnectionIpv6(
      await mustRun(host, 'networkmanager', 'nmcli', connectionIpv6Args(uuid)),
    );
    const modify = removeAddressArgs(uuid, cidr, current);
    if (modify) {
      await mustRun(host, 'networkmanager', 'nmcli', modify);
      await reapplyWhenActivated(host, ifname);
      removed.push(`NetworkManager connection ${uuid}: ${cidr}`);
    }
  }
  return removed;
}
