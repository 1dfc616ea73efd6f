#!/bin/bash
# fetch-kernel.sh NAME: download and unpack Debian's kernel package for one entry of the kernel
# matrix, with a private apt state (the machine's apt configuration is not used or changed),
# from the Debian mirror this machine's apt sources name. Prints the directory holding vmlinuz,
# the modules (lib/modules/<release>) and the package. Cached: a second call downloads nothing.
#
#   NAME     suite                 architecture
#   5.10     bullseye              amd64
#   6.1      bookworm              amd64
#   6.12     trixie                amd64
#   6.18     trixie-backports      amd64 (the newest 6.18 there)
#   6.1-arm64 bookworm             arm64
#
# Environment: KM_CACHE (default ~/.cache/netfence-kernels), KM_MIRROR (default: the first
# .../debian URI in /etc/apt/sources.list*, else http://deb.debian.org/debian).
set -euo pipefail

# shellcheck source=integration/vm/lib-vm.sh
. "$(dirname "$0")/lib-vm.sh"

name=${1:?usage: fetch-kernel.sh NAME}
kernel_spec "$name" || die "unknown kernel '$name' (known: $KM_ALL)"
dir=$KM_CACHE/$name
if [ -f "$dir/ok" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
apt_private "$KS_SUITE" "$KS_ARCH"
# The suite's newest build of that version, for the architecture (not -cloud, -rt, -dbg).
pkg=$(apt_p search --names-only "^linux-image-${KS_VERSION//./\\.}\\.[0-9]" | awk '{ print $1 }' |
	grep -E -- "^linux-image-[0-9.+a-z-]+-$KS_ARCH\$" | grep -v -e -cloud- -e -rt- | sort -V |
	tail -n 1)
[ -n "$pkg" ] || die "$KS_SUITE: no linux-image-$KS_VERSION.* for $KS_ARCH"
rm -rf "$dir/deb" "$dir/root"
mkdir -p "$dir/deb"
(cd "$dir/deb" && apt_g download "$pkg:$KS_ARCH" >&2) || die "cannot download $pkg"
dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
# trixie's packages are merged-/usr: modules in usr/lib/modules. The host's kmod looks in
# <base>/lib/modules.
[ -e "$dir/root/lib" ] || ln -s usr/lib "$dir/root/lib"
release=$(find "$dir/root/lib/modules/" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
if [ -z "$release" ] || [ ! -f "$dir/root/boot/vmlinuz-$release" ]; then
	die "$pkg: no vmlinuz or modules in the package"
fi
# modules.dep is made by the package's postinst: make it here, for the initramfs and for
# modprobe in the guest (modprobe -d <dir>/root).
depmod -b "$dir/root" "$release"
echo "$release" >"$dir/release"
echo "$pkg" >"$dir/package"
touch "$dir/ok"
echo "$dir"
