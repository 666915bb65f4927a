// Tests for agent/cli.ts with injected handlers: default command, flags mapped back to dotted
// settings, --help on every command, usage errors as exit 2, handler exit codes passed through.
import test from 'ava';
import { runCli, type CliHandlers, type CommonArgs } from '../../../agent/cli.ts';
import { EXIT, EXIT_TABLE } from '../../../agent/exit-codes.ts';
import { ConfigError } from '../../../agent/errors.ts';

function harness(runCode: number = EXIT.OK) {
  const calls: { cmd: string; args: CommonArgs & { remove?: boolean } }[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const h: CliHandlers = {
    run: async (a) => {
      calls.push({ cmd: 'run', args: a });
      return { human: '', json: { ran: true }, exitCode: runCode };
    },
    status: async (a) => {
      calls.push({ cmd: 'status', args: a });
      return { human: 'not provisioned', json: { provisioned: false }, exitCode: EXIT.NOT_PROVISIONED };
    },
    handoff: async (a) => {
      calls.push({ cmd: 'handoff', args: a });
      throw new ConfigError('network.manager', 'must be one of auto, networkd, networkmanager, none');
    },
  };
  const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
  return { calls, out, err, cli: (args: string[]) => runCli(args, h, io) };
}

test('no command runs `run`; setting flags come back under their dotted keys', async (t) => {
  const x = harness();
  const code = await x.cli([
    '--server-host',
    'enf',
    '--server-port',
    '5555',
    '--timeouts-dad-ms',
    '20',
    '--nodad',
  ]);
  t.is(code, EXIT.OK);
  t.is(x.calls.length, 1);
  t.is(x.calls[0]!.cmd, 'run');
  t.deepEqual(x.calls[0]!.args.settings, {
    'server.host': 'enf',
    'server.port': 5555,
    nodad: true,
    'timeouts.dadMs': 20,
  });
  t.is(x.calls[0]!.args.config, undefined);
});

test('`run --config F` and the handler exit code pass through', async (t) => {
  const x = harness(EXIT.SERVER_REFUSED);
  t.is(await x.cli(['run', '--config', '/tmp/c.json', '--verbose']), EXIT.SERVER_REFUSED);
  t.is(x.calls[0]!.args.config, '/tmp/c.json');
  t.true(x.calls[0]!.args.verbose);
});

test('`handoff --remove` and the network settings reach the handoff handler', async (t) => {
  const x = harness();
  const code = await x.cli([
    'handoff',
    '--remove',
    '--network-manager',
    'networkd',
    '--network-persist',
    'persistent',
  ]);
  t.is(code, EXIT.CONFIG, 'a thrown error ends with its exit code');
  t.regex(x.err.join(''), /^xtt-agent: CONFIG: config network\.manager: must be one of /);
  t.like(x.calls[0], { cmd: 'handoff', args: { remove: true, json: false } });
  t.deepEqual(x.calls[0]!.args.settings, { 'network.manager': 'networkd', 'network.persist': 'persistent' });
});

test('`status --json` reaches the status handler; its result is one JSON document, its code the exit code', async (t) => {
  const x = harness();
  t.is(await x.cli(['status', '--json']), EXIT.NOT_PROVISIONED);
  t.like(x.calls[0], { cmd: 'status', args: { json: true } });
  t.deepEqual(JSON.parse(x.out.join('')), { provisioned: false });
  const human = harness();
  await human.cli(['status']);
  t.is(human.out.join(''), 'not provisioned\n');
});

test('--json errors: one JSON line on stderr with code, message, exit code and field', async (t) => {
  const x = harness();
  t.is(await x.cli(['handoff', '--json']), EXIT.CONFIG);
  t.deepEqual(JSON.parse(x.err.join('')), {
    error: {
      code: 'CONFIG',
      message: 'config network.manager: must be one of auto, networkd, networkmanager, none',
      exitCode: EXIT.CONFIG,
      field: 'network.manager',
    },
  });
  const usage = harness();
  t.is(await usage.cli(['--bogus', '--json']), EXIT.USAGE);
  t.like(JSON.parse(usage.err.join('')), { error: { code: 'USAGE', exitCode: EXIT.USAGE } });
  t.deepEqual(usage.out, []);
});

test('--help on the program and on each command prints usage with the exit-code table; no handler runs', async (t) => {
  for (const args of [['--help'], ['run', '--help'], ['status', '--help'], ['-h']]) {
    const x = harness();
    t.is(await x.cli(args), EXIT.OK, args.join(' '));
    t.deepEqual(x.calls, []);
    const text = x.out.join('');
    t.regex(text, /xtt-agent/);
    for (const { code, meaning } of Object.values(EXIT_TABLE)) t.true(text.includes(`${code}  ${meaning}`));
    t.regex(text, /Documentation: agent\/README\.md\n$/);
  }
  const x = harness();
  await x.cli(['status', '--help']);
  t.regex(x.out.join(''), /--json/);
});

test('usage errors: unknown flag, unknown command, bad number: exit 2 and no handler', async (t) => {
  for (const args of [['--bogus'], ['frobnicate'], ['status', '--extra']]) {
    const x = harness();
    t.is(await x.cli(args), EXIT.USAGE, args.join(' '));
    t.deepEqual(x.calls, []);
    t.regex(x.err.join(''), /^xtt-agent: USAGE: .*\nRun 'xtt-agent --help' for usage\.\n$/);
  }
});

test('--version prints the version', async (t) => {
  const x = harness();
  t.is(await x.cli(['--version']), EXIT.OK);
  t.regex(x.out.join(''), /^\d+\.\d+\.\d+/);
});
