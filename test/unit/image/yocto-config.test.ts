// The Yocto recipe's /etc/xtt-agent/config.json for both provisioning methods, without BitBake: the
// recipe's own Python (its parse-time checks in `python __anonymous()` and the
// `xtt_agent_config_json(d)` that do_compile writes) run by python3 over a stand-in datastore
// holding the recipe's ??= defaults and the ODM's settings, and the JSON it gives is loaded by the
// agent's own config loader. test/yocto runs the recipe's do_compile under real BitBake for the
// default (method xtt).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../agent/config.ts';
import { ConfigError } from '../../../agent/errors.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const recipe = readFileSync(
  join(repo, 'image', 'yocto-layer', 'recipes-provisioning', 'xtt-agent', 'xtt-agent_git.bb'),
  'utf8',
);

/** A top-level `def NAME(d):` block of the recipe, up to the next unindented line. */
function pythonDef(name: string): string {
  const start = recipe.indexOf(`def ${name}(d):\n`);
  if (start < 0) throw new Error(`recipe has no def ${name}`);
  const lines = recipe.slice(start).split('\n');
  const end = lines.findIndex((l, i) => i > 0 && l.length > 0 && !/^\s/.test(l));
  return lines.slice(0, end).join('\n');
}

/** The body of `python __anonymous() { ... }` as a function `anonymous(d)`. */
function anonymous(): string {
  const m = /^python __anonymous\(\) \{\n([\s\S]*?)^\}$/m.exec(recipe);
  if (!m) throw new Error('recipe has no python __anonymous()');
  return `def anonymous(d):\n${m[1]}`;
}

/** The recipe's `XTT_AGENT_* ??= "..."` defaults. */
function defaults(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of recipe.matchAll(/^(XTT_AGENT_[A-Z_]+) \?\?= "(.*)"$/gm)) out[m[1]!] = m[2]!;
  return out;
}

const HARNESS = `
import json, re, sys, types
class SkipRecipe(Exception):
    pass
bb = types.SimpleNamespace(parse=types.SimpleNamespace(SkipRecipe=SkipRecipe))
class D:
    def __init__(self, values):
        self.values = values
    def getVar(self, name):
        v = self.values.get(name)
        if v is None:
            return None
        return re.sub(r'\\$\\{(\\w+)\\}', lambda m: self.getVar(m.group(1)) or '', v)
    def setVar(self, name, value):
        self.values[name] = value
d = D(json.loads(sys.stdin.readline()))
exec(sys.stdin.read())
try:
    anonymous(d)
    print(json.dumps({'config': xtt_agent_config_json(d)}))
except SkipRecipe as e:
    print(json.dumps({'skipped': str(e)}))
`;

/** What the recipe does with these settings: the config.json line, or its SkipRecipe reason. */
function recipeConfig(settings: Record<string, string>): { config?: string; skipped?: string } {
  const values = {
    ...defaults(),
    sysconfdir: '/etc',
    TARGET_ARCH: 'x86_64',
    XTT_AGENT_SRCREV: '0123456789abcdef0123456789abcdef01234567',
    XTT_AGENT_SERVER: '10.0.2.2:4444',
    ...settings,
  };
  const input = `${JSON.stringify(values)}\n${pythonDef('xtt_agent_config_json')}\n\n${anonymous()}\n`;
  const r = spawnSync('python3', ['-c', HARNESS], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { config?: string; skipped?: string };
}

function agentLoads(configText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'yocto-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, `${configText}\n`);
    return loadConfig({ file, env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('default (method xtt): the config.json test/yocto expects, and the agent loads it', (t) => {
  const r = recipeConfig({});
  t.deepEqual(JSON.parse(r.config!), {
    server: { host: '10.0.2.2', port: 4444 },
    interface: 'eth0',
    tpm: '/dev/tpmrm0',
    suite: 1,
  });
  t.false(r.config!.includes('\n'), 'one line: printf writes it inside single quotes');
  const c = agentLoads(r.config!);
  t.is(c.method, 'xtt');
  t.is(c.pki, undefined);
});

test('method pki with the key in the TPM: certificate and server CA paths, the handle', (t) => {
  const r = recipeConfig({ XTT_AGENT_METHOD: 'pki', XTT_AGENT_SERVER: 'enf.example.com:4445' });
  t.deepEqual(JSON.parse(r.config!), {
    server: { host: 'enf.example.com', port: 4445 },
    interface: 'eth0',
    tpm: '/dev/tpmrm0',
    method: 'pki',
    pki: {
      cert: '/etc/xtt-agent/device.pem',
      serverCa: '/etc/xtt-agent/server-ca.pem',
      tpmHandle: '0x81010010',
    },
  });
  const c = agentLoads(r.config!);
  t.is(c.method, 'pki');
  t.deepEqual(c.pki, {
    cert: '/etc/xtt-agent/device.pem',
    serverCa: '/etc/xtt-agent/server-ca.pem',
    tpmHandle: 0x81010010,
  });
  t.is(c.tpm, '/dev/tpmrm0');
});

test('method pki with a key file and a server name', (t) => {
  const r = recipeConfig({
    XTT_AGENT_METHOD: 'pki',
    XTT_AGENT_PKI_KEY: '/etc/xtt-agent/device.key',
    XTT_AGENT_PKI_CERT: '/etc/xtt-agent/gw.pem',
    XTT_AGENT_PKI_SERVER_NAME: 'enf.example.com',
    XTT_AGENT_SERVER: '[2001:db8::1]:4445',
  });
  const c = agentLoads(r.config!);
  t.like(c, { method: 'pki', server: { host: '2001:db8::1', port: 4445 } });
  t.like(c.pki, {
    cert: '/etc/xtt-agent/gw.pem',
    key: '/etc/xtt-agent/device.key',
    serverName: 'enf.example.com',
  });
});

const REFUSED: [Record<string, string>, RegExp][] = [
  [{ XTT_AGENT_METHOD: 'x509' }, /XTT_AGENT_METHOD must be xtt or pki, got "x509"/],
  [
    { XTT_AGENT_METHOD: 'pki', XTT_AGENT_PKI_CERT: 'device.pem' },
    /XTT_AGENT_PKI_CERT must be an absolute path on the device, got "device.pem"/,
  ],
  [
    { XTT_AGENT_METHOD: 'pki', XTT_AGENT_PKI_KEY: "/etc/it's.key" },
    /XTT_AGENT_PKI_KEY must be an absolute path on the device/,
  ],
  [
    { XTT_AGENT_METHOD: 'pki', XTT_AGENT_PKI_TPM_HANDLE: '0x01000000' },
    /XTT_AGENT_PKI_TPM_HANDLE must be an owner persistent handle 0x81000000..0x817fffff, got "0x01000000"/,
  ],
  [
    { XTT_AGENT_METHOD: 'pki', XTT_AGENT_PKI_SERVER_NAME: 'enf example' },
    /XTT_AGENT_PKI_SERVER_NAME must be a host name or address/,
  ],
];
for (const [settings, reason] of REFUSED) {
  test(`refused at parse time: ${JSON.stringify(settings)}`, (t) => {
    const r = recipeConfig(settings);
    t.is(r.config, undefined);
    t.regex(r.skipped ?? '', reason);
  });
}

test('the agent refuses what the recipe refuses: a PKI setting with method xtt', (t) => {
  // The recipe never writes pki settings for method xtt; the agent would name the setting.
  t.throws(
    () =>
      agentLoads(JSON.stringify({ server: { host: 'h', port: 1 }, interface: 'eth0', pki: { cert: '/c' } })),
    {
      instanceOf: ConfigError,
    },
  );
});
