// The device transport's frame check, and its behaviour on an ordinary file standing in for the
// character device: one write of the whole command, one read, size field checked. (The real
// /dev/tpmrm0 path runs in the QEMU end-to-end test.)
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../../../protocol/util/bytes.ts';
import { TpmTransportError } from '../../../../tpm/errors.ts';
import { checkResponseFrame, DeviceTransport } from '../../../../tpm/transport/device.ts';

test('checkResponseFrame: header required, size field must match', (t) => {
  t.is(toHex(checkResponseFrame(fromHex('80010000000a00000000'), 'x')), '80010000000a00000000');
  t.throws(() => checkResponseFrame(fromHex('800100'), 'x'), {
    instanceOf: TpmTransportError,
    message: /shorter/,
  });
  t.throws(() => checkResponseFrame(fromHex('80010000000c00000000'), 'x'), {
    message: /size field 12 but 10/,
  });
});

test('missing device is a TpmTransportError naming the path', async (t) => {
  await t.throwsAsync(DeviceTransport.open('/nonexistent/tpmrm9'), {
    instanceOf: TpmTransportError,
    message: /tpmrm9/,
  });
});

test('one write then one read; a response whose size does not match is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpmdev-'));
  const path = join(dir, 'dev');
  // A regular file: the command is written at offset 0, the read continues after it.
  writeFileSync(path, new Uint8Array(0));
  const tr = await DeviceTransport.open(path);
  const cmd = fromHex('80010000000b0000014301');
  writeFileSync(path, new Uint8Array([...new Uint8Array(cmd.length), ...fromHex('80010000000a00000000')]));
  t.is(toHex(await tr.transmit(cmd)), '80010000000a00000000');
  t.is(toHex(new Uint8Array(readFileSync(path)).subarray(0, 11)), toHex(cmd));
  await t.throwsAsync(tr.transmit(cmd), { instanceOf: TpmTransportError, message: /shorter/ });
  await tr.close();
  await t.throwsAsync(tr.transmit(cmd), { message: /closed/ });
  rmSync(dir, { recursive: true });
});
