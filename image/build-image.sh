#!/usr/bin/env bash
# Builds the QEMU test image (image/): a Debian bookworm systemd rootfs made with debootstrap, the
# host's official Node.js 20 binary, the agent installed by image/install.sh with its config
# pointing at the host through QEMU user networking (10.0.2.2), or (--agent-tree) exactly the tree
# the Yocto recipe's do_install produced; serial console; an ext4 image made with `mkfs.ext4 -d`
# (no loop mount), a Debian kernel and a busybox initramfs.
#
#   build-image.sh [--no-agent] [--bundle DIR] [--systemd-dir DIR] [--server HOST:PORT]
#                  [--agent-tree DIR] [--cache DIR] [--size 1G] [--network networkd|networkmanager]
#
# --network picks the network manager the guest runs on eth0 (DHCP for IPv4): systemd-networkd
# (default) or NetworkManager (Debian's network-manager package, one keyfile profile for eth0), so
# the agent's handoff to each manager is tested on a real one.
#
# Prints the image directory on its last line: rootfs.ext4, vmlinuz, initrd.img, manifest.json.
# Everything is cached under --cache (default .cache/image): the debootstrap rootfs by a hash of its
# inputs, the kernel by package version, the image by a hash of everything that goes into it.
# Needs root (debootstrap chroots), debootstrap, busybox-static, cpio, e2fsprogs, apt-get.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=$repo/.cache/image
agent=1
bundle=$repo/dist/xtt-agent
agent_tree=
systemd_dir=$repo/systemd
server=10.0.2.2:4444
size=1G
suite=bookworm
mirror=http://deb.debian.org/debian
include=systemd,systemd-sysv,iproute2,udev,dbus,tpm-udev
network=networkd
modules=(virtio_pci virtio_blk virtio_net crc32c_generic ext4 button evdev)

die() {
  echo "build-image.sh: $*" >&2
  exit 2
}
log() { echo "build-image.sh: $*" >&2; }

# debootstrap's "I: ..." lines, compact: phase lines as they come, per-package lines ("Retrieving
# PKG", "Extracting PKG", ...) one in 25 with a count, so a minute of debootstrap shows it moving.
debootstrap_progress() {
  awk '/^I: / {
    line = substr($0, 4)
    split(line, w, " ")
    if (w[1] ~ /^(Retrieving|Validating|Extracting|Unpacking|Configuring)$/ && line !~ /packages\.\.\.$/ &&
        w[2] !~ /^(InRelease|Release|Packages)$/) {
      sub(/\.\.\.$/, "", w[2])
      if (++n[w[1]] % 25 == 1) printf "build-image.sh:   %s %s (package %d)\n", w[1], w[2], n[w[1]]
    } else printf "build-image.sh:   %s\n", line
    fflush()
  }' >&2
}

while [ $# -gt 0 ]; do
  case $1 in
    --no-agent) agent=0; shift; continue ;;
  esac
  [ $# -ge 2 ] || die "option $1 needs a value"
  case $1 in
    --bundle) bundle=$2 ;;
    --agent-tree) agent_tree=$2 ;;
    --systemd-dir) systemd_dir=$2 ;;
    --server) server=$2 ;;
    --cache) cache=$2 ;;
    --size) size=$2 ;;
    --network) network=$2 ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap chroots into the rootfs)"
for cmd in debootstrap busybox cpio mkfs.ext4 apt-get dpkg gzip readelf sha256sum; do
  command -v "$cmd" >/dev/null || die "$cmd not found (apt-get install debootstrap busybox-static cpio e2fsprogs binutils)"
done
[[ $server =~ ^[^:]+:[0-9]+$ ]] || die "--server must be HOST:PORT, got $server"
case $network in
  networkd) ;;
  # debootstrap does not resolve virtual packages: polkitd (a dependency) needs logind, which
  # libpam-systemd provides.
  networkmanager) include=$include,network-manager,libpam-systemd ;;
  *) die "--network must be networkd or networkmanager, got $network" ;;
esac
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

hash_str() { printf '%s' "$1" | sha256sum | cut -c1-16; }
hash_files() { sha256sum "$@" | sha256sum | cut -c1-16; }

# --- 1. Debian base rootfs (debootstrap), cached by its inputs -------------------------------
base_key=$(hash_str "v1 $suite minbase $include $mirror")
base=$cache/base-$base_key
if [ ! -f "$base/done" ]; then
  log "debootstrap $suite (minbase, $include) into $base"
  rm -rf "$base"
  mkdir -p "$base"
  debootstrap --variant=minbase --include="$include" "$suite" "$base/rootfs" "$mirror" 2>&1 |
    tee "$base/debootstrap.log" | debootstrap_progress ||
    die "debootstrap failed, see $base/debootstrap.log"
  chroot "$base/rootfs" apt-get clean
  rm -rf "$base/rootfs/var/lib/apt/lists/"*
  touch "$base/done"
fi

