// swtpm's control channel and a cold start, as a platform without firmware startup sees it:
// TPM_RC_FAILURE before CMD_INIT, TPM_RC_INITIALIZE before TPM2_Startup, then normal service;
// CMD_SET_LOCALITY accepted; CMD_SHUTDOWN makes swtpm exit.
import { getRandom } from '../../../tpm/commands/get-random.ts';
import { startup } from '../../../tpm/commands/startup.ts';
import { TpmError } from '../../../tpm/errors.ts';
import { Tpm } from '../../../tpm/tpm.ts';
import { suiteRequires } from '../../helpers/requirements.ts';
import { startSwtpm } from '../../helpers/swtpm.ts';
import { waitUntil } from '../../helpers/wait.ts';

const test = suiteRequires('tpm swtpm control', ['swtpm']);

function exited(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

test('cold start: power on, Startup, locality, CMD_SHUTDOWN', async (t) => {
  const sw = await startSwtpm({ coldStart: true });
  try {
    const tr = sw.transport();
    const tpm = new Tpm(tr);
    const off = await t.throwsAsync(tpm.run(getRandom(8)), { instanceOf: TpmError });
    t.is(off?.rcName, 'TPM_RC_FAILURE');
    await tr.powerOn();
    const noStartup = await t.throwsAsync(tpm.run(getRandom(8)), { instanceOf: TpmError });
    t.is(noStartup?.rcName, 'TPM_RC_INITIALIZE');
    await tpm.run(startup());
    t.is((await tpm.run(getRandom(16))).length, 16);
    await tr.setLocality(0);
    await tr.terminate();
    // A bound against a swtpm that never exits, not a speed check (was 2.5 s: too short under load).
    await waitUntil('swtpm exits after CMD_SHUTDOWN', () => exited(sw.pid), { boundMs: 120_000 });
    t.true(exited(sw.pid), 'swtpm exited after CMD_SHUTDOWN');
  } finally {
    await sw.stop();
  }
});
