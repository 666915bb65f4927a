# TPM 2.0 drivers for xtt-agent (files/xtt-tpm2.cfg), only with DISTRO_FEATURES "tpm2" (the feature
# meta-security/meta-tpm uses). The include is conditional rather than SRC_URI itself, so that
# adding this layer without the feature changes no kernel signature (yocto-check-layer).
include ${@bb.utils.contains('DISTRO_FEATURES', 'tpm2', 'linux-yocto-xtt-tpm2.inc', '', d)}
