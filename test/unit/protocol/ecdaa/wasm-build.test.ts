// protocol/ecdaa/wasm/fp256bn-wasm.ts is exactly what scripts/build-ecdaa-wasm.mjs makes from the
// AssemblyScript source with the pinned compiler (a stale or hand-edited module fails here), and
// the bytes it carries are a WebAssembly binary (wasm-backend.test.ts exercises every export).
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FP256BN_WASM_BASE64 } from '../../../../protocol/ecdaa/wasm/fp256bn-wasm.ts';

const run = promisify(execFile);

test('the committed wasm module is reproduced byte for byte by the build script', async (t) => {
  const { stdout } = await run(process.execPath, ['scripts/build-ecdaa-wasm.mjs', '--check'], {
    timeout: 600_000,
  });
  t.regex(stdout, /is up to date/);
});

test('the embedded bytes are a version-1 wasm binary', (t) => {
  const bytes = Buffer.from(FP256BN_WASM_BASE64, 'base64');
  t.deepEqual([...bytes.subarray(0, 8)], [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
});
