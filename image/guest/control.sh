#!/bin/sh
# Test image only (image/build-image.sh, never the Yocto layer): runs shell commands the host sends
# on the second serial port (ttyS1, a QEMU socket chardev in the test's run directory; see
# qemu/guest-control.ts) as root and answers with markers, so e2e tests can act inside the guest
# (restart a network manager, take a link down) without logging in on the console.
#   host -> guest:  ID COMMAND...
#   guest -> host:  XTT-CTL ID out LINE     (each line of stdout and stderr)
#                   XTT-CTL ID rc=STATUS    (last)
tty=/dev/ttyS1
stty -F "$tty" raw -echo 115200 || exit 1
exec <"$tty" >"$tty" 2>&1
while IFS= read -r line; do
	id=${line%% *}
	cmd=${line#* }
	case $id in '' | *[!0-9]*) continue ;; esac
	out=$(timeout 600 sh -c "$cmd" </dev/null 2>&1)
	rc=$?
	if [ -n "$out" ]; then printf '%s\n' "$out" | sed "s/^/XTT-CTL $id out /"; fi
	printf 'XTT-CTL %s rc=%s\n' "$id" "$rc"
done
