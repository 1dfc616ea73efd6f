#!/bin/bash
# arm64-sysroot.sh DIR: the arm64 libraries and headers `make ARCH=arm64` links with (libbpf,
# libelf, zlib, jansson, libcap; Criterion and what it loads, for the unit tests under
# qemu-user; glibc, for qemu-user's -L), unpacked from Debian's arm64 packages into DIR with a
# private apt state: no change to the machine's dpkg or apt configuration. The compiler is
# Debian's cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross: `make deps ARCH=arm64`).
set -euo pipefail

# shellcheck source=integration/vm/lib-vm.sh
. "$(dirname "$0")/../integration/vm/lib-vm.sh"

dir=${1:?usage: arm64-sysroot.sh DIR}
[ -f "$dir/ok" ] && exit 0
apt_private bookworm arm64
dev="libbpf-dev libelf-dev zlib1g-dev libjansson-dev libcap-dev libcriterion-dev libzstd-dev"
run="libbpf1 libelf1 zlib1g libjansson4 libcap2 libcriterion3 libc6"
# The run-time closure (Depends only), plus the -dev packages themselves.
# shellcheck disable=SC2086 # lists of names
pkgs=$(apt_p depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances $run | grep -v -e '^ ' -e '^<' | sort -u)
rm -rf "$dir" && mkdir -p "$dir/deb"
# shellcheck disable=SC2046,SC2086 # lists of names
(cd "$dir/deb" && apt_g download $(printf '%s:arm64 ' $pkgs $dev) >&2)
for d in "$dir"/deb/*.deb; do
	dpkg-deb --fsys-tarfile "$d" | tar -x -C "$dir" --keep-directory-symlink
done
touch "$dir/ok"
