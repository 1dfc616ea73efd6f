#!/bin/bash
# mkrootfs.sh ARCH: a root filesystem of another architecture (arm64) for the kernel-matrix VM:
# the host's userland cannot run there. Debian bookworm's packages for what the kernel suite
# runs (bash, coreutils, util-linux, iproute2, jq, bpftool, gcc and a static libc for its test
# clients, kmod), with their dependencies, unpacked (no maintainer scripts) with a private apt
# state. The host's / is mounted at /host in the guest. Prints the directory.
set -euo pipefail

# shellcheck source=integration/vm/lib-vm.sh
. "$(dirname "$0")/lib-vm.sh"

arch=${1:?usage: mkrootfs.sh ARCH}
dir=$KM_CACHE/rootfs-$arch
if [ -f "$dir/ok" ]; then
	echo "$dir"
	exit 0
fi
apt_private bookworm "$arch"
want="bash coreutils util-linux mount iproute2 jq bpftool gcc-12 libc6-dev mawk procps grep
sed findutils kmod diffutils gzip"
# shellcheck disable=SC2086
pkgs=$(apt_p depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances $want | grep -v -e '^ ' -e '^<' | sort -u)
rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/usr/bin" "$dir/usr/sbin" "$dir/usr/lib"
# Merged /usr, as bookworm's own installs are.
for d in bin sbin lib; do ln -s "usr/$d" "$dir/$d"; done
# shellcheck disable=SC2046,SC2086 # a list of names
(cd "$dir/deb" && apt_g download $(printf "%s:$arch " $pkgs) >&2)
for d in "$dir"/deb/*.deb; do
	dpkg-deb --fsys-tarfile "$d" | tar -x -C "$dir" --keep-directory-symlink
done
rm -rf "$dir/deb"
# What maintainer scripts and alternatives would have made.
ln -sf mawk "$dir/usr/bin/awk"
ln -sf bash "$dir/usr/bin/sh"
ln -sf gcc-12 "$dir/usr/bin/gcc"
ln -sf gcc-12 "$dir/usr/bin/cc"
mkdir -p "$dir/host" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/run" "$dir/root"
touch "$dir/ok"
echo "$dir"
