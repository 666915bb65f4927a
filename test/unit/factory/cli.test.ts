// The real `xtt-factory` program (factory/main.ts through tsx, as a child process): --help on every
// subcommand, --json machine output, exit codes from factory/exit-codes.ts, and secrets never printed.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXIT } from '../../../factory/exit-codes.ts';
import { toHex } from '../../../protocol/util/bytes.ts';

const MAIN = join(import.meta.dirname, '../../../factory/main.ts');
const execFileP = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function factory(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import=tsx', MAIN, ...args], {
      timeout: 600_000, // a bound for a hung child, not a speed check (CI may be loaded)
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'factory-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SUBCOMMANDS = [
  [],
  ['create-batch'],
  ['label'],
  ['root'],
  ['root', 'create'],
  ['server-cert'],
  ['preflight'],
  ['provision'],
  ['inspect'],
];

for (const sub of SUBCOMMANDS) {
  test(`--help: xtt-factory ${sub.join(' ') || '(top level)'}`, async (t) => {
    const r = await factory(...sub, '--help');
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`xtt-factory ${sub.join(' ')}`));
    t.regex(r.stdout, /--json/);
    t.regex(r.stdout, /--help/);
  });
}

test('create-batch --json, then label --json; the issuer secret key never appears in output', async (t) => {
  const dir = join(tmp(t), 'lot-9');
  const r = await factory('create-batch', '--out', dir, '--size', '4', '--json');
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    name: string;
    size: number;
    issued: number;
    gid: string;
    label: { payload: string };
  };
  t.is(out.name, 'lot-9');
  t.is(out.size, 4);
  t.is(out.issued, 0);
  t.regex(out.gid, /^[0-9a-f]{64}$/);
  t.true(out.label.payload.startsWith('XTT1:'));
  const isk = toHex(readFileSync(join(dir, 'issuer-secret.key')));
  t.false(r.stdout.includes(isk.slice(0, 32)) || r.stderr.includes(isk.slice(0, 32)));
  const human = await factory('label', '--batch', dir);
  t.is(human.code, 0);
  t.regex(human.stdout, /batch lot-9 {2}gid [0-9a-f]{16}/);
  t.false(human.stdout.includes(isk.slice(0, 32)));
  const again = JSON.parse((await factory('label', '--batch', dir, '--json')).stdout) as {
    gid: string;
    label: { payload: string };
  };
  t.is(again.gid, out.gid);
  t.is(again.label.payload, out.label.payload);
});

test('exit codes: usage 2, existing batch 3, corrupt batch 4; --json error document', async (t) => {
  const dir = tmp(t);
  t.is((await factory('create-batch')).code, EXIT.USAGE);
  t.is((await factory('no-such-command')).code, EXIT.USAGE);
  t.is((await factory('create-batch', '--out', join(dir, 'b'), '--size', 'many')).code, EXIT.USAGE);
  // A wrong value is bad input, not a usage error.
  t.is((await factory('create-batch', '--out', join(dir, 'b'), '--size', '0')).code, EXIT.BAD_INPUT);
  t.is(
    (await factory('create-batch', '--out', join(dir, 'b'), '--name', 'n'.repeat(65))).code,
    EXIT.BAD_INPUT,
  );
  t.is((await factory('create-batch', '--out', join(dir, 'b'), '--basename', '')).code, EXIT.BAD_INPUT);
  t.is((await factory('create-batch', '--out', join(dir, 'b'))).code, 0);
  const exists = await factory('create-batch', '--out', join(dir, 'b'), '--json');
  t.is(exists.code, EXIT.EXISTS);
  t.like(JSON.parse(exists.stderr), { error: { code: 'EXISTS', exitCode: EXIT.EXISTS } });
  t.is(exists.stdout, '', 'with --json stdout holds only a result');
  const missing = await factory('label', '--batch', join(dir, 'nothing'));
  t.is(missing.code, EXIT.NOT_FOUND);
  t.regex(missing.stderr, /NOT_FOUND: .*nothing: no such batch directory/);
  // A directory that is there but holds no batch is bad input.
  const notBatch = await factory('label', '--batch', dir);
  t.is(notBatch.code, EXIT.BAD_INPUT);
  t.regex(notBatch.stderr, /BATCH_CORRUPT: .*manifest\.json: \(file\): missing: not a batch/);
});

test('root create and server-cert write the reference file sizes; refuse to overwrite', async (t) => {
  const dir = tmp(t);
  const root = await factory('root', 'create', '--out', join(dir, 'root'), '--json');
  t.is(root.code, 0, root.stderr);
  const r = JSON.parse(root.stdout) as { rootId: string; keyFile: string; certificate: string };
  t.regex(r.rootId, /^[0-9a-f]{32}$/);
  t.is(readFileSync(r.keyFile).length, 121);
  t.is(readFileSync(r.certificate).length, 81);
  const srv = await factory('server-cert', '--root', join(dir, 'root'), '--out', join(dir, 'srv'), '--json');
  t.is(srv.code, 0, srv.stderr);
  const s = JSON.parse(srv.stdout) as { rootId: string; reserved: string; certificate: string };
  t.is(s.rootId, r.rootId);
  t.is(s.reserved, 'XAPTUMSERVER000199991231');
  t.is(readFileSync(s.certificate).length, 169);
  const key = toHex(readFileSync(r.keyFile).subarray(7, 39));
  t.false(root.stdout.includes(key) || srv.stdout.includes(key), 'root private key never printed');
  t.is((await factory('root', 'create', '--out', join(dir, 'root'))).code, EXIT.EXISTS);
  t.is(
    (
      await factory(
        'server-cert',
        '--root',
        join(dir, 'root'),
        '--out',
        join(dir, 's2'),
        '--reserved',
        'short',
      )
    ).code,
    EXIT.BAD_INPUT,
  );
});

test('the package.json bin launcher runs from any working directory', async (t) => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const launcher = join(import.meta.dirname, '../../../', pkg.bin['xtt-factory']!);
  const cwd = tmp(t);
  const { stdout } = await execFileP(process.execPath, [launcher, 'root', 'create', '--out', 'r', '--json'], {
    cwd,
    timeout: 600_000,
  });
  t.is(readFileSync(join(cwd, 'r', 'root_cert.bin')).length, 81);
  t.regex((JSON.parse(stdout) as { rootId: string }).rootId, /^[0-9a-f]{32}$/);
});
