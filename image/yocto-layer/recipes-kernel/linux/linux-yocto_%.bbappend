# TPM 2.0 drivers for xtt-agent (files/xtt-tpm2.cfg). Only with DISTRO_FEATURES "tpm2" (the
# feature meta-security/meta-tpm uses), so adding this layer changes no kernel by itself.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI:append = "${@bb.utils.contains('DISTRO_FEATURES', 'tpm2', ' file://xtt-tpm2.cfg', '', d)}"
