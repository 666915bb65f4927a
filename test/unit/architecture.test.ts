// Dependency direction (../shared/STYLE.md): protocol/ is pure and must not import I/O modules,
// and protocol/ must not import from agent/, server-stub/, tpm/ or factory/. In the server,
// server-stub/registry/ (the port and its backends) imports nothing from the rest of server-stub/:
// the management API (http/) and the endpoint depend on the registry, never the other way.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const FORBIDDEN_MODULES = ['net', 'fs', 'fs/promises', 'dgram', 'child_process', 'koffi', 'http', 'https'];
const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2])!);
  return out;
}

test('protocol/ imports no I/O module and nothing outside protocol/', (t) => {
  const files = tsFiles('protocol');
  t.true(files.length > 0, 'protocol/ has source files');
  const offences: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(f)) {
      const bare = spec.replace(/^node:/, '');
      if (FORBIDDEN_MODULES.includes(bare)) offences.push(`${f} imports ${spec}`);
      if (/^\.\.\/.*\b(agent|server-stub|tpm|factory)\//.test(spec)) offences.push(`${f} imports ${spec}`);
    }
  }
  t.deepEqual(offences, []);
});

test('server-stub/registry/ imports nothing from the rest of server-stub/ (http/ depends on it)', (t) => {
  const files = tsFiles('server-stub/registry');
  t.true(files.length > 0, 'server-stub/registry/ has source files');
  const offences: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(process.cwd(), resolve(dirname(f), spec));
      if (target.startsWith('server-stub/') && !target.startsWith('server-stub/registry/'))
        offences.push(`${f} imports ${spec}`);
    }
  }
  t.deepEqual(offences, []);
});

test('the import scanner sees forbidden imports (self-check)', (t) => {
  const sample = "import { x } from 'node:net';\nconst y = await import('koffi');";
  const found = [...sample.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2]);
  t.deepEqual(found, ['node:net', 'koffi']);
});
