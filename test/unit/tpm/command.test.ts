// Command/response framing (tpm/command.ts): header sizes, error responses, tags, parameterSize,
// session areas and trailing bytes.
import test from 'ava';
import { DecodeError } from '../../../protocol/errors.ts';
import { fromHex, toHex } from '../../../protocol/util/bytes.ts';
import { passwordAuthArea, readResponseHeader } from '../../../tpm/command.ts';
import { getRandom } from '../../../tpm/commands/get-random.ts';
import { nvRead } from '../../../tpm/commands/nv-read.ts';
import { TpmError } from '../../../tpm/errors.ts';

test('password auth area is the reference bytes', (t) => {
  t.is(toHex(passwordAuthArea(1)), '00000009' + '40000009' + '0000' + '00' + '0000');
  t.is(passwordAuthArea(2).length, 4 + 18);
});

test('response header: size must equal the byte count; bad tag rejected', (t) => {
  t.deepEqual(readResponseHeader(fromHex('80010000000a00000000')), { tag: 0x8001, size: 10, rc: 0 });
  t.throws(() => readResponseHeader(fromHex('80010000000b00000000')), { instanceOf: DecodeError });
  t.throws(() => readResponseHeader(fromHex('80010000000a000000')), { instanceOf: DecodeError });
  t.throws(() => readResponseHeader(fromHex('00c40000000a00000000')), { message: /bad tag/ });
});

test('no-session command: parses, error codes become TpmError, trailing bytes rejected', (t) => {
  const cmd = getRandom(4);
  t.is(toHex(cmd.bytes), '80010000000c0000017b0004');
  t.is(toHex(cmd.parse(fromHex('800100000010000000000004deadbeef'))), 'deadbeef');
  const e = t.throws(() => cmd.parse(fromHex('80010000000a00000922')), { instanceOf: TpmError });
  t.is(e?.rcName, 'TPM_RC_RETRY');
  t.throws(() => cmd.parse(fromHex('80010000000b0000092200')), { instanceOf: DecodeError });
  t.throws(() => cmd.parse(fromHex('800100000011000000000004deadbeef00')), { message: /trailing/ });
  t.throws(() => cmd.parse(fromHex('800100000011000000000005deadbeef00')), {
    message: /more bytes than requested/,
  });
  t.throws(() => cmd.parse(fromHex('80020000000a00000000')), { message: /tag/ });
});

test('session command: parameterSize bounds, session area count, trailing bytes', (t) => {
  const cmd = nvRead(0x01410007, 0x01410007, 2, 0);
  t.is(toHex(cmd.bytes), '8002000000230000014e01410007014100070000000940000009000000000000020000');
  const ok = '80020000001700000000' + '00000004' + '0002abcd' + '0000010000';
  t.is(toHex(cmd.parse(fromHex(ok))), 'abcd');
  t.throws(() => cmd.parse(fromHex('80020000001700000000' + '0000000a' + '0002abcd' + '0000010000')), {
    message: /exceeds/,
  });
  t.throws(() => cmd.parse(fromHex('80020000001300000000' + '00000004' + '0002abcd')), {
    instanceOf: DecodeError,
  });
  t.throws(() => cmd.parse(fromHex('80020000001800000000' + '00000004' + '0002abcd' + '000001000000')), {
    message: /trailing/,
  });
  t.throws(() => cmd.parse(fromHex('80020000001700000000' + '00000004' + '0003abcd' + '0000010000')), {
    instanceOf: DecodeError,
  });
  t.throws(() => cmd.parse(fromHex('80020000001600000000' + '00000003' + '0001ab' + '0000010000')), {
    message: /asked 2 bytes/,
  });
});
