#!/bin/sh
# Installs the xtt-agent into a root filesystem tree: the one install path shared by the QEMU test
# image (image/build-image.sh) and the Yocto recipe's do_install (image/yocto-layer/), so what the
# e2e tests boot is what the layer ships.
#
#   install.sh DESTDIR [--bundle DIR] [--systemd-dir DIR] [--config FILE]
#                      [--unitdir DIR] [--sysusersdir DIR] [--tmpfilesdir DIR]
#                      [--libdir DIR] [--bindir DIR] [--sysconfdir DIR] [--node PATH]
#
# Lays out, under DESTDIR:
#   LIBDIR/xtt-agent/          the bundle: xtt-agent.js and koffi beside it (copied as built)
#   BINDIR/xtt-agent           a launcher running the bundle with NODE
#   UNITDIR/xtt-agent.service  systemd/'s unit (never a copy kept elsewhere), with the node and
#                              library paths of this install in place of /usr/bin/node and
#                              /usr/lib/xtt-agent
#   SYSUSERSDIR/xtt-agent.conf, TMPFILESDIR/xtt-agent.conf   from systemd/
#   SYSCONFDIR/xtt-agent/config.json   --config FILE, or a default pointing at /dev/tpmrm0
# Every input is checked before anything is written; a missing one stops with exit 2 and says which.
# POSIX sh only: Yocto runs do_install under /bin/sh (dash on Debian builders).
set -eu

usage() {
	sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 64
}
die() {
	echo "install.sh: $*" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

[ $# -ge 1 ] || usage
destdir=$1
shift
case $destdir in -*) usage ;; esac

bundle=$repo/dist/xtt-agent
systemd_dir=$repo/systemd
config=
unitdir=/usr/lib/systemd/system
sysusersdir=/usr/lib/sysusers.d
tmpfilesdir=/usr/lib/tmpfiles.d
libdir=/usr/lib
bindir=/usr/bin
sysconfdir=/etc
node=/usr/bin/node

while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "option $1 needs a value"
	case $1 in
	--bundle) bundle=$2 ;;
	--systemd-dir) systemd_dir=$2 ;;
	--config) config=$2 ;;
	--unitdir) unitdir=$2 ;;
	--sysusersdir) sysusersdir=$2 ;;
	--tmpfilesdir) tmpfilesdir=$2 ;;
	--libdir) libdir=$2 ;;
	--bindir) bindir=$2 ;;
	--sysconfdir) sysconfdir=$2 ;;
	--node) node=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done

# Check every input first, so a failure leaves DESTDIR untouched.
[ -d "$bundle" ] || die "agent bundle directory not found: $bundle (run 'npm run build' or pass --bundle DIR)"
[ -f "$bundle/xtt-agent.js" ] || die "agent bundle has no xtt-agent.js: $bundle/xtt-agent.js"
koffi_found=$(find "$bundle" -name 'koffi*' 2>/dev/null | head -n 1)
[ -n "$koffi_found" ] || die "agent bundle has no koffi beside xtt-agent.js: $bundle"
for f in xtt-agent.service xtt-agent.sysusers.conf xtt-agent.tmpfiles.conf; do
	[ -f "$systemd_dir/$f" ] || die "systemd file not found: $systemd_dir/$f"
done
if [ -n "$config" ]; then
	[ -f "$config" ] || die "config file not found: $config"
fi
for d in "$unitdir" "$sysusersdir" "$tmpfilesdir" "$libdir" "$bindir" "$sysconfdir"; do
	case $d in /*) ;; *) die "install directories must be absolute: $d" ;; esac
done
case $node in /*) ;; *) die "--node must be an absolute path on the target: $node" ;; esac
mkdir -p "$destdir" || die "cannot create DESTDIR $destdir"

# The bundle, as built (xtt-agent.js plus koffi's loader and its native binary for the target).
install -d -m 0755 "$destdir$libdir/xtt-agent"
cp -R "$bundle/." "$destdir$libdir/xtt-agent/"
chmod -R u=rwX,go=rX "$destdir$libdir/xtt-agent"

install -d -m 0755 "$destdir$bindir"
cat >"$destdir$bindir/xtt-agent" <<EOF
#!/bin/sh
# xtt-agent launcher, written by image/install.sh: runs the bundled agent with Node.js 20.
exec $node $libdir/xtt-agent/xtt-agent.js "\$@"
EOF
chmod 0755 "$destdir$bindir/xtt-agent"

install -d -m 0755 "$destdir$unitdir" "$destdir$sysusersdir" "$destdir$tmpfilesdir"
# The unit names the default paths; an install elsewhere (another --node or --libdir) gets its own.
sed -e "s|/usr/bin/node |$node |g" -e "s|/usr/lib/xtt-agent/|$libdir/xtt-agent/|g" \
	"$systemd_dir/xtt-agent.service" >"$destdir$unitdir/xtt-agent.service"
chmod 0644 "$destdir$unitdir/xtt-agent.service"
install -m 0644 "$systemd_dir/xtt-agent.sysusers.conf" "$destdir$sysusersdir/xtt-agent.conf"
install -m 0644 "$systemd_dir/xtt-agent.tmpfiles.conf" "$destdir$tmpfilesdir/xtt-agent.conf"

install -d -m 0755 "$destdir$sysconfdir/xtt-agent"
if [ -n "$config" ]; then
	install -m 0644 "$config" "$destdir$sysconfdir/xtt-agent/config.json"
else
	# Default: the device's own TPM; the server address is the ODM's to set (image or bbappend).
	cat >"$destdir$sysconfdir/xtt-agent/config.json" <<'EOF'
{
  "server": { "host": "enf.example.invalid", "port": 4444 },
  "interface": "eth0",
  "tpm": "/dev/tpmrm0"
}
EOF
	chmod 0644 "$destdir$sysconfdir/xtt-agent/config.json"
fi

echo "install.sh: xtt-agent installed into $destdir"
