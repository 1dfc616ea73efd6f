#!/bin/sh
# Install the Debian packages netfence needs to build and test. Idempotent: quick when present.
# The tests include building the Debian package (integration/test-deb.sh), so its tools are
# here too: `make check` on a fresh machine runs every suite, none skipped for a missing tool.
set -eu

PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libjansson-dev
libcap-dev libcap2-bin libcriterion-dev python3 python3-jsonschema python3-yaml
python3-prometheus-client iproute2 runc
crun podman containerd nftables iptables liburing-dev valgrind libclang-rt-14-dev busybox-static
binutils procps groff-base man-db dpkg-dev debhelper fakeroot lintian bash-completion clang-format
dnsmasq-base bind9-dnsutils"
# deps.sh arm64: also the cross toolchain for `make ARCH=arm64` (its libraries are unpacked into
# a private sysroot, scripts/arm64-sysroot.sh) and qemu-user. deps.sh matrix: also what `make
# kernel-matrix` runs: qemu, kmod (depmod, modprobe for the guest), zstd, xz.
for extra in "$@"; do
	case $extra in
	arm64) PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static" ;;
	matrix) PKGS="$PKGS qemu-system-x86 qemu-system-arm kmod zstd xz-utils" ;;
	esac
done

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null
