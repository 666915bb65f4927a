// Whether an unprivileged account can read a file, decided from modes, owners and the account's
// ids alone (path_resolution(7), without ACLs or capabilities): every directory on the way needs
// search permission (x), the file read permission (r), taken from the owner bits when the account
// owns the node, else the group bits when one of its groups does, else the other bits.
// The handoff runs as root but systemd-networkd reads its configuration as User=systemd-network and
// silently skips what it cannot read, so the handoff checks its drop-in against that account.

/** A passwd entry's ids: the uid, the primary gid and the supplementary groups from /etc/group. */
export interface Account {
  uid: number;
  gids: number[];
}

/** What the check needs of one path component (lstat of a directory or the file). */
export interface NodeMode {
  path: string;
  /** st_mode; only the permission bits are used. */
  mode: number;
  uid: number;
  gid: number;
}

/** The account `name` from passwd(5) and group(5) texts; undefined when it does not exist. */
export function parseAccount(name: string, passwd: string, group: string): Account | undefined {
  const entry = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name && f.length >= 4);
  if (!entry) return undefined;
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  const gids = [gid];
  for (const f of group.split('\n').map((l) => l.split(':'))) {
    const g = Number(f[2]);
    if (f.length >= 4 && Number.isInteger(g) && f[3]!.split(',').includes(name) && !gids.includes(g)) {
      gids.push(g);
    }
  }
  return { uid, gids };
}

function allows(account: Account, node: NodeMode, bit: 4 | 1): boolean {
  const shift = node.uid === account.uid ? 6 : account.gids.includes(node.gid) ? 3 : 0;
  return ((node.mode >> shift) & bit) !== 0;
}

/**
 * The first component that stops `account` from reading the last node of `chain` (directories from
 * the root down, then the file), or undefined when it can read it.
 */
export function firstDenied(account: Account, chain: readonly NodeMode[]): NodeMode | undefined {
  return chain.find((node, i) => !allows(account, node, i === chain.length - 1 ? 4 : 1));
}
