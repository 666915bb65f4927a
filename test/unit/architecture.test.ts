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

// Node 20 deadlocks when a key made by generateKeyPair(Sync) is exported as JWK while a garbage
// collection finalizes its generation job (protocol/xtt/openssl-primitives.ts). Keys are imported
// from raw draws instead; this keeps the generator out of every program and tool.
const KEYGEN_CALL_RE = /\bgenerateKeyPair(?:Sync)?\s*\(/;
const KEYGEN_IMPORT_RE =
  /import\s*\{[^}]*\bgenerateKeyPair(?:Sync)?\b[^}]*\}\s*from\s*['"](?:node:)?crypto['"]/;
const usesKeygen = (src: string): boolean => KEYGEN_CALL_RE.test(src) || KEYGEN_IMPORT_RE.test(src);

test('no source calls node:crypto generateKeyPair or generateKeyPairSync', (t) => {
  const files = ['protocol', 'agent', 'server-stub', 'factory', 'tpm', 'bench', 'scripts'].flatMap(tsFiles);
  t.true(files.length > 0);
  t.deepEqual(
    files.filter((f) => usesKeygen(readFileSync(f, 'utf8'))),
    [],
  );
});

test('the key-generation scanner sees a call and an import (self-check)', (t) => {
  t.true(usesKeygen("const { privateKey } = generateKeyPairSync('x25519');"));
  t.true(usesKeygen("import {\n  createPublicKey,\n  generateKeyPair,\n} from 'node:crypto';"));
  t.false(usesKeygen('// never generateKeyPairSync: see openssl-primitives.ts'));
});
