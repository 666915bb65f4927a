// Tests for agent/config.ts: defaults, precedence file < env < flags, $STATE_DIRECTORY, dev mode,
// and a ConfigError naming the setting for each kind of bad value.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS, envName, flagName, loadConfig, loadLocalConfig } from '../../../agent/config.ts';
import { ConfigError } from '../../../agent/errors.ts';

function withFile(t: { teardown: (f: () => void) => void }, content: unknown): string {
  const d = mkdtempSync(join(tmpdir(), 'cfg-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const p = join(d, 'config.json');
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const minimal = { server: { host: 'enf.example' }, interface: 'eth0' };

test('defaults fill everything not given', (t) => {
  const c = loadConfig({ file: withFile(t, minimal), env: {} });
  t.deepEqual(c, {
    server: { host: 'enf.example', port: 4444 },
    interface: 'eth0',
    prefixLength: 64,
    nodad: false,
    tpm: '/dev/tpmrm0',
    suite: 1,
    timeouts: { connectMs: 10000, handshakeMs: 30000, dadMs: 10000 },
    backoff: { initialMs: 1000, maxMs: 300000, refusedMaxMs: 3600000 },
    stateDir: '/var/lib/xtt-agent',
    method: 'xtt',
    network: { manager: 'auto', persist: 'runtime' },
    watch: false,
  });
});

test('network.manager, network.persist and watch: file, env and flags; bad values name the setting', (t) => {
  const file = withFile(t, {
    ...minimal,
    network: { manager: 'networkd', persist: 'persistent' },
    watch: true,
  });
  const c = loadConfig({ file, env: {} });
  t.deepEqual(c.network, { manager: 'networkd', persist: 'persistent' });
  t.true(c.watch);
  const e = loadConfig({ file, env: { XTT_AGENT_NETWORK_MANAGER: 'networkmanager', XTT_AGENT_WATCH: '0' } });
  t.is(e.network.manager, 'networkmanager');
  t.false(e.watch);
  t.is(loadConfig({ file, env: {}, flags: { 'network.manager': 'none' } }).network.manager, 'none');
  const bad = t.throws(() => loadConfig({ file, env: { XTT_AGENT_NETWORK_MANAGER: 'ifupdown' } }), {
    instanceOf: ConfigError,
  });
  t.is(
    bad.message,
    'config network.manager: must be one of auto, networkd, networkmanager, none (from XTT_AGENT_NETWORK_MANAGER)',
  );
  t.throws(
    () => loadConfig({ file: withFile(t, { ...minimal, network: { persist: 'forever' } }), env: {} }),
    {
      message: /config network.persist: must be one of runtime, persistent/,
    },
  );
  t.throws(() => loadConfig({ file: withFile(t, { ...minimal, network: 'networkd' }), env: {} }), {
    message: 'config network: must be an object',
  });
});

test('method pki: cert and server CA required, key optional (TPM otherwise), handle checked', (t) => {
  const file = withFile(t, minimal);
  const pki = (flags: Record<string, unknown>) =>
    loadConfig({ file, env: {}, flags: { method: 'pki', ...flags } });
  const c = pki({ 'pki.cert': '/c.pem', 'pki.serverCa': '/ca.pem' });
  t.deepEqual(c.pki, { cert: '/c.pem', serverCa: '/ca.pem', tpmHandle: 0x81010010 });
  t.is(c.method, 'pki');
  t.like(pki({ 'pki.cert': '/c.pem', 'pki.serverCa': '/ca.pem', 'pki.key': '/k.pem' }).pki, {
    key: '/k.pem',
  });
  const field = (f: () => unknown) => t.throws(f, { instanceOf: ConfigError })!.field;
  t.is(
    field(() => pki({ 'pki.serverCa': '/ca.pem' })),
    'pki.cert',
  );
  t.is(
    field(() => pki({ 'pki.cert': '/c.pem' })),
    'pki.serverCa',
  );
  t.is(
    field(() => pki({ 'pki.cert': '/c', 'pki.serverCa': '/ca', 'pki.tpmHandle': '0x81800000' })),
    'pki.tpmHandle',
  );
  t.is(
    field(() => loadConfig({ file, env: {}, flags: { method: 'x509' } })),
    'method',
  );
  t.is(
    field(() => loadConfig({ file, env: {}, flags: { 'pki.cert': '/c.pem' } })),
    'pki.cert',
  );
  t.is(
    field(() => pki({ 'pki.cert': '/c', 'pki.serverCa': '/ca', 'dev.dir': '/d' })),
    'dev.dir',
  );
});

test('precedence: file < env < flags; STATE_DIRECTORY from systemd', (t) => {
  const file = withFile(t, { ...minimal, suite: 2, prefixLength: 48, tpm: 'swtpm:127.0.0.1:2321' });
  const env = {
    XTT_AGENT_SUITE: '3',
    XTT_AGENT_SERVER_PORT: '5555',
    STATE_DIRECTORY: '/var/lib/xtt-agent-x',
  };
  const c = loadConfig({ file, env, flags: { suite: 4, 'timeouts.dadMs': 500, interface: undefined } });
  t.is(c.suite, 4);
  t.is(c.prefixLength, 48);
  t.is(c.server.port, 5555);
  t.is(c.tpm, 'swtpm:127.0.0.1:2321');
  t.is(c.timeouts.dadMs, 500);
  t.is(c.interface, 'eth0');
  t.is(c.stateDir, '/var/lib/xtt-agent-x');
  t.is(loadConfig({ file, env: { ...env, XTT_AGENT_STATE_DIR: '/srv/s' } }).stateDir, '/srv/s');
});

test('env and flag names derive from the dotted key', (t) => {
  t.is(envName('timeouts.connectMs'), 'XTT_AGENT_TIMEOUTS_CONNECT_MS');
  t.is(envName('server.host'), 'XTT_AGENT_SERVER_HOST');
  t.is(flagName('timeouts.connectMs'), 'timeouts-connect-ms');
  t.is(flagName('dev.secretKey'), 'dev-secret-key');
  t.is(new Set(SETTINGS.map((s) => envName(s.key))).size, SETTINGS.length);
});

test('environment alone is enough (no file at the default path)', (t) => {
  const c = loadConfig({
    env: {
      XTT_AGENT_CONFIG: '/etc/xtt-agent/config.json',
      XTT_AGENT_SERVER_HOST: 'h',
      XTT_AGENT_INTERFACE: 'e1',
    },
  });
  t.is(c.server.host, 'h');
});

test('development mode: dev.dir expands to the reference file names; single files override', (t) => {
  const c = loadConfig({
    file: withFile(t, { ...minimal, dev: { dir: '/d', rootCert: '/x/root.bin' } }),
    env: {},
  });
  t.deepEqual(c.dev, {
    gpk: '/d/daa_gpk.bin',
    credential: '/d/daa_cred.bin',
    secretKey: '/d/daa_secretkey.bin',
    basename: '/d/basename.bin',
    rootCert: '/x/root.bin',
  });
  const e = t.throws(() => loadConfig({ file: withFile(t, { ...minimal, dev: { gpk: '/g' } }), env: {} }), {
    instanceOf: ConfigError,
  });
  t.is(e.field, 'dev.credential');
});

const bad: [string, unknown, Record<string, string>, string, RegExp][] = [
  ['missing host', { interface: 'eth0' }, {}, 'server.host', /required/],
  ['missing interface', { server: { host: 'h' } }, {}, 'interface', /required/],
  ['unknown key', { ...minimal, sever: 1 }, {}, 'sever', /unknown setting/],
  ['unknown nested key', { ...minimal, timeouts: { conectMs: 1 } }, {}, 'timeouts.conectMs', /unknown/],
  ['group not an object', { ...minimal, server: 'h:1' }, {}, 'server', /must be an object/],
  ['port range', { ...minimal, server: { host: 'h', port: 70000 } }, {}, 'server.port', /outside 1..65535/],
  [
    'env port not a number',
    minimal,
    { XTT_AGENT_SERVER_PORT: '44x' },
    'server.port',
    /XTT_AGENT_SERVER_PORT/,
  ],
  ['prefix 0', { ...minimal, prefixLength: 0 }, {}, 'prefixLength', /outside 1..128/],
  ['suite 5', { ...minimal, suite: 5 }, {}, 'suite', /outside 1..4/],
  ['bool', { ...minimal, nodad: 'yes' }, {}, 'nodad', /true or false/],
  ['tpm spec', { ...minimal, tpm: 'tpm0' }, {}, 'tpm', /TPM spec/],
  ['backoff order', { ...minimal, backoff: { initialMs: 5000, maxMs: 10 } }, {}, 'backoff.maxMs', /at least/],
  [
    'refusal backoff order',
    { ...minimal, backoff: { initialMs: 5000, refusedMaxMs: 10 } },
    {},
    'backoff.refusedMaxMs',
    /at least/,
  ],
  ['relative state dir', { ...minimal, stateDir: 'var' }, {}, 'stateDir', /absolute/],
  ['interface too long', { ...minimal, interface: 'a'.repeat(16) }, {}, 'interface', /not a valid/],
  ['host with space', { ...minimal, server: { host: 'a b' } }, {}, 'server.host', /not a host/],
  ['empty string', { ...minimal, tpm: '' }, {}, 'tpm', /non-empty/],
  ['not an object', [1], {}, '(file)', /JSON object/],
];
for (const [name, file, env, field, re] of bad) {
  test(`ConfigError names the setting: ${name}`, (t) => {
    const e = t.throws(() => loadConfig({ file: withFile(t, file), env }), { instanceOf: ConfigError });
    t.is(e.field, field);
    t.is(e.code, 'CONFIG');
    t.regex(e.message, re);
  });
}

test('unreadable or invalid JSON file is a ConfigError', (t) => {
  t.throws(() => loadConfig({ file: '/nonexistent/config.json', env: {} }), { message: /ENOENT/ });
  t.throws(() => loadConfig({ file: withFile(t, '{"server":'), env: {} }), { message: /not valid JSON/ });
});

test('status settings: local state only, no server or interface required', (t) => {
  const empty = withFile(t, {});
  t.throws(() => loadConfig({ file: empty, env: {} }), { instanceOf: ConfigError, message: /server\.host/ });
  t.deepEqual(loadLocalConfig({ file: empty, env: {}, flags: { stateDir: '/var/lib/x' } }), {
    stateDir: '/var/lib/x',
    prefixLength: 64,
    interface: undefined,
    server: undefined,
  });
  t.deepEqual(loadLocalConfig({ file: withFile(t, { ...minimal, prefixLength: 48 }), env: {} }), {
    stateDir: '/var/lib/xtt-agent',
    prefixLength: 48,
    interface: 'eth0',
    server: 'enf.example:4444',
  });
  t.throws(() => loadLocalConfig({ file: empty, env: {}, flags: { stateDir: 'relative' } }), {
    instanceOf: ConfigError,
    message: /stateDir/,
  });
});
