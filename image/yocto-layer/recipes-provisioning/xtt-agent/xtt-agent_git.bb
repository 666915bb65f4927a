SUMMARY = "XTT zero-touch identity provisioning agent (first boot, TPM 2.0)"
DESCRIPTION = "At first power-on xtt-agent proves batch membership anonymously with the TPM's \
ECDAA key in an XTT 0.12 handshake, receives the device's IPv6 identity and configures it on \
the interface; later boots re-apply it. A systemd Type=notify service running on Node.js 20."
SECTION = "net"

# LICENSE and LIC_FILES_CHKSUM: the agent's (LICENSE, Apache-2.0) and every npm package shipped in
# the bundle, generated from package-lock.json by the project's scripts/yocto-shrinkwrap.mjs.
require xtt-agent-npm.inc

# Source: this project's git repository. By default the checkout this layer sits in (the layer is
# part of the repository, so layer and agent always match); an ODM builds from its own mirror by
# setting XTT_AGENT_GIT_URI (a complete git fetcher URI) and, to pin a release, XTT_AGENT_SRCREV.
XTT_AGENT_GIT_URI ?= "git://${XTT_AGENT_LAYER_REPO};protocol=file;nobranch=1"
# Empty: the commit checked out in XTT_AGENT_LAYER_REPO (the recipe is then re-parsed every run so
# a new commit is noticed; see the anonymous function below).
XTT_AGENT_SRCREV ?= ""
SRCREV = "${@d.getVar('XTT_AGENT_SRCREV') or xtt_agent_checkout_rev(d)}"
PV = "0.1.0+git"

# The npm packages the bundle is made of, koffi's prebuilt packages and esbuild-wasm, pinned to
# package-lock.json's versions and sha512 (files/npm-shrinkwrap.json, generated).
XTT_AGENT_NPM_DIR = "${WORKDIR}/npm"
SRC_URI = "\
    ${XTT_AGENT_GIT_URI} \
    npmsw://${THISDIR}/files/npm-shrinkwrap.json;destsuffix=npm \
    file://60-xtt-agent-tpm.rules \
"

S = "${WORKDIR}/git"
B = "${WORKDIR}/build"

# Compiled by esbuild-wasm (WebAssembly, run by nodejs-native): no binary for the build host comes
# from npm and nothing is built for the target except JavaScript.
DEPENDS = "nodejs-native"
RDEPENDS:${PN} = "nodejs"

# The network manager that keeps the identity after READY=1 (agent/README.md, "After READY=1: who
# keeps the address"; the agent detects which one runs). networkd: part of systemd's main package
# in scarthgap (systemd's PACKAGECONFIG networkd, on by default) with systemd-conf's
# 80-wired.network for the Ethernet interfaces. networkmanager: NetworkManager and nmcli, the
# client the handoff runs (meta-networking's networkmanager recipe), for images that run it.
# networkd only by default with DISTRO_FEATURES systemd: systemd-conf needs it (and usrmerge).
PACKAGECONFIG ??= "${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'networkd', '', d)}"
PACKAGECONFIG[networkd] = ",,,systemd-conf"
PACKAGECONFIG[networkmanager] = ",,,networkmanager networkmanager-nmcli"

# koffi (the FFI module for netlink) ships prebuilt N-API binaries; the recipe serves the
# architectures it has glibc builds for that meta-oe's nodejs also builds: x86-64, aarch64 and
# 32-bit arm with hard float (linux_armhf, ARMv7). No musl: koffi's musl builds exist only for x64
# and arm64 and need Alpine's loader names. riscv64: koffi's package holds linux_riscv64d and
# meta-oe's nodejs is COMPATIBLE_HOST:riscv64 = "null" in scarthgap.
COMPATIBLE_HOST = "(x86_64|aarch64|arm).*-linux(-gnueabi)?$"
KOFFI_ARCH = "unsupported"
KOFFI_ARCH:x86-64 = "x64"
KOFFI_ARCH:aarch64 = "arm64"
KOFFI_ARCH:arm = "arm"