# --- 2. Debian kernel (apt-get download + dpkg -x), cached by package ------------------------
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 to a linux-image-6.1.0-N-amd64 package (apt-get update?)"
kver=${kpkg#linux-image-}
kdir=$cache/kernel-$kver
if [ ! -f "$kdir/done" ]; then
  log "downloading $kpkg"
  rm -rf "$kdir"
  mkdir -p "$kdir/deb"
  # As root apt-get would warn that the download is unsandboxed (no _apt access to the directory).
  (cd "$kdir/deb" && apt-get -q -o APT::Sandbox::User=root download "$kpkg" >/dev/null) ||
    die "apt-get download $kpkg failed"
  dpkg -x "$kdir"/deb/*.deb "$kdir/x"
  busybox depmod -b "$kdir/x" "$kver" || die "busybox depmod failed for $kver"
  rm -rf "$kdir/deb"
  touch "$kdir/done"
fi
[ -f "$kdir/x/boot/vmlinuz-$kver" ] || die "kernel image missing in $kdir"

# --- 3. Inputs of the image, hashed into its cache key ---------------------------------------
node_bin=$(command -v node) || die "node not found on the host"
node_bin=$(readlink -f "$node_bin")
node_release=$("$node_bin" -p 'process.release.name + " " + process.version + " " + (process.release.sourceUrl ?? "")')
case $node_release in
  "node v20."*nodejs.org*) ;;
  *) die "host node is not an official Node.js 20 build: $node_release" ;;
esac
inputs=("$here/build-image.sh" "$here/install.sh" "$here"/guest/* "$node_bin")
if [ -n "$agent_tree" ]; then
  [ $agent = 1 ] || die "--agent-tree and --no-agent exclude each other"
  [ -d "$agent_tree" ] || die "agent tree not found: $agent_tree"
  agent_tree=$(cd "$agent_tree" && pwd)
  mapfile -t tree_files < <(find "$agent_tree" -type f | sort)
  unit_in_tree=$(cd "$agent_tree" && find . -path '*/systemd/system/xtt-agent.service' | head -n 1)
  [ -n "$unit_in_tree" ] || die "agent tree has no systemd/system/xtt-agent.service: $agent_tree"
  inputs+=("${tree_files[@]}")
elif [ $agent = 1 ]; then
  [ -d "$bundle" ] || die "agent bundle not found: $bundle (run 'npm run build', or --no-agent)"
  mapfile -t bundle_files < <(find "$bundle" -type f | sort)
  inputs+=("${bundle_files[@]}" "$systemd_dir/xtt-agent.service" "$systemd_dir/xtt-agent.sysusers.conf"
    "$systemd_dir/xtt-agent.tmpfiles.conf")
fi
for f in "${inputs[@]}"; do [ -f "$f" ] || die "input missing: $f"; done
image_key=$(hash_str "$base_key $kver $agent ${agent_tree:+tree} $server $network $size ${modules[*]} $(hash_files "${inputs[@]}")")
out=$cache/images/$image_key
if [ -f "$out/manifest.json" ]; then
  log "cached image $out"
  echo "$out"
  exit 0
fi

work=$cache/work-$image_key
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
log "copying base rootfs"
cp -a "$base/rootfs" "$root"

# --- 4. Node.js: the host's official standalone binary, with its libraries checked -----------
install -m 0755 "$node_bin" "$root/usr/bin/node"
while read -r lib; do
  found=
  for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
    if [ -e "$root/$d/$lib" ]; then found=1; break; fi
  done
  [ -n "$found" ] || die "node needs $lib, which the rootfs does not have (not a standalone node?)"
done < <(readelf -d "$node_bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

# --- 5. The agent: the Yocto recipe's installed tree, or through the shared install script ------
if [ -n "$agent_tree" ]; then
  # As the recipe installed it (paths, unit, config, udev rule); directories such as /lib that
  # are symlinks in Debian's merged /usr stay symlinks.
  tar -C "$agent_tree" -cf - . | tar -C "$root" -xf - --keep-directory-symlink --no-same-owner
  ln -sf "/${unit_in_tree#./}" "$root/etc/systemd/system/multi-user.target.wants/xtt-agent.service"
elif [ $agent = 1 ]; then
  host=${server%:*}
  port=${server##*:}
  cat >"$work/config.json" <<EOF
{
  "server": { "host": "$host", "port": $port },
  "interface": "eth0",
  "tpm": "/dev/tpmrm0"
}
EOF
  sh "$here/install.sh" "$root" --bundle "$bundle" --systemd-dir "$systemd_dir" --config "$work/config.json" >&2
  ln -sf /usr/lib/systemd/system/xtt-agent.service "$root/etc/systemd/system/multi-user.target.wants/xtt-agent.service"
fi

# --- 6. Test-image configuration: console, network, self-test ---------------------------------
echo xtt-device >"$root/etc/hostname"
: >"$root/etc/machine-id"
printf '/dev/vda / ext4 defaults 0 1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null # test image: root logs in on the serial console
ln -sf /usr/lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
if [ "$network" = networkd ]; then
  install -D -m 0644 "$here/guest/20-wired.network" "$root/etc/systemd/network/20-wired.network"
  ln -sf /usr/lib/systemd/system/systemd-networkd.service \
    "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
else
  # NetworkManager (enabled by its package's postinst) with one profile for eth0, as an image
  # would ship it; keyfiles must be root-only or NetworkManager ignores them. networkd stays off.
  install -D -m 0600 "$here/guest/eth0.nmconnection" "$root/etc/NetworkManager/system-connections/eth0.nmconnection"
  rm -f "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
  [ -e "$root/lib/systemd/system/NetworkManager.service" ] || [ -e "$root/usr/lib/systemd/system/NetworkManager.service" ] ||
    die "NetworkManager.service missing in the rootfs"
  ln -sf /lib/systemd/system/NetworkManager.service \
    "$root/etc/systemd/system/multi-user.target.wants/NetworkManager.service"
  # Not waited for by anything in the guest; saves a unit start under TCG.
  ln -sf /dev/null "$root/etc/systemd/system/NetworkManager-wait-online.service"
fi
install -D -m 0644 "$here/guest/selftest.mjs" "$root/usr/lib/xtt-image/selftest.mjs"
install -m 0644 "$here/guest/xtt-image-selftest.service" "$root/usr/lib/systemd/system/"
ln -sf /usr/lib/systemd/system/xtt-image-selftest.service \
  "$root/etc/systemd/system/multi-user.target.wants/xtt-image-selftest.service"
install -m 0755 "$here/guest/control.sh" "$root/usr/lib/xtt-image/control.sh"
install -m 0644 "$here/guest/xtt-image-control.service" "$root/usr/lib/systemd/system/"
ln -sf /usr/lib/systemd/system/xtt-image-control.service \
  "$root/etc/systemd/system/multi-user.target.wants/xtt-image-control.service"
# Nothing in the guest needs these at boot; masking saves seconds under TCG.
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done

# --- 7. initramfs: busybox + the modules above and their dependencies -------------------------
ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,etc,lib/modules/"$kver"}
cp /bin/busybox "$ird/bin/busybox"
# The initramfs has no libc: busybox must be the static build (busybox-static).
if readelf -l "$ird/bin/busybox" | grep -q 'Requesting program interpreter'; then
  die "/bin/busybox is dynamically linked (apt-get install busybox-static)"
fi
install -m 0755 "$here/guest/initramfs-init" "$ird/init"
printf '%s\n' "${modules[@]}" >"$ird/etc/initramfs-modules"
moddep=$kdir/x/lib/modules/$kver/modules.dep
declare -A want=()
add_module() {
  local name=$1 line path dep
  line=$(grep -E "(^|/)${name//_/[-_]}\.ko(\.xz)?:" "$moddep" | head -n1) || true
  if [ -z "$line" ]; then
    # Built into the kernel: nothing to copy.
    grep -qE "/${name//_/[-_]}\.ko" "$kdir/x/lib/modules/$kver/modules.builtin" 2>/dev/null && return 0
    die "module $name not found in $kver"
  fi
  path=${line%%:*}
  [ -n "${want[$path]:-}" ] && return 0
  want[$path]=1
  for dep in ${line#*:}; do
    dep=$(basename "$dep")
    add_module "${dep%%.ko*}"
  done
}
for m in "${modules[@]}"; do add_module "$m"; done
for p in "${!want[@]}"; do
  install -D -m 0644 "$kdir/x/lib/modules/$kver/$p" "$ird/lib/modules/$kver/$p"
done
cp "$kdir/x/lib/modules/$kver"/modules.{order,builtin} "$ird/lib/modules/$kver/" 2>/dev/null || true
busybox depmod -b "$ird" "$kver"
mkdir -p "$out.tmp"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) >"$out.tmp/initrd.img"

# --- 8. ext4 image without a loop mount -------------------------------------------------------
log "mkfs.ext4 -d ($size)"
mkfs.ext4 -q -F -L xtt-root -d "$root" "$out.tmp/rootfs.ext4" "$size" >&2
cp "$kdir/x/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
cat >"$out.tmp/manifest.json" <<EOF
{
  "key": "$image_key",
  "kernel": "$kver",
  "node": "$("$node_bin" -v)",
  "agent": $([ $agent = 1 ] && echo true || echo false),
  "network": "$network",
  "server": "$server",
  "rootfs": "rootfs.ext4",
  "vmlinuz": "vmlinuz",
  "initrd": "initrd.img",
  "cmdline": "root=/dev/vda console=ttyS0,115200 net.ifnames=0 quiet systemd.show_status=1"
}
EOF
rm -rf "$out"
mv "$out.tmp" "$out"
# Keep the cache bounded: the four most recently built images stay, older ones go.
ls -1dt "$cache"/images/*/ 2>/dev/null | tail -n +5 | while read -r old; do rm -rf "$old"; done
log "image ready: $out"
echo "$out"
