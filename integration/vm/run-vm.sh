#!/bin/bash
# run-vm.sh NAME OUTDIR: boot one kernel of the matrix under qemu (TCG: software emulation) with
# the host's / shared read-only over 9p and run the job integration/vm/guest.sh reads, written
# here from the environment: KM_SUITES (default "kernel events dns"; "unit" adds the unit
# tests), KM_NETFENCE (the binary, absolute), KM_OUTPUT (the build directory with tests/,
# relative to the project), KM_FILTER (the suites' case regex), KM_SYNC_ROUNDS (the kernel suite's
# KT_SYNC_ROUNDS, default 50: emulation is slow), KM_TIME_SCALE (the suites' KT_TIME_SCALE,
# default 10: the factor of their waits that only end a hang). The console goes to
# OUTDIR/NAME.log; prints the guest's KM-RESULT line.
# Environment: KM_CPUS (default 2), KM_MEM (MiB, default 2048), KM_TIMEOUT (s, default 3600).
set -euo pipefail

# shellcheck source=integration/vm/lib-vm.sh
. "$(dirname "$0")/lib-vm.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

name=${1:?usage: run-vm.sh NAME OUTDIR}
out=${2:?usage: run-vm.sh NAME OUTDIR}
kernel_spec "$name" || die "unknown kernel '$name'"
dir=$KM_CACHE/$name
release=$(cat "$dir/release")
initrd=$("$ROOT/integration/vm/mkinitramfs.sh" "$name")
mkdir -p "$out"
out=$(cd "$out" && pwd)
job=$out/$name.job
cat >"$job" <<JOB
KM_ROOT='$ROOT'
KM_MODDIR='$dir/root'
KM_SUITES='${KM_SUITES:-kernel events dns}'
KM_NETFENCE='${KM_NETFENCE:-$ROOT/netfence}'
KM_OUTPUT='${KM_OUTPUT:-.output}'
KM_FILTER='${KM_FILTER:-}'
KM_CC='${KM_CC:-cc}'
KM_SYNC_ROUNDS='${KM_SYNC_ROUNDS:-50}'
KM_TIME_SCALE='${KM_TIME_SCALE:-10}'
JOB

fs=(-virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap")
append="loglevel=3 panic=-1 nf.job=$job nf.init=$ROOT/integration/vm/guest.sh"
case $KS_QARCH in
x86_64)
	qemu=(qemu-system-x86_64 -cpu max)
	append="console=ttyS0 $append"
	;;
aarch64)
	# The guest runs an arm64 root (mkrootfs.sh) and finds the host's / at /host.
	rootfs=$("$ROOT/integration/vm/mkrootfs.sh" "$KS_ARCH")
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72)
	fs=(-virtfs "local,path=$rootfs,mount_tag=root,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap")
	append="console=ttyAMA0 nf.host=1 loglevel=3 panic=-1 nf.job=$job"
	append="$append nf.init=/host$ROOT/integration/vm/guest.sh"
	;;
esac
timeout "${KM_TIMEOUT:-3600}" "${qemu[@]}" -accel tcg -m "${KM_MEM:-2048}" -smp "${KM_CPUS:-2}" \
	-kernel "$dir/root/boot/vmlinuz-$release" -initrd "$initrd" -append "$append" "${fs[@]}" \
	-nic none -display none -monitor none -serial stdio -no-reboot </dev/null >"$out/$name.log" 2>&1 ||
	true
line=$(grep -a '^KM-RESULT' "$out/$name.log" | tail -n 1 | tr -d '\r')
echo "${line:-KM-RESULT none}"