# What the ODM sets (local.conf, the distro or a bbappend), written to /etc/xtt-agent/config.json.
# XTT_AGENT_SERVER: the enf-server the devices provision against, HOST:PORT (IPv6 in brackets).
# No default except on QEMU machines, where 10.0.2.2:4444 is the build host as QEMU user
# networking (slirp) shows it, so xtt-agent-image runs under runqemu and testimage as is.
XTT_AGENT_SERVER ??= "${XTT_AGENT_SERVER_QEMU}"
XTT_AGENT_SERVER_QEMU = ""
XTT_AGENT_SERVER_QEMU:qemuall = "10.0.2.2:4444"
XTT_AGENT_INTERFACE ??= "eth0"
XTT_AGENT_SUITE ??= "1"
XTT_AGENT_TPM ??= "/dev/tpmrm0"
# The provisioning method: "xtt" (DAA batch membership with the TPM's ECDAA key) or "pki" (a
# certificate from the customer's CA, server-stub/README.md "PKI enrollment"). For pki the device
# certificate and the server's TLS CA are files on the device (put there per device, e.g. by the
# factory); the key is the P-256 key in the TPM at XTT_AGENT_PKI_TPM_HANDLE (xtt-factory pki-key),
# or a PEM file when XTT_AGENT_PKI_KEY names one. XTT_AGENT_SERVER is then the server's PKI port.
XTT_AGENT_METHOD ??= "xtt"
XTT_AGENT_PKI_CERT ??= "${sysconfdir}/xtt-agent/device.pem"
XTT_AGENT_PKI_SERVER_CA ??= "${sysconfdir}/xtt-agent/server-ca.pem"
XTT_AGENT_PKI_KEY ??= ""
XTT_AGENT_PKI_TPM_HANDLE ??= "0x81010010"
XTT_AGENT_PKI_SERVER_NAME ??= ""

# /etc/xtt-agent/config.json as one line of JSON (the values are checked at parse time below).
def xtt_agent_config_json(d):
    import json
    config = {
        'server': {'host': d.getVar('XTT_AGENT_SERVER_HOST'), 'port': int(d.getVar('XTT_AGENT_SERVER_PORT'))},
        'interface': d.getVar('XTT_AGENT_INTERFACE'),
        'tpm': d.getVar('XTT_AGENT_TPM'),
        'suite': int(d.getVar('XTT_AGENT_SUITE')),
    }
    if d.getVar('XTT_AGENT_METHOD') == 'pki':
        del config['suite']
        pki = {'cert': d.getVar('XTT_AGENT_PKI_CERT'), 'serverCa': d.getVar('XTT_AGENT_PKI_SERVER_CA')}
        if d.getVar('XTT_AGENT_PKI_KEY'):
            pki['key'] = d.getVar('XTT_AGENT_PKI_KEY')
        else:
            pki['tpmHandle'] = d.getVar('XTT_AGENT_PKI_TPM_HANDLE')
        if d.getVar('XTT_AGENT_PKI_SERVER_NAME'):
            pki['serverName'] = d.getVar('XTT_AGENT_PKI_SERVER_NAME')
        config['method'] = 'pki'
        config['pki'] = pki
    return json.dumps(config)

def xtt_agent_checkout_rev(d):
    import bb.process
    repo = d.getVar('XTT_AGENT_LAYER_REPO')
    try:
        out, _ = bb.process.run(['git', '-C', repo, 'rev-parse', '--verify', 'HEAD^{commit}'])
    except Exception as e:
        raise bb.parse.SkipRecipe('XTT_AGENT_SRCREV is not set and %s is not a git checkout (%s): '
                                  'set XTT_AGENT_SRCREV to the commit to build' % (repo, e))
    return out.strip()

