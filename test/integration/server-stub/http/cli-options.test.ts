// The start-command options of the management listener (server-stub/http/cli-options.ts): strict
// validation naming the option, a token file with comments, and HTTPS with a certificate made by
// openssl for the test (the client trusts exactly that certificate).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkManagementArgs,
  ManagementOptionError,
  startManagementFromArgs,
} from '../../../../server-stub/http/index.ts';
import { memoryLogger } from '../../../../server-stub/log.ts';
import { SqliteRegistry } from '../../../../server-stub/registry/sqlite-registry.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'enf-http-opts-'));
}

test('options: off without --http-port; each mistake names its option', (t) => {
  const dir = tempDir();
  try {
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'x'.repeat(20));
    t.is(checkManagementArgs({}), undefined);
    // Usage: options missing or given together wrongly; a bad value; a named file that is missing.
    const bad: [object, string, string][] = [
      [{ 'api-token-file': tokens }, 'api-token-file', 'USAGE'],
      [{ 'http-port': 70000, 'api-token-file': tokens }, 'http-port', 'BAD_VALUE'],
      [{ 'http-port': 1.5, 'api-token-file': tokens }, 'http-port', 'BAD_VALUE'],
      [{ 'http-port': NaN, 'api-token-file': tokens }, 'http-port', 'USAGE'],
      [{ 'http-port': 8080 }, 'api-token-file', 'USAGE'],
      [{ 'http-port': 8080, 'api-token-file': join(dir, 'missing') }, 'api-token-file', 'NOT_FOUND'],
      [{ 'http-port': 8080, 'api-token-file': tokens, 'tls-cert': tokens }, 'tls-key', 'USAGE'],
      [{ 'http-port': 8080, 'api-token-file': tokens, 'tls-key': tokens }, 'tls-cert', 'USAGE'],
      [
        { 'http-port': 8080, 'api-token-file': tokens, 'tls-cert': join(dir, 'no'), 'tls-key': tokens },
        'tls-cert',
        'NOT_FOUND',
      ],
      // Plain HTTP off loopback needs the explicit flag.
      [{ 'http-port': 8080, 'api-token-file': tokens, 'http-bind': '::' }, 'http-bind', 'USAGE'],
      [{ 'http-port': 8080, 'api-token-file': tokens, 'http-bind': '0.0.0.0' }, 'http-bind', 'USAGE'],
      [{ 'http-port': 8080, 'api-token-file': tokens, 'http-bind': '192.0.2.7' }, 'http-bind', 'USAGE'],
      [{ 'http-port': 8080, 'api-token-file': tokens, 'http-bind': 'enf.example' }, 'http-bind', 'USAGE'],
      [
        { 'http-port': 8080, 'api-token-file': tokens, 'session-idle-timeout': 0 },
        'session-idle-timeout',
        'BAD_VALUE',
      ],
      [
        { 'http-port': 8080, 'api-token-file': tokens, 'session-idle-timeout': 2.5 },
        'session-idle-timeout',
        'BAD_VALUE',
      ],
    ];
    for (const [args, option, code] of bad) {
      const err = t.throws(
        () => checkManagementArgs(args),
        { instanceOf: ManagementOptionError },
        JSON.stringify(args),
      );
      t.is(err?.option, option);
      t.is(err?.code, code, JSON.stringify(args));
    }
    t.deepEqual(checkManagementArgs({ 'http-port': 0, 'api-token-file': tokens }), {
      host: '127.0.0.1',
      isPlaintextExposed: false,
      port: 0,
      tokenFile: tokens,
      isMetricsPublic: false,
      sessionIdleMs: 1_800_000,
    });
    for (const host of [
      '127.0.0.1',
      '127.3.2.1',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
    ]) {
      t.false(
        checkManagementArgs({ 'http-port': 0, 'api-token-file': tokens, 'http-bind': host })
          ?.isPlaintextExposed,
      );
    }
    const tls = { 'tls-cert': tokens, 'tls-key': tokens };
    t.false(
      checkManagementArgs({ 'http-port': 0, 'api-token-file': tokens, 'http-bind': '::', ...tls })
        ?.isPlaintextExposed,
    );
    t.true(
      checkManagementArgs({
        'http-port': 0,
        'api-token-file': tokens,
        'http-bind': '::',
        'http-allow-plaintext': true,
      })?.isPlaintextExposed,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain HTTP on every interface only with --http-allow-plaintext, and then with a warning', async (t) => {
  const dir = tempDir();
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  const logger = memoryLogger();
  try {
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'alpha-token-0123456789\n');
    const args = { 'http-port': 0, 'api-token-file': tokens, 'http-bind': '::' };
    await t.throwsAsync(startManagementFromArgs(args, { registry, logger }), {
      instanceOf: ManagementOptionError,
      message: /--http-bind: :: is not a loopback address: .*--http-allow-plaintext/,
    });
    t.deepEqual(logger.lines, []);
    const server = await startManagementFromArgs(
      { ...args, 'http-allow-plaintext': true },
      { registry, logger },
    );
    try {
      t.regex(logger.lines.join('\n'), /^warn http\.plaintext host=:: /m);
      const res = await fetch(`http://127.0.0.1:${server!.port}/api/v1/networks`, {
        headers: { authorization: 'Bearer alpha-token-0123456789' },
      });
      t.is(res.status, 200);
    } finally {
      await server!.close();
    }
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTPS with a token file: comments ignored, short tokens refused, requests authenticated', async (t) => {
  t.timeout(600_000);
  const dir = tempDir();
  const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'short\n');
    await t.throwsAsync(startManagementFromArgs({ 'http-port': 0, 'api-token-file': tokens }, { registry }), {
      code: 'INPUT_FILE',
    });
    writeFileSync(tokens, '# operators\nalpha-token-0123456789\n\n  beta-token-0123456789  \n');
    const server = await startManagementFromArgs(
      {
        'http-port': 0,
        'http-bind': '127.0.0.1',
        'api-token-file': tokens,
        'tls-cert': cert,
        'tls-key': key,
      },
      { registry },
    );
    t.truthy(server);
    t.regex(server!.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const get = (auth: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${server!.url}/api/v1/networks`,
          { ca: readFileSync(cert), headers: { authorization: auth } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      t.is(await get('Bearer alpha-token-0123456789'), 200);
      t.is(await get('Bearer beta-token-0123456789'), 200);
      t.is(await get('Bearer # operators'), 401);
      t.is(await get('Bearer gamma-token-0123456789'), 401);
      await t.throwsAsync(
        fetch(`${server!.url}/api/v1/networks`),
        undefined,
        'an untrusted certificate is refused by a default client',
      );
    } finally {
      await server!.close();
    }
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
