# TPM 2.0 drivers (kernel feature files/xtt-tpm2.scc) for machines that declare MACHINE_FEATURES
# "tpm2", as meta-security's meta-tpm does. The include is conditional rather than SRC_URI itself,
# so that adding this layer to a machine without the feature changes no kernel signature
# (yocto-check-layer test_signatures).
include ${@bb.utils.contains('MACHINE_FEATURES', 'tpm2', 'linux-yocto-xtt-tpm2.inc', '', d)}
