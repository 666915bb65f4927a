// Interop harness entry point: runs this project against a build of the public C reference
// (xaptum/xtt 0.12.0 on xaptum/ecdaa 1.0.0, AMCL 4.7.3, xaptum-tpm 1.0.0) that the USER built and
// installed under --reference-dir. Not part of `npm test`/CI (CI has no reference build); run with
//   npm run test:interop -- --reference-dir DIR [--reference-data DIR] [--only ID,...] [--keep]
// Prints PASS/FAIL/SKIP per check and exits 0 only when no check failed. As root, the run re-executes
// itself inside a fresh network namespace (unshare -n) because the reference server binds 0.0.0.0;
// without root (or with --no-netns) everything still listens on, and talks to, 127.0.0.1 only.
// See test/interop/README.md for what each check proves.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { agentChecks } from './agent-checks.ts';
import { ecdaaGroupChecks } from './ecdaa-group-checks.ts';
import { ourIssuerChecks } from './our-issuer-checks.ts';
import {
  CheckFailed,
  DEFAULT_SAMPLE_DIR,
  IN_NETNS_ENV,
  reexecInNetns,
  type Check,
  type InteropContext,
} from './interop-env.ts';
import { ourClientChecks } from './our-client-checks.ts';
import { ourServerChecks } from './our-server-checks.ts';
import { locateReference } from './reference-tool.ts';
import { tpmChecks } from './tpm-checks.ts';

const ALL_CHECKS: Check[] = [
  ...ourClientChecks,
  ...ourServerChecks,
  ...ecdaaGroupChecks,
  ...ourIssuerChecks,
  ...agentChecks,
  ...tpmChecks,
];

function usage(): string {
  return [
    'usage: npm run test:interop -- --reference-dir DIR [options]',
    '  --reference-dir DIR   install prefix of the reference build (DIR/bin/xtt, DIR/lib)',
    '  --reference-data DIR  the reference sample member (default: test/vectors/xtt-0.12-sample-data/client)',
    '  --only ID[,ID]        run only these checks',
    '  --keep                keep temporary directories',
    '  --no-netns            do not re-execute inside a private network namespace (root only)',
    `checks: ${ALL_CHECKS.map((c) => c.id).join(', ')}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        'reference-dir': { type: 'string' },
        'reference-data': { type: 'string' },
        only: { type: 'string' },
        keep: { type: 'boolean', default: false },
        'no-netns': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage()}`);
    return 2;
  }
  if (args.help) {
    console.log(usage());
    return 0;
  }
  if (!args['reference-dir']) {
    console.error(`--reference-dir is required\n${usage()}`);
    return 2;
  }
  const only = args.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !ALL_CHECKS.some((c) => c.id === id)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown check(s): ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const sampleDir = resolve(args['reference-data'] ?? DEFAULT_SAMPLE_DIR);
  if (!existsSync(sampleDir)) {
    console.error(`--reference-data ${sampleDir} does not exist`);
    return 2;
  }
  let ref;
  try {
    ref = locateReference(resolve(args['reference-dir']));
  } catch (e) {
    console.error(describe(e));
    return 2;
  }
  if (!args['no-netns']) {
    const code = reexecInNetns();
    if (code !== undefined) return code;
  }
  const ctx: InteropContext = { ref, sampleDir, keep: args.keep, log: (l) => console.log(l) };
  const where = process.env[IN_NETNS_ENV] === '1' ? 'private network namespace' : 'host loopback';
  console.log(
    `reference ${ref.xtt} (USE_TPM=${ref.hasTpm ? 'ON' : 'OFF'}), sample member ${sampleDir}, ${where}`,
  );

  let failed = 0;
  const started = new Date().toISOString();
  for (const check of ALL_CHECKS.filter((c) => !only || only.includes(c.id))) {
    try {
      const outcome = await check.run(ctx);
      console.log(`${outcome.status === 'pass' ? 'PASS' : 'SKIP'} ${check.id}: ${check.title}`);
      console.log(`     ${outcome.detail}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${check.id}: ${check.title}`);
      console.log(`     ${e instanceof CheckFailed ? e.message : describe(e)}`);
    }
  }
  console.log(`${failed === 0 ? 'ALL PASSED' : `${failed} FAILED`} (started ${started})`);
  return failed === 0 ? 0 : 1;
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const cause = e.cause === undefined ? '' : ` (cause: ${describe(e.cause)})`;
  return `${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${e.message}${cause}`;
}

process.exitCode = await main();
