#!/bin/sh
# Makes the agent's release artefact that the Yocto recipe fetches (issue 10,
# image/yocto-layer/recipes-provisioning/xtt-agent): xtt-agent-VERSION.tar.gz holding
#   xtt-agent-VERSION/dist/xtt-agent/   the esbuild bundle (xtt-agent.js, package.json, legal notes)
#                                        without node_modules: koffi is fetched per target arch
#   xtt-agent-VERSION/systemd/          the unit, sysusers.d and tmpfiles.d files (the only copies)
#   xtt-agent-VERSION/image/install.sh  the shared install script the recipe's do_install runs
# The tarball is reproducible (sorted names, fixed mtime and owner, gzip -n), so its sha256 is a
# function of the sources; the script prints the SRC_URI checksum line for the recipe.
#
#   make-release.sh [--bundle DIR] [--out DIR] [--version V]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bundle=$repo/dist/xtt-agent
out=$repo/dist
version=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$repo/package.json" | head -n 1)

die() {
	echo "make-release.sh: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "option $1 needs a value"
	case $1 in
	--bundle) bundle=$2 ;;
	--out) out=$2 ;;
	--version) version=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done

[ -n "$version" ] || die "no version (package.json has none; pass --version)"
[ -f "$bundle/xtt-agent.js" ] || die "no bundle at $bundle (run 'npm run build' first)"
for f in xtt-agent.service xtt-agent.sysusers.conf xtt-agent.tmpfiles.conf; do
	[ -f "$repo/systemd/$f" ] || die "missing systemd/$f"
done

name=xtt-agent-$version
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/dist/xtt-agent" "$stage/$name/systemd" "$stage/$name/image"
(cd "$bundle" && find . -path ./node_modules -prune -o -type f -print) | while read -r f; do
	mkdir -p "$(dirname "$stage/$name/dist/xtt-agent/$f")"
	cp "$bundle/$f" "$stage/$name/dist/xtt-agent/$f"
done
cp "$repo/systemd/xtt-agent.service" "$repo/systemd/xtt-agent.sysusers.conf" \
	"$repo/systemd/xtt-agent.tmpfiles.conf" "$stage/$name/systemd/"
cp "$here/install.sh" "$stage/$name/image/install.sh"
chmod -R u=rwX,go=rX "$stage/$name"
chmod 0755 "$stage/$name/image/install.sh"

mkdir -p "$out"
tarball=$out/$name.tar.gz
(cd "$stage" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$name") | gzip -n -9 >"$tarball"
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
echo "make-release.sh: $tarball" >&2
echo "SRC_URI[bundle.sha256sum] = \"$sum\""
