// Tests for agent/network-manager/file-access.ts: the account from passwd and group texts, and
// which path component stops it from reading a file (owner, then group, then other bits).
import test from 'ava';
import { firstDenied, parseAccount, type NodeMode } from '../../../../agent/network-manager/file-access.ts';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin',
  '',
].join('\n');
const GROUP = [
  'root:x:0:',
  'systemd-network:x:998:',
  'netdev:x:108:systemd-network,alice',
  'adm:x:4:alice',
  '',
].join('\n');

test('parseAccount: uid, primary gid and the groups that list the account', (t) => {
  t.deepEqual(parseAccount('systemd-network', PASSWD, GROUP), { uid: 998, gids: [998, 108] });
  t.is(parseAccount('nobody', PASSWD, GROUP), undefined);
  t.is(parseAccount('bad', 'bad:x:uid:gid:::\n', ''), undefined);
});

const node = (path: string, mode: number, uid = 0, gid = 0): NodeMode => ({ path, mode, uid, gid });
const account = { uid: 998, gids: [998, 108] };

test('firstDenied: search on each directory, read on the file, by owner, group or other bits', (t) => {
  const ok = [node('/', 0o755), node('/run', 0o755), node('/run/d', 0o755), node('/run/d/f', 0o644)];
  t.is(firstDenied(account, ok), undefined);
  t.is(firstDenied(account, [ok[0]!, ok[1]!, node('/run/d', 0o700), ok[3]!])?.path, '/run/d');
  t.is(firstDenied(account, [ok[0]!, ok[1]!, ok[2]!, node('/run/d/f', 0o600)])?.path, '/run/d/f');
  t.is(
    firstDenied(account, [ok[0]!, node('/run/d', 0o750, 0, 108), node('/run/d/f', 0o640, 0, 998)]),
    undefined,
  );
  t.is(
    firstDenied(account, [ok[0]!, node('/run/d', 0o700, 998, 0), node('/run/d/f', 0o400, 998, 0)]),
    undefined,
  );
  // Owner bits decide for the owner even when the other bits would allow it.
  t.is(firstDenied(account, [ok[0]!, node('/run/d/f', 0o044, 998, 0)])?.path, '/run/d/f');
  // A directory needs x, not r; the file needs r, not x.
  t.is(firstDenied(account, [node('/', 0o711), node('/f', 0o444)]), undefined);
});
