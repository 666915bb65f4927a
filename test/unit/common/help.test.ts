// --help of every command of the three programs (xtt-factory, enf-server, xtt-agent), run in
// process: every option has a description (one line saying what it does; yargs adds its type and
// default), and every help ends with the exit codes and the program's README (common/cli.ts).
// Commands are found by walking each help's "Commands:" list, so a new command is covered at once.
import test from 'ava';
import { runCli as agentCli, SETTING_HELP, type CliHandlers } from '../../../agent/cli.ts';
import { SETTINGS } from '../../../agent/config.ts';
import { runCli as factoryCli } from '../../../factory/cli.ts';
import { runCli as serverCli } from '../../../server-stub/cli/cli.ts';

type Help = (argv: string[]) => Promise<string>;

function capture(
  run: (argv: string[], io: { stdout(s: string): void; stderr(s: string): void }) => Promise<number>,
): Help {
  return async (argv) => {
    let out = '';
    const code = await run(argv, { stdout: (s) => (out += s), stderr: (s) => (out += s) });
    if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${out}`);
    return out;
  };
}

const never = (): Promise<never> => Promise.reject(new Error('--help must not run a command'));
const handlers: CliHandlers = { run: never, status: never, handoff: never };

const PROGRAMS: { name: string; readme: string; help: Help }[] = [
  { name: 'xtt-factory', readme: 'factory/README.md', help: capture((a, io) => factoryCli(a, io)) },
  { name: 'enf-server', readme: 'server-stub/README.md', help: capture((a, io) => serverCli(a, io)) },
  { name: 'xtt-agent', readme: 'agent/README.md', help: capture((a, io) => agentCli(a, handlers, io)) },
];

/** The command paths a help lists under "Commands:" (`PROG network add  ...` -> ['network', 'add']). */
function subcommands(prog: string, help: string): string[][] {
  const section = /\nCommands:\n([\s\S]*?)\n\n/.exec(help)?.[1] ?? '';
  const out: string[][] = [];
  for (const line of section.split('\n')) {
    const m = new RegExp(`^  ${prog} ((?:[a-z][\\w-]*)(?: [a-z][\\w-]*)*)`).exec(line);
    if (m) out.push(m[1]!.split(' '));
  }
  return out;
}

/** Options whose help line has no words between the flag and yargs' [type] [default] marks. */
function undescribed(help: string): string[] {
  const section = /\nOptions:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
  const bare: string[] = [];
  for (const line of section.split('\n')) {
    const m = /^\s+(?:-\w, )?--([\w-]+)(.*)$/.exec(line);
    if (!m) continue;
    // A generated placeholder ("setting server.host") says nothing either.
    const words = m[2]!
      .replace(/\[[^\]]*\]/g, '')
      .replace(/;?\s*setting \S+\s*$/, '')
      .trim();
    if (words === '') bare.push(`--${m[1]}`);
  }
  return bare;
}

for (const p of PROGRAMS) {
  test(`${p.name}: every option of every command has a description; every help ends with exit codes and ${p.readme}`, async (t) => {
    const seen = new Set<string>();
    const queue: string[][] = [[]];
    const problems: string[] = [];
    while (queue.length > 0) {
      const path = queue.shift()!;
      const key = path.join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      const help = await p.help([...path, '--help']);
      const where = `${p.name} ${key}`.trim();
      for (const o of undescribed(help)) problems.push(`${where}: ${o} has no description`);
      if (!/\nExit codes:\n(?: +\d+ {2}\S.*\n)+/.test(help)) problems.push(`${where}: no exit codes`);
      if (!help.trimEnd().endsWith(`Documentation: ${p.readme}`))
        problems.push(`${where}: no README pointer at the end`);
      for (const sub of subcommands(p.name, help)) if (sub.length > path.length) queue.push(sub);
    }
    t.true(seen.size > 1, 'commands were found');
    t.deepEqual(problems, []);
  });
}

test('the option check itself: a bare option line is found, a described one is not', (t) => {
  const help = [
    'Options:',
    '      --port                                            [number] [default: 4444]',
    '      --bind   address to listen on                     [string] [default: "::"]',
    '  -h, --help   Show help                                               [boolean]',
    '      --suite  setting suite                                            [number]',
    '',
  ].join('\n');
  t.deepEqual(undescribed(`x\n${help}`), ['--port', '--suite']);
});

test('every xtt-agent setting has its own help line', (t) => {
  t.deepEqual(
    SETTINGS.map((s) => s.key).filter((k) => !SETTING_HELP[k]),
    [],
  );
  t.deepEqual(
    Object.keys(SETTING_HELP).filter((k) => !SETTINGS.some((s) => s.key === k)),
    [],
    'no help for a setting that does not exist',
  );
});
