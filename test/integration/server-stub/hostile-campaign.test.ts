// The bounded attack campaign of ../shared/tools/hostile-client.mjs (outside this repository: next
// to it in CI, /work/shared/tools on the development machine; HOSTILE_CLIENT names another copy)
// against a real `enf-server start`: every class for 60 s, the tool's liveness probes from
// 127.0.0.2. The tool exits 0 only if every probe succeeded and the server process is alive (a run
// whose only failures are probes over the tool's fixed 2 s deadline is a loaded machine: logged,
// see checkLive). During
// the whole campaign a real device (DAA member of a registered batch, from 127.0.0.3) handshakes
// again and again, as an agent would: every one of its handshakes must succeed. The figures of the
// run (classes, connections, RSS and fds before/after, the device's worst handshake) are printed;
// server-stub/README.md records them. Then `linger` alone for 20 s (1100 connections from 127.0.1.x
// that read the Error and never close), which the first 60 s reach only on a quiet machine;
// test/integration/server-stub/xtt-endpoint-linger checks the close deadline on its own.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemRng } from '../../../protocol/util/rng.ts';
import { SqliteRegistry } from '../../../server-stub/registry/sqlite-registry.ts';
import { createKeyMaterial } from '../../../server-stub/keys/server-keys.ts';
import { startEnfServer } from './_enf-server.ts';
import { handshake, makeGroup, TestDevice } from './_xtt-devices.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TOOL = process.env.HOSTILE_CLIENT || resolve(REPO, '..', 'shared/tools/hostile-client.mjs');
const isCi = process.env.CI === 'true';

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

interface CampaignReport {
  live: boolean;
  finalProbeOk: boolean;
  serverDown: unknown;
  totals: { cases: number; replied: number; closed: number; timeout: number; connfail: number };
  liveness: {
    betweenOk: number;
    between: number;
    duringOk: number;
    during: number;
    failures: { why: string }[];
  };
  process?: {
    before: { rssKb: number; fds: number };
    after: { rssKb: number; fds: number };
    maxRssKb: number;
  };
  classes: Record<string, { sent: number; maxMs: number }>;
}

/** The line server-stub/README.md's table is made from. */
function figures(r: CampaignReport, latencies: number[]): string {
  const all = Object.keys(r.classes);
  const ran = all.filter((c) => (r.classes[c]?.sent ?? 0) > 0);
  const p = r.process;
  const worst = latencies.length ? Math.max(...latencies) : NaN;
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return [
    `classes ${ran.length} of ${all.length} run (linger: ${r.classes.linger?.sent ?? 0} connections)`,
    `cases ${r.totals.cases}: replied ${r.totals.replied}, closed ${r.totals.closed}, timed out ${r.totals.timeout}`,
    p
      ? `RSS ${p.before.rssKb} -> ${p.after.rssKb} kB (max ${p.maxRssKb}), fds ${p.before.fds} -> ${p.after.fds}`
      : 'no process figures',
    `probes ${r.liveness.betweenOk + r.liveness.duringOk}/${r.liveness.between + r.liveness.during}`,
    `real device: ${latencies.length} handshakes, median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms`,
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  ].join('; ');
}

