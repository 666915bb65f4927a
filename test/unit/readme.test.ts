// The root README's commands exist: every `npm run X` / `npm test` it names is a script in
// package.json, and every xtt-factory / enf-server / xtt-agent subcommand it names in code (fenced
// blocks and inline code, as the program name or as `npx tsx <entry>`) is listed by that program's
// own --help (the real yargs programs, run as child processes; nested groups such as `root`,
// `batch` are asked in turn).
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { namespaceSession, relocate, runnableBlocks } from '../helpers/readme-blocks.ts';

const REPO = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const PROGRAMS = {
  'xtt-factory': 'factory/main.ts',
  'enf-server': 'server-stub/main.ts',
  'xtt-agent': 'agent/main.ts',
} as const;
type Program = keyof typeof PROGRAMS;

/** Fenced code blocks and inline code spans of a Markdown text. */
export function codeTexts(md: string): string[] {
  const fenced = [...md.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const rest = md.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const inline = [...rest.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...fenced, ...inline];
}

/** Program invocations in code: program and the (up to two) command words after it. */
export function commandMentions(md: string): { program: Program; words: string[]; text: string }[] {
  const entryToProgram = new Map<string, Program>(
    Object.entries(PROGRAMS).map(([p, e]) => [e, p as Program]),
  );
  const re =
    /(?<![\w./-])(xtt-factory|enf-server|xtt-agent|npx tsx (?:factory|server-stub|agent)\/main\.ts)(?![\w./-])((?:[ \t]+[a-z][a-z-]*){0,2})/g;
  const out: { program: Program; words: string[]; text: string }[] = [];
  for (const code of codeTexts(md)) {
    for (const m of code.matchAll(re)) {
      const head = m[1]!;
      const program = head.startsWith('npx tsx ')
        ? entryToProgram.get(head.slice('npx tsx '.length))!
        : (head as Program);
      out.push({ program, words: m[2]!.trim().split(/\s+/).filter(Boolean), text: m[0] });
    }
  }
  return out;
}

/** `npm run X` and `npm test` mentions anywhere in the text. */
export function npmScripts(md: string): string[] {
  const runs = [...md.matchAll(/npm run (?:--silent |-s )?([a-z](?:[\w:-]*[\w-])?)/g)].map((m) => m[1]!);
  const tests = [...md.matchAll(/npm test\b/g)].map(() => 'test');
  return [...new Set([...runs, ...tests])];
}

function help(program: Program, path: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO, PROGRAMS[program]), ...path, '--help'],
      { cwd: REPO, timeout: 600_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${program} ${path.join(' ')} --help: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** The command words a --help text lists under "Commands:" (e.g. "batch assign"). */
export function listedCommands(program: Program, helpText: string): string[] {
  const start = helpText.indexOf('Commands:\n');
  if (start < 0) return [];
  const body = helpText.slice(start + 'Commands:\n'.length);
  const end = body.indexOf('\n\n');
  const section = end < 0 ? body : body.slice(0, end);
  return section
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/)[0] ?? '')
    .filter((c) => c.startsWith(`${program} `))
    .map((c) =>
      c
        .slice(program.length + 1)
        .split(' ')
        .filter((w) => /^[a-z][a-z-]*$/.test(w))
        .join(' '),
    );
}

