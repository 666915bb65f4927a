// Response-code decoding (TPM 2.0 Part 2, 6.6): format zero, warnings, format one with parameter,
// handle and session numbers, vendor and TPM 1.2 codes.
import test from 'ava';
import { ZtpError } from '../../../protocol/errors.ts';
import {
  decodeResponseCode,
  describeResponseCode,
  TPM_RC_HANDLE,
  TPM_RC_VALUE,
  TpmError,
} from '../../../tpm/errors.ts';

test('format zero errors and warnings', (t) => {
  t.like(decodeResponseCode(0x922), { name: 'TPM_RC_RETRY', format: 'format-zero', isWarning: true });
  t.like(decodeResponseCode(0x908), { name: 'TPM_RC_YIELDED', isWarning: true });
  t.like(decodeResponseCode(0x90a), { name: 'TPM_RC_TESTING', isWarning: true });
  t.like(decodeResponseCode(0x921), { name: 'TPM_RC_LOCKOUT', isWarning: true });
  t.like(decodeResponseCode(0x14c), { name: 'TPM_RC_NV_DEFINED', isWarning: false });
  t.like(decodeResponseCode(0x100), { name: 'TPM_RC_INITIALIZE' });
  t.like(decodeResponseCode(0x912), { name: 'TPM_RC_REFERENCE_H2' });
  t.like(decodeResponseCode(0x97f), { name: 'TPM_RC_WARN_0x97f' });
  t.like(decodeResponseCode(0), { name: 'TPM_RC_SUCCESS', format: 'success' });
});

test('format one: parameter, handle and session numbers', (t) => {
  t.deepEqual(decodeResponseCode(0x18b), {
    rc: 0x18b,
    name: 'TPM_RC_HANDLE',
    format: 'format-one',
    isWarning: false,
    handle: 1,
  });
  t.like(decodeResponseCode(0x2c4), { name: 'TPM_RC_VALUE', parameter: 2 });
  t.like(decodeResponseCode(0x98e), { name: 'TPM_RC_AUTH_FAIL', session: 1 });
  t.like(decodeResponseCode(0x084), { name: 'TPM_RC_VALUE' });
  t.is(decodeResponseCode(0x084).handle, undefined);
  t.like(decodeResponseCode(0x0bf), { name: 'TPM_RC_FMT1_0x0bf' });
});

test('vendor and TPM 1.2 codes are named as such', (t) => {
  t.like(decodeResponseCode(0x501), { format: 'vendor' });
  t.like(decodeResponseCode(0x01e), { format: 'tpm12', name: 'TPM12_RC_0x01e' });
});

test('TpmError carries command, code name and a base code without the position', (t) => {
  const e = new TpmError('TPM_CC_ReadPublic', 0x18b);
  t.true(e instanceof ZtpError);
  t.is(e.code, 'TPM_RC');
  t.is(e.command, 'TPM_CC_ReadPublic');
  t.is(e.rcName, 'TPM_RC_HANDLE');
  t.is(e.baseCode, TPM_RC_HANDLE);
  t.is(new TpmError('TPM_CC_Sign', 0x3c4).baseCode, TPM_RC_VALUE);
  t.regex(e.message, /TPM_CC_ReadPublic failed: TPM_RC_HANDLE \(handle 1\) \[0x18b\]/);
  t.is(describeResponseCode(0x2c4), 'TPM_RC_VALUE (parameter 2) [0x2c4]');
});
