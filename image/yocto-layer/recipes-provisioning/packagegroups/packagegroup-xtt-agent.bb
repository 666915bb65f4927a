SUMMARY = "XTT zero-touch provisioning: the agent and what it needs at run time"
DESCRIPTION = "Everything a device image needs to provision its identity at first power-on: \
xtt-agent (systemd service), Node.js, and iproute2 to inspect the assigned address."
LICENSE = "MIT"

inherit packagegroup

RDEPENDS:${PN} = "\
    xtt-agent \
    nodejs \
    iproute2 \
"
