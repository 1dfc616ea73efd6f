#!/bin/bash
# mkinitramfs.sh NAME: a tiny initramfs for one kernel of the matrix (fetch-kernel.sh first):
# a static busybox of the kernel's architecture, the modules the kernel needs to mount a 9p
# share over virtio (from the kernel's own package, with their dependencies, decompressed), and
# init. Init mounts the share tagged "root" read-only and switches to it, running the program
# named by nf.init= on the kernel command line; with nf.host=1 the share tagged "host" (the
# host's /) is mounted read-only at /host first. Prints the path of the initramfs.
set -euo pipefail

# shellcheck source=integration/vm/lib-vm.sh
. "$(dirname "$0")/lib-vm.sh"

name=${1:?usage: mkinitramfs.sh NAME}
kernel_spec "$name" || die "unknown kernel '$name'"
dir=$KM_CACHE/$name
[ -f "$dir/ok" ] || die "$name is not fetched"
release=$(cat "$dir/release")
out=$dir/initramfs.cpio.gz
if [ -f "$out" ] && [ "$out" -nt "$0" ]; then
	echo "$out"
	exit 0
fi

# busybox-static of the guest's architecture, from bookworm.
bb=$KM_CACHE/busybox-$KS_ARCH
if [ ! -x "$bb/bin/busybox" ]; then
	apt_private bookworm "$KS_ARCH"
	rm -rf "$bb" && mkdir -p "$bb/deb"
	(cd "$bb/deb" && apt_g download "busybox-static:$KS_ARCH" >&2)
	dpkg-deb -x "$bb"/deb/*.deb "$bb"
fi

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w"/{bin,dev,proc,sys,root,mods}
cp "$bb/bin/busybox" "$w/bin/busybox"
# Modules in load order (modprobe --show-depends), each decompressed for busybox's insmod.
for m in virtio_pci 9pnet_virtio 9p; do
	modprobe -d "$dir/root" -S "$release" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	base=${base%.xz} base=${base%.zst}
	case $ko in
	*.xz) xz -dc "$ko" >"$w/mods/$base" ;;
	*.zst) zstd -qdc "$ko" >"$w/mods/$base" ;;
	*) cp "$ko" "$w/mods/$base" ;;
	esac
	echo "$base" >>"$w/mods/order"
done
cat >"$w/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do
	insmod "/mods/$m" || echo "init: cannot load $m"
done
opts=trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144
mount -t 9p -o "$opts" root /root || { echo "init: cannot mount the 9p root"; poweroff -f; }
run=/bin/sh host=0
for a in $(cat /proc/cmdline); do
	case $a in
	nf.init=*) run=${a#nf.init=} ;;
	nf.host=1) host=1 ;;
	esac
done
[ "$host" = 1 ] && mount -t 9p -o "$opts" host /root/host
umount /proc /sys /dev
exec switch_root /root "$run"
INIT
chmod +x "$w/init"
(cd "$w" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
