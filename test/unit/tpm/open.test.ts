// TPM spec strings (tpm/open.ts).
import test from 'ava';
import { parseTpmSpec, TpmSpecError } from '../../../tpm/open.ts';

test('device paths and swtpm host:port specs', (t) => {
  t.deepEqual(parseTpmSpec('/dev/tpmrm0'), { kind: 'device', path: '/dev/tpmrm0' });
  t.deepEqual(parseTpmSpec('swtpm:127.0.0.1:2321'), {
    kind: 'swtpm',
    host: '127.0.0.1',
    port: 2321,
    ctrlPort: 2322,
  });
  t.deepEqual(parseTpmSpec('swtpm:localhost:2321:4000'), {
    kind: 'swtpm',
    host: 'localhost',
    port: 2321,
    ctrlPort: 4000,
  });
  t.deepEqual(parseTpmSpec('swtpm:[::1]:2321'), { kind: 'swtpm', host: '::1', port: 2321, ctrlPort: 2322 });
});

test('malformed specs are refused with TpmSpecError', (t) => {
  for (const bad of [
    'tpmrm0',
    'swtpm:',
    'swtpm:host',
    'swtpm:host:0',
    'swtpm:host:70000',
    'swtpm:h:1:x',
    'swtpm:h:65535',
    'mssim:h:1',
  ]) {
    t.throws(() => parseTpmSpec(bad), { instanceOf: TpmSpecError }, bad);
  }
});
