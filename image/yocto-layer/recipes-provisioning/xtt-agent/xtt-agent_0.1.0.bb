SUMMARY = "XTT zero-touch identity provisioning agent (first boot, TPM 2.0)"
DESCRIPTION = "At first power-on xtt-agent proves batch membership anonymously with the TPM's \
ECDAA key in an XTT 0.12 handshake, receives the device's IPv6 identity and configures it on \
the interface; later boots re-apply it. A systemd Type=notify service running on Node.js 20."
HOMEPAGE = "https://github.com/xtt-zero-touch/xtt-zero-touch"
SECTION = "net"

# The agent is Apache-2.0; koffi (the FFI module shipped beside the bundle) is MIT.
LICENSE = "Apache-2.0 & MIT"
LIC_FILES_CHKSUM = "\
    file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10 \
    file://${UNPACKDIR}/npm/koffi/package/LICENSE.txt;md5=ca42d48ef430db5a77c152e6f454872d \
"

# scarthgap unpacks into WORKDIR; styhead and later define UNPACKDIR themselves.
UNPACKDIR ??= "${WORKDIR}"

# The release artefact made by image/make-release.sh in the project: the esbuild bundle (no
# node_modules), systemd/ (the unit, sysusers.d, tmpfiles.d) and image/install.sh.
XTT_AGENT_RELEASE_URI ?= "https://github.com/xtt-zero-touch/xtt-zero-touch/releases/download/v${PV}"

# koffi: the loader and the prebuilt native module for the target (no compiler involved).
KOFFI_VERSION = "3.3.4"
KOFFI_ARCH = "unsupported"
KOFFI_ARCH:x86-64 = "x64"
KOFFI_ARCH:aarch64 = "arm64"
KOFFI_ARCH:arm = "arm"
KOFFI_ARCH:riscv64 = "riscv64"
# Directory names inside @koromix/koffi-linux-ARCH: glibc builds are linux_*, musl ones musl_*.
KOFFI_BINARCH = "${@'armhf' if d.getVar('KOFFI_ARCH') == 'arm' else d.getVar('KOFFI_ARCH')}"
KOFFI_LIBC = "${@'musl' if d.getVar('TCLIBC') == 'musl' else 'linux'}"
COMPATIBLE_HOST = "(x86_64|aarch64|arm|riscv64).*-linux.*"

SRC_URI = "\
    ${XTT_AGENT_RELEASE_URI}/xtt-agent-${PV}.tar.gz;name=bundle \
    https://registry.npmjs.org/koffi/-/koffi-${KOFFI_VERSION}.tgz;name=koffi;subdir=npm/koffi \
    https://registry.npmjs.org/@koromix/koffi-linux-${KOFFI_ARCH}/-/koffi-linux-${KOFFI_ARCH}-${KOFFI_VERSION}.tgz;name=koffi-${KOFFI_ARCH};subdir=npm/koffi-arch;downloadfilename=koromix-koffi-linux-${KOFFI_ARCH}-${KOFFI_VERSION}.tgz \
    file://60-xtt-agent-tpm.rules \
"
SRC_URI[bundle.sha256sum] = "99cbd1526542fe42d10e4d94942fb21a4579680b858ce16b6f3daf2908880464"
SRC_URI[koffi.sha256sum] = "ac0fd04374b6f8767b14383a68fc8f780d259fe82ffed118a64b2259b50237c0"
SRC_URI[koffi-x64.sha256sum] = "ca00f125173c267013bafd9857b067e10f5ed7f902a124c9817d8e1346b95120"
SRC_URI[koffi-arm64.sha256sum] = "d2d6ad6e85d165e1cd8439c3851b9b3526db083303991fa5720087cd6cc04f89"
SRC_URI[koffi-arm.sha256sum] = "42be31d62d183f3c0d66a6bcc33c819afc817b80d149a170bc5f8af3d3d56d02"
SRC_URI[koffi-riscv64.sha256sum] = "8b6546054e0245b34cf6d72682ffa4bf35b8aac8e82c3e9209d21a544d5d3420"

S = "${UNPACKDIR}/xtt-agent-${PV}"

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
do_compile[noexec] = "1"

do_install() {
    # The bundle as the agent ships it: xtt-agent.js with koffi for this target beside it.
    bundle=${B}/bundle
    rm -rf $bundle
    mkdir -p $bundle/node_modules/koffi/src/koffi/src $bundle/node_modules/@koromix
    cp -R ${S}/dist/xtt-agent/. $bundle/
    k=${UNPACKDIR}/npm/koffi/package
    for f in package.json index.js LICENSE.txt src/koffi/index.js src/koffi/src/static.js; do
        cp $k/$f $bundle/node_modules/koffi/$f
    done
    ka=${UNPACKDIR}/npm/koffi-arch/package
    native=$bundle/node_modules/@koromix/koffi-linux-${KOFFI_ARCH}
    mkdir -p $native
    cp $ka/package.json $ka/index.js $native/
    cp -R $ka/${KOFFI_LIBC}_${KOFFI_BINARCH} $native/

    # An ODM's bbappend may add file://config.json (server address, interface) to SRC_URI.
    config=
    if [ -f ${UNPACKDIR}/config.json ]; then
        config="--config ${UNPACKDIR}/config.json"
    fi

    # The one install path shared with the project's QEMU test image.
    sh ${S}/image/install.sh ${D} \
        --bundle $bundle \
        --systemd-dir ${S}/systemd \
        --unitdir ${systemd_system_unitdir} \
        --sysusersdir ${nonarch_libdir}/sysusers.d \
        --tmpfilesdir ${nonarch_libdir}/tmpfiles.d \
        --libdir ${nonarch_libdir} \
        --bindir ${bindir} \
        --sysconfdir ${sysconfdir} \
        --node ${bindir}/node \
        $config

    install -D -m 0644 ${UNPACKDIR}/60-xtt-agent-tpm.rules \
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

RDEPENDS:${PN} = "nodejs"

# koffi.node is a prebuilt, already stripped N-API module.
INSANE_SKIP:${PN} += "already-stripped ldflags"
