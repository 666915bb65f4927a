// Commands the reference traces do not contain (their bytes worked out from TPM 2.0 Part 3), and
// the response checks individual commands add on top of the framing.
import test from 'ava';
import { DecodeError } from '../../../../protocol/errors.ts';
import { fromHex, toHex } from '../../../../protocol/util/bytes.ts';
import { commit } from '../../../../tpm/commands/commit.ts';
import { dictionaryAttackLockReset } from '../../../../tpm/commands/dictionary-attack-lock-reset.ts';
import { getCapability } from '../../../../tpm/commands/get-capability.ts';
import { nvReadPublic } from '../../../../tpm/commands/nv-read-public.ts';
import { nvUndefineSpace } from '../../../../tpm/commands/nv-undefine-space.ts';
import { shutdown } from '../../../../tpm/commands/shutdown.ts';
import { startup } from '../../../../tpm/commands/startup.ts';
import {
  TPM_CAP_HANDLES,
  TPM_CAP_TPM_PROPERTIES,
  TPM_RH_OWNER,
  TPM_SU_STATE,
} from '../../../../tpm/constants.ts';

const PW = '00000009' + '40000009' + '0000' + '00' + '0000';

test('Startup, Shutdown, NV_UndefineSpace, DictionaryAttackLockReset bytes', (t) => {
  t.is(toHex(startup().bytes), '80010000000c00000144' + '0000');
  t.is(toHex(shutdown(TPM_SU_STATE).bytes), '80010000000c00000145' + '0001');
  t.is(
    toHex(nvUndefineSpace(TPM_RH_OWNER, 0x01410007).bytes),
    '80020000001f00000122' + '40000001' + '01410007' + PW,
  );
  t.is(toHex(dictionaryAttackLockReset().bytes), '80020000001b00000139' + '4000000a' + PW);
  t.is(startup().parse(fromHex('80010000000a00000000')), undefined);
});

const SESSION_OK = '0000010000';

test('Commit: E must be present; K and L may be empty; counter read', (t) => {
  const cmd = commit(
    0x81800000,
    { x: new Uint8Array([1]), y: new Uint8Array([2]) },
    new Uint8Array(0),
    new Uint8Array(0),
  );
  const params = (e: string): string => '00040000' + '0000' + '00040000' + '0000' + e + '0007';
  const resp = (e: string): Uint8Array => {
    const p = params(e);
    const size = 10 + 4 + p.length / 2 + SESSION_OK.length / 2;
    return fromHex(
      '8002' +
        size.toString(16).padStart(8, '0') +
        '00000000' +
        (p.length / 2).toString(16).padStart(8, '0') +
        p +
        SESSION_OK,
    );
  };
  const ok = cmd.parse(resp('0006' + '0001aa' + '0001bb'));
  t.is(ok.counter, 7);
  t.is(toHex(ok.E.x), 'aa');
  t.is(ok.K.x.length, 0);
  t.throws(() => cmd.parse(resp('0004' + '0000' + '0000')), {
    instanceOf: DecodeError,
    message: /E is empty/,
  });
});

test('NV_ReadPublic: an answer for another index is refused', (t) => {
  const body = '000e' + '01410008' + '000b' + '00060006' + '0000' + '0008' + '0002' + '000b';
  const resp = fromHex('8001' + (10 + body.length / 2).toString(16).padStart(8, '0') + '00000000' + body);
  t.is(nvReadPublic(0x01410008).parse(resp).nvPublic.dataSize, 8);
  t.throws(() => nvReadPublic(0x01410007).parse(resp), {
    instanceOf: DecodeError,
    message: /asked 0x1410007/,
  });
});

test('GetCapability: moreData must be 0/1 and the capability the one asked for', (t) => {
  const mk = (more: string, cap: string): Uint8Array => {
    const body = more + cap + '00000001' + '81800000';
    return fromHex('8001' + (10 + body.length / 2).toString(16).padStart(8, '0') + '00000000' + body);
  };
  const cmd = getCapability(TPM_CAP_HANDLES, 0x81000000, 8);
  t.deepEqual(cmd.parse(mk('01', '00000001')), {
    moreData: true,
    data: { capability: TPM_CAP_HANDLES, handles: [0x81800000] },
  });
  t.throws(() => cmd.parse(mk('02', '00000001')), { message: /TPMI_YES_NO/ });
  t.throws(() => getCapability(TPM_CAP_TPM_PROPERTIES, 0x100, 1).parse(mk('00', '00000001')), {
    message: /asked 0x6/,
  });
});