if (!existsSync(TOOL) && !isCi) {
  test.skip(`hostile campaign: ${TOOL} not found (outside the repository; set HOSTILE_CLIENT)`, () => {});
} else {
  test('enf-server stays live through a 60 s hostile campaign', async (t) => {
    t.timeout(15 * 60_000);
    t.true(existsSync(TOOL), `the campaign tool ${TOOL} must exist under CI`);
    const dir = mkdtempSync(join(tmpdir(), 'enf-hostile-'));
    createKeyMaterial(dir, systemRng);
    const group = makeGroup();
    const registry = SqliteRegistry.open(join(dir, 'registry.sqlite'));
    await registry.addNetwork({ name: 'plant-a', prefix: '2001:db8:ee:1::/64' });
    await registry.addBatch({
      gpk: group.gpk,
      basename: group.basename,
      name: 'lot-1',
      network: 'plant-a',
      size: 10,
    });
    await registry.close();
    const server = await startEnfServer(dir, [], { isLogBounded: true });
    t.teardown(() => {
      server.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    // A legitimate device handshaking throughout the attack, one handshake after another.
    const root = new Uint8Array(readFileSync(join(dir, 'root_cert.bin')));
    const device = new TestDevice(group.member());
    const latencies: number[] = [];
    const failures: string[] = [];
    let isAttackOver = false;
    const legitimate = (async () => {
      while (!isAttackOver) {
        const t0 = performance.now();
        const h = await handshake(server.port, device, root, { localAddress: '127.0.0.3' });
        if (h.ok) latencies.push(performance.now() - t0);
        else failures.push(JSON.stringify(h));
      }
    })();

    const campaign = (extra: string[]) =>
      run(process.execPath, [
        TOOL,
        '--host',
        '127.0.0.1',
        '--port',
        String(server.port),
        // Attack connections wait up to 15 s (default 2 s): CI may run at load 5 to 10 on 2 cores.
        // The tool's liveness probe keeps its own fixed 2 s deadline (see checkLive).
        '--timeout',
        '15000',
        '--pid',
        String(server.proc.pid),
        '--json',
        ...extra,
      ]);
    const reportOf = (r: { stdout: string }) =>
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CampaignReport)[0];

    /**
     * The tool must exit 0, with one allowance: its liveness probe has a fixed 2 s deadline (not
     * --timeout), which a live server misses when the machine is loaded (CI at load 5-10 and more,
     * the linger burst queued ahead of the probe). A run that failed only by such probe timeouts,
     * with the server alive, the tool's final probe answered and the real device served, is a slow
     * machine, not a dead server: logged, not failed. Any other liveness failure (a refusal, a
     * close, a wrong reply) fails the test.
     */
    const checkLive = (what: string, r: { code: number | null; stdout: string; stderr: string }) => {
      const report = reportOf(r);
      const failed = report?.liveness.failures ?? [];
      const slowOnly =
        r.code === 1 &&
        report !== undefined &&
        report.finalProbeOk &&
        report.serverDown === null &&
        failed.length > 0 &&
        failed.every((f) => /^(?:no ServerInitAndAttest within|connect-timeout)/.test(f.why));
      if (slowOnly) t.log(`${what}: ${failed.length} probes over the tool's fixed 2 s (slow, not dead)`);
      else t.is(r.code, 0, `${what} failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
      return report;
    };

    // 1. The whole campaign (classes in the tool's order, as far as 60 s go) with the real device.
    const r = await campaign(['--seconds', '60']);
    isAttackOver = true;
    await legitimate;
    t.log(r.stdout.trim().split('\n').at(-1));
    const report = checkLive('the campaign', r);
    if (report) t.log(figures(report, latencies));
    t.deepEqual(failures, [], 'every handshake of the real device during the attack succeeded');
    t.true(latencies.length >= 1, 'the real device handshook during the attack');

    // 2. `linger` alone, so that its 1100 connections from 127.0.1.x always run, whatever the first
    //    pass reached (the tool's probes only: a burst above --max-connections refuses newcomers
    //    while it lasts, server-stub/README.md "Hostile campaign").
    const l = await campaign(['--only', 'linger', '--seconds', '20']);
    t.log(l.stdout.trim().split('\n').at(-1));
    const lingerReport = checkLive('linger', l);
    t.true((lingerReport?.classes.linger?.sent ?? 0) >= 1100, 'linger sent its 1100 connections');
    if (lingerReport) t.log(figures(lingerReport, []));

    const after = await handshake(server.port, new TestDevice(group.member()), root);
    t.true(after.ok, 'a real device provisions after the campaign');
    t.is(server.proc.exitCode, null, server.stderr().slice(-2000));
  });
}
