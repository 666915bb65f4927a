#
# SPDX-License-Identifier: MIT
#
# testimage cases for meta-xtt-agent: the agent is installed as the layer means it (bundle, koffi
# for the target, systemd/'s unit, tss access to /dev/tpmrm0), the target's Node runs it, and, when a
# factory-provisioned swtpm is attached and an enf-server is reachable, the device provisions its
# identity at boot: the service is active (Type=notify, READY=1 only once the address is on the
# interface), `xtt-agent status --json` reports an identity, and that IPv6 address is on the
# configured interface; after a systemd-networkd restart the address is back (networkd keeps it, the
# agent has ended). See the layer's README for TEST_QEMUPARAMS (swtpm) and XTT_TEST_SERVER.

import json
import time

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage


class XttAgentTest(OERuntimeTestCase):

    def run_ok(self, cmd, what):
        status, output = self.target.run(cmd)
        self.assertEqual(status, 0, msg='%s: `%s` failed: %s' % (what, cmd, output))
        return output

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    @OEHasPackage(['xtt-agent'])
    def test_xtt_agent_installed(self):
        # Paths from the unit itself: the recipe installs under its bindir/libdir.
        execstart = self.run_ok('systemctl show -P ExecStart xtt-agent.service', 'unit')
        bundle = [w for w in execstart.split() if w.endswith('/xtt-agent.js')]
        self.assertTrue(bundle, msg='no xtt-agent.js in ExecStart: %s' % execstart)
        libdir = bundle[0].rsplit('/', 1)[0]
        self.run_ok('test -f %s/xtt-agent.js' % libdir, 'bundle')
        self.run_ok('ls %s/node_modules/@koromix/*/*/koffi.node' % libdir, 'koffi for the target')
        self.run_ok('test -f /etc/xtt-agent/config.json', 'config')
        # No assertion on the Node version (package.json's engines is the contract): running
        # the bundle below fails if the target's Node cannot.
        self.run_ok('xtt-agent --help', 'the bundle runs on the target Node with koffi')

    @OETestDepends(['xtt_agent.XttAgentTest.test_xtt_agent_installed'])
    def test_tpm_device(self):
        status, output = self.target.run('test -c /dev/tpmrm0')
        if status != 0:
            self.skipTest('no /dev/tpmrm0: attach swtpm through TEST_QEMUPARAMS (see README)')
        mode = self.run_ok('stat -c %G:%a /dev/tpmrm0', 'tpmrm0 owner')
        self.assertEqual(mode.strip(), 'tss:660', msg='60-xtt-agent-tpm.rules not applied: %s' % mode)
        groups = self.run_ok('id -Gn xtt-agent', 'agent user')
        self.assertIn('tss', groups.split(), msg='xtt-agent is not in group tss: %s' % groups)

    @OETestDepends(['xtt_agent.XttAgentTest.test_tpm_device'])
    def test_provisioning(self):
        server = self.td.get('XTT_TEST_SERVER')
        if not server:
            self.skipTest('XTT_TEST_SERVER (enf-server as HOST:PORT seen from the guest) not set')
        host, port = server.rsplit(':', 1)
        config = json.dumps({'server': {'host': host, 'port': int(port)},
                             'interface': 'eth0', 'tpm': '/dev/tpmrm0'})
        self.run_ok("echo '%s' > /etc/xtt-agent/config.json" % config, 'config')
        # Type=notify with TimeoutStartSec=infinity: a blocking restart would hold the ssh call
        # until READY=1 or the ssh timeout, so queue the job and poll.
        self.run_ok('systemctl restart --no-block xtt-agent.service', 'restart the agent')

        deadline = time.time() + 300
        state = ''
        while time.time() < deadline:
            status, state = self.target.run('systemctl is-active xtt-agent.service')
            if state.strip() in ('active', 'failed'):
                break
            time.sleep(5)
        if state.strip() != 'active':
            self.fail('agent not READY (%s)\n%s' % (state.strip(), self.diagnosis()))

        info = json.loads(self.run_ok('xtt-agent status --json', 'status'))
        identity = info.get('identity')
        self.assertTrue(identity, msg='no identity in status: %s\n%s' % (info, self.diagnosis()))
        addrs = self.run_ok('ip -6 addr show dev eth0', 'addresses')
        self.assertIn(identity.split('/')[0], addrs, msg='identity %s not on eth0:\n%s' % (identity, addrs))

    @OETestDepends(['xtt_agent.XttAgentTest.test_provisioning'])
    def test_address_after_networkd_restart(self):
        # After READY=1 the agent has ended and systemd-networkd keeps the identity as its own
        # configuration (the handoff's drop-in). Restarting networkd after the address was
        # removed must bring it back, with nothing of the agent running.
        status, _ = self.target.run('systemctl is-active systemd-networkd.service')
        if status != 0:
            self.skipTest('systemd-networkd is not running (an image with PACKAGECONFIG networkmanager?)')
        identity = json.loads(self.run_ok('xtt-agent status --json', 'status'))['identity'].split('/')[0]
        self.run_ok("journalctl -b -u xtt-agent.service -o cat | grep -F '%s/' | grep -F 'handed to systemd-networkd'"
                    % identity, 'handoff to networkd')
        cidr = self.run_ok("ip -6 -o addr show dev eth0 | awk '{print $4}' | grep -F '%s/'" % identity,
                           'identity on eth0').strip()
        self.run_ok('ip -6 addr del %s dev eth0' % cidr, 'delete the address')
        self.run_ok('systemctl restart systemd-networkd.service', 'restart networkd')
        deadline = time.time() + 300
        while time.time() < deadline:
            status, addrs = self.target.run('ip -6 addr show dev eth0')
            if ' %s/' % identity in addrs:
                break
            time.sleep(5)
        else:
            self.fail('identity %s not back on eth0 after a networkd restart:\n%s\n%s'
                      % (identity, addrs, self.diagnosis()))
        procs = self.run_ok('systemctl show -P MainPID xtt-agent.service', 'main pid')
        self.assertEqual(procs.strip(), '0', msg='the agent is still running after READY=1')
        self.assertEqual(self.run_ok('systemctl is-active xtt-agent.service', 'unit').strip(), 'active')

    def diagnosis(self):
        """What the unit said (STATUS=, journal) and what the agent's state says, for a failure."""
        parts = []
        for cmd in ('systemctl status --no-pager xtt-agent.service',
                    'journalctl -b -u xtt-agent.service --no-pager | tail -n 60',
                    'xtt-agent status --json'):
            status, output = self.target.run(cmd)
            parts.append('$ %s (exit %s)\n%s' % (cmd, status, output))
        return '\n'.join(parts)
