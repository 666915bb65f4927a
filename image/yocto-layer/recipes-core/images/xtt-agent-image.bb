SUMMARY = "Example image: a minimal systemd image that provisions its identity with xtt-agent"
DESCRIPTION = "core-image-minimal plus packagegroup-xtt-agent, with an SSH server for \
testimage (lib/oeqa/runtime/cases/xtt_agent.py). See the layer's README for swtpm."
LICENSE = "MIT"

require recipes-core/images/core-image-minimal.bb

inherit features_check
REQUIRED_DISTRO_FEATURES = "systemd"

IMAGE_INSTALL:append = " packagegroup-xtt-agent"
IMAGE_FEATURES:append = " ssh-server-dropbear"

# testimage: the layer's provisioning test plus the basic ones it depends on.
TEST_SUITES ?= "ping ssh xtt_agent"