/** The long option names a --help text lists under "Options:" (e.g. "since" for --since). */
export function listedOptions(helpText: string): string[] {
  const start = helpText.indexOf('Options:\n');
  if (start < 0) return [];
  return [...helpText.slice(start).matchAll(/^\s+(?:-\w, )?--([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

test('listedOptions reads the long option names of a --help text', (t) => {
  const h =
    'enf-server audit\n\nCommands:\n  enf-server audit operator  x\n\nOptions:\n' +
    '      --json   print JSON [boolean]\n  -h, --help   Show help [boolean]\n      --since  when [string]\n';
  t.deepEqual(listedOptions(h), ['json', 'help', 'since']);
  t.deepEqual(listedOptions('no options here'), []);
});

test('the extractors find commands, scripts and reject prose', (t) => {
  const md = [
    'Run `xtt-factory frobnicate --x` and `enf-server` alone; enf-server reached as prose.',
    '```sh',
    'npx tsx server-stub/main.ts batch assign lot-1 --network a',
    'cp dist/xtt-agent/xtt-agent.js /usr/lib/xtt-agent/',
    'npm run demo -- --exit && npm test; npm run -s demo; npm run demo: done',
    '```',
  ].join('\n');
  t.deepEqual(
    commandMentions(md).map((m) => `${m.program}:${m.words.join(' ')}`),
    ['enf-server:batch assign', 'xtt-factory:frobnicate', 'enf-server:'],
  );
  t.deepEqual(npmScripts(md).sort(), ['demo', 'test']);
  t.deepEqual(
    listedCommands(
      'enf-server',
      'x\n\nCommands:\n  enf-server batch assign <batch>  associate\n  enf-server batch list  list\n\nOptions:\n',
    ),
    ['batch assign', 'batch list'],
  );
});

test('the runnable blocks: marked ones only, split at the namespace shell, relocated', (t) => {
  const md = [
    '<!-- readme-run -->',
    '',
    '```sh',
    'ip netns add ztp',
    'ip netns exec ztp bash   # enter',
    'mkdir -p /tmp/ztp',
    '```',
    '```sh',
    'not marked',
    '```',
    '<!-- readme-run -->',
    '```sh',
    'exit',
    'ip netns del ztp && rm -r /tmp/ztp',
    '```',
  ].join('\n');
  const blocks = runnableBlocks(md);
  t.is(blocks.length, 2);
  const s = namespaceSession(blocks);
  t.deepEqual(s, {
    netns: 'ztp',
    before: 'ip netns add ztp',
    inside: 'mkdir -p /tmp/ztp',
    after: 'ip netns del ztp && rm -r /tmp/ztp\n',
  });
  t.is(
    relocate(s.after, { dir: '/tmp/ztp', netns: 'ztp' }, { dir: '/tmp/x-1', netns: 'ns-9' }),
    'ip netns del ns-9 && rm -r /tmp/x-1\n',
  );
  t.throws(() => namespaceSession([blocks[0]!]), { message: /exactly one/ });
});

test('the README marks its command examples runnable, all three programs among them', (t) => {
  const code = runnableBlocks(README).join('');
  for (const p of Object.keys(PROGRAMS))
    t.regex(code, new RegExp(`^${p} [a-z]`, 'm'), `${p} in a runnable block`);
  t.notThrows(() => namespaceSession(runnableBlocks(README)));
  t.false(/npx tsx/.test(code), 'no npx: signals must reach the programs');
});

test('every npm script the README names is in package.json', (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const named = npmScripts(README);
  t.true(
    named.includes('demo') && named.includes('bench'),
    `the README names demo and bench (${named.join(', ')})`,
  );
  for (const s of named) t.true(s in pkg.scripts, `npm run ${s}: no such script in package.json`);
});

test('every xtt-factory, enf-server and xtt-agent subcommand the README names exists', async (t) => {
  t.timeout(600_000);
  const mentions = commandMentions(README);
  for (const p of Object.keys(PROGRAMS) as Program[])
    t.true(
      mentions.some((m) => m.program === p && m.words.length > 0),
      `the README shows a ${p} command`,
    );
  const cache = new Map<string, Promise<string>>();
  const helpOf = (p: Program, path: string[]) => {
    const key = `${p} ${path.join(' ')}`;
    if (!cache.has(key)) cache.set(key, help(p, path));
    return cache.get(key)!;
  };
  const commandsOf = async (p: Program, path: string[]) => listedCommands(p, await helpOf(p, path));
  for (const m of mentions) {
    if (m.words.length === 0) continue;
    const top = await commandsOf(m.program, []);
    const first = m.words[0]!;
    t.true(
      top.includes(first),
      `README: "${m.text}": ${m.program} has no command ${first} (has ${top.join(', ')})`,
    );
    const nested = await commandsOf(m.program, [first]);
    const group = nested.filter((c) => c.startsWith(`${first} `));
    if (group.length > 0) {
      const second = m.words[1];
      // A command with options of its own beside its subcommands also runs by itself
      // (`enf-server audit --since 1h` and `enf-server audit operator`).
      const global = new Set(listedOptions(await helpOf(m.program, [])));
      const runsAlone = listedOptions(await helpOf(m.program, [first])).some((o) => !global.has(o));
      t.true(
        (second === undefined && runsAlone) || (second !== undefined && group.includes(`${first} ${second}`)),
        `README: "${m.text}": ${m.program} ${first} has no subcommand ${second ?? '(none given)'} (has ${group.join(', ')})`,
      );
    }
  }
});