python __anonymous() {
    import re
    if not d.getVar('XTT_AGENT_SRCREV'):
        d.setVar('BB_DONT_CACHE', '1')

    if d.getVar('TARGET_ARCH') == 'arm':
        tune = (d.getVar('TUNE_FEATURES') or '').split()
        # Tunes below ARMv7 name their architecture (armv4..armv6); ARMv7 ones often name only the
        # core (cortexa15), so the check is by exclusion.
        if 'callconvention-hard' not in tune or any(t in tune for t in ('armv4', 'armv5', 'armv6')):
            raise bb.parse.SkipRecipe('32-bit arm needs ARMv7 or later with hard float (koffi ships '
                                      'linux_armhf only); TUNE_FEATURES here: %s' % ' '.join(tune))

    server = d.getVar('XTT_AGENT_SERVER') or ''
    if not server:
        raise bb.parse.SkipRecipe('XTT_AGENT_SERVER is not set: set XTT_AGENT_SERVER = "host:port" '
                                  '(the enf-server devices provision against) in local.conf or a bbappend')
    m = re.fullmatch(r'(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})', server)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise bb.parse.SkipRecipe('XTT_AGENT_SERVER must be HOST:PORT (IPv6 address in brackets), '
                                  'got "%s"' % server)
    if not re.fullmatch(r'[A-Za-z0-9_.:-]{1,15}', d.getVar('XTT_AGENT_INTERFACE') or ''):
        raise bb.parse.SkipRecipe('XTT_AGENT_INTERFACE must be an interface name, got "%s"'
                                  % d.getVar('XTT_AGENT_INTERFACE'))
    if d.getVar('XTT_AGENT_SUITE') not in ('1', '2', '3', '4'):
        raise bb.parse.SkipRecipe('XTT_AGENT_SUITE must be 1, 2, 3 or 4, got "%s"' % d.getVar('XTT_AGENT_SUITE'))
    if not re.fullmatch(r'/[A-Za-z0-9_./-]+', d.getVar('XTT_AGENT_TPM') or ''):
        raise bb.parse.SkipRecipe('XTT_AGENT_TPM must be an absolute device path, got "%s"'
                                  % d.getVar('XTT_AGENT_TPM'))
    method = d.getVar('XTT_AGENT_METHOD')
    if method not in ('xtt', 'pki'):
        raise bb.parse.SkipRecipe('XTT_AGENT_METHOD must be xtt or pki, got "%s"' % method)
    if method == 'pki':
        for v in ('XTT_AGENT_PKI_CERT', 'XTT_AGENT_PKI_SERVER_CA') + (
                ('XTT_AGENT_PKI_KEY',) if d.getVar('XTT_AGENT_PKI_KEY') else ()):
            if not re.fullmatch(r'/[A-Za-z0-9_./-]+', d.getVar(v) or ''):
                raise bb.parse.SkipRecipe('%s must be an absolute path on the device, got "%s"' % (v, d.getVar(v)))
        handle = d.getVar('XTT_AGENT_PKI_TPM_HANDLE') or ''
        if not re.fullmatch(r'0x81[0-7][0-9A-Fa-f]{5}', handle):
            raise bb.parse.SkipRecipe('XTT_AGENT_PKI_TPM_HANDLE must be an owner persistent handle '
                                      '0x81000000..0x817fffff, got "%s"' % handle)
        if not re.fullmatch(r'[A-Za-z0-9.:-]*', d.getVar('XTT_AGENT_PKI_SERVER_NAME') or ''):
            raise bb.parse.SkipRecipe('XTT_AGENT_PKI_SERVER_NAME must be a host name or address, got "%s"'
                                      % d.getVar('XTT_AGENT_PKI_SERVER_NAME'))
    host = m.group(1).strip('[]')
    d.setVar('XTT_AGENT_SERVER_HOST', host)
    d.setVar('XTT_AGENT_SERVER_PORT', str(int(m.group(2))))
}

inherit systemd useradd

# The unit's User= and the group that owns /dev/tpmrm0 (60-xtt-agent-tpm.rules). The sysusers.d
# file installed below declares the same user for images that run systemd-sysusers.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system tss"
USERADD_PARAM:${PN} = "--system --home-dir /var/lib/xtt-agent --no-create-home \
    --shell /sbin/nologin --user-group --groups tss xtt-agent"

SYSTEMD_SERVICE:${PN} = "xtt-agent.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

do_configure[noexec] = "1"

do_compile() {
    # A copy of the sources with the npm packages beside them, so nothing is written into S
    # (under devtool modify, S is the developer's tree and may hold its own node_modules).
    rm -rf ${B}/src ${B}/xtt-agent
    mkdir -p ${B}/src
    tar -C ${S} --exclude=./node_modules --exclude=./.git --exclude=./dist --exclude=./.cache \
        -cf - . | tar -C ${B}/src -xf -
    ln -s ${XTT_AGENT_NPM_DIR}/node_modules ${B}/src/node_modules
    node ${B}/src/scripts/build.mjs --wasm --arch ${KOFFI_ARCH} --out ${B}/xtt-agent

    # /etc/xtt-agent/config.json from the ODM's variables (checked at parse time above).
    printf '%s\n' '${@xtt_agent_config_json(d)}' > ${B}/config.json
}

do_install() {
    # The one install path shared with the project's QEMU test image (image/install.sh); the
    # unit's ExecStart= and Documentation= get these bindir/libdir paths.
    sh ${S}/image/install.sh ${D} \
        --bundle ${B}/xtt-agent \
        --systemd-dir ${S}/systemd \
        --unitdir ${systemd_system_unitdir} \
        --sysusersdir ${nonarch_libdir}/sysusers.d \
        --tmpfilesdir ${nonarch_libdir}/tmpfiles.d \
        --libdir ${nonarch_libdir} \
        --bindir ${bindir} \
        --sysconfdir ${sysconfdir} \
        --node ${bindir}/node \
        --config ${B}/config.json

    install -D -m 0644 ${WORKDIR}/60-xtt-agent-tpm.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/60-xtt-agent-tpm.rules
}

FILES:${PN} += "\
    ${nonarch_libdir}/xtt-agent \
    ${nonarch_libdir}/sysusers.d/xtt-agent.conf \
    ${nonarch_libdir}/tmpfiles.d/xtt-agent.conf \
    ${nonarch_base_libdir}/udev/rules.d/60-xtt-agent-tpm.rules \
    ${sysconfdir}/xtt-agent \
"
CONFFILES:${PN} = "${sysconfdir}/xtt-agent/config.json"

# koffi.node is a prebuilt, already stripped N-API module.
INSANE_SKIP:${PN} += "already-stripped ldflags"
