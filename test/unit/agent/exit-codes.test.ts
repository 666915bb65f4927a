// Tests for agent/exit-codes.ts and protocol/util/ipv6.ts (the RFC 5952 text the agent logs).
import test from 'ava';
import { EXIT, PERMANENT_EXIT_CODES, exitCodeFor } from '../../../agent/exit-codes.ts';
import {
  ConfigError,
  InterfaceMissingError,
  NetlinkError,
  StateError,
  TimeoutError,
} from '../../../agent/errors.ts';
import { ProtocolError, ZtpError } from '../../../protocol/errors.ts';
import { formatIpv6 } from '../../../protocol/util/ipv6.ts';

test('each documented failure maps to its exit code', (t) => {
  t.is(exitCodeFor(new ConfigError('suite', 'bad')), EXIT.CONFIG);
  t.is(exitCodeFor(new InterfaceMissingError('eth9')), EXIT.INTERFACE_MISSING);
  t.is(exitCodeFor(new StateError('/s', 'bad')), EXIT.STATE_CORRUPT);
  t.is(exitCodeFor(new NetlinkError('RTM_NEWADDR', 1, 'EPERM')), EXIT.NETWORK);
  t.is(exitCodeFor(new TimeoutError('DAD on eth0', 10000)), EXIT.NETWORK);
  t.is(exitCodeFor(new ProtocolError('RECEIVED_ERROR', 's', 'm')), EXIT.SERVER_REFUSED);
  t.is(exitCodeFor(new ProtocolError('UNKNOWN_ROOT', 's', 'm')), EXIT.SERVER_UNTRUSTED);
  t.is(exitCodeFor(new ZtpError('TPM_TRANSPORT', 'open /dev/tpmrm0: ENOENT')), EXIT.NO_TPM);
  t.is(exitCodeFor(new ZtpError('TPM_NV_LAYOUT', 'NV index missing')), EXIT.TPM_NOT_PROVISIONED);
  // A signer failing inside the handshake: its cause decides (a TPM command that failed is 13).
  const tpmRc = new ZtpError('TPM_RC', 'TPM_CC_Load failed: TPM_RC_INTEGRITY');
  t.is(
    exitCodeFor(new ProtocolError('SIGNER_FAILED', 's', 'a client signer failed', { cause: tpmRc })),
    EXIT.TPM_FAILURE,
  );
  t.is(exitCodeFor(new ProtocolError('SIGNER_FAILED', 's', 'm', { cause: new Error('x') })), EXIT.INTERNAL);
  t.is(exitCodeFor(new ZtpError('SOMETHING_NEW', 'x')), EXIT.INTERNAL);
  t.is(exitCodeFor(new TypeError('bug')), EXIT.INTERNAL);
});

test('exit codes are distinct; permanent ones exclude transient faults', (t) => {
  const codes = Object.values(EXIT);
  t.is(new Set(codes).size, codes.length);
  t.false(PERMANENT_EXIT_CODES.includes(EXIT.NO_TPM));
  t.false(PERMANENT_EXIT_CODES.includes(EXIT.INTERFACE_MISSING));
  // Refusals are retried by the agent itself (a batch associated with a network later provisions).
  t.false(PERMANENT_EXIT_CODES.includes(EXIT.SERVER_REFUSED));
  t.true(PERMANENT_EXIT_CODES.includes(EXIT.SERVER_UNTRUSTED));
  t.true(PERMANENT_EXIT_CODES.includes(EXIT.TPM_NOT_PROVISIONED));
});

test('formatIpv6 follows RFC 5952', (t) => {
  const f = (h: string) => formatIpv6(new Uint8Array(Buffer.from(h, 'hex')));
  t.is(f('fd0000000000000000000000000000a1'), 'fd00::a1');
  t.is(f('00000000000000000000000000000000'), '::');
  t.is(f('00000000000000000000000000000001'), '::1');
  t.is(f('20010db8000000010000000000000001'), '2001:db8:0:1::1');
  t.is(f('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  t.is(f('20010db8000100010001000100010001'), '2001:db8:1:1:1:1:1:1');
  t.is(f('fd000000000000000000000000000000'), 'fd00::');
  t.throws(() => formatIpv6(new Uint8Array(4)));
});
