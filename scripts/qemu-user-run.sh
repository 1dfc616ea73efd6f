#!/bin/sh
# qemu-user-run.sh SYSROOT COMMAND...: run COMMAND, which executes arm64 binaries, on an x86 host
# under qemu-user, their libraries from SYSROOT. Criterion starts each test by executing its
# binary again, so qemu-user is entered through binfmt_misc: the machine's qemu-aarch64 handler
# when registered, else one registered in a private binfmt_misc of a new user namespace (Linux
# 6.7 or later), which changes nothing on the machine.
set -eu
sysroot=$1
shift
export QEMU_LD_PREFIX="$sysroot"
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
	exec "$@"
fi
qemu=$(command -v qemu-aarch64-static) || {
	echo "qemu-user-run: qemu-aarch64-static is not installed (make deps ARCH=arm64)" >&2
	exit 1
}
# Fix-binary (F): the interpreter is opened now, so it works after the mount namespace changes.
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --user --map-root-user --mount sh -c '
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || {
		echo "qemu-user-run: no binfmt_misc in a user namespace (Linux < 6.7):" \
			"register qemu-aarch64 on the machine (update-binfmts --enable)" >&2
		exit 1
	}
	printf "%s" ":qemu-aarch64:M::$1:$2:$3:F" >/proc/sys/fs/binfmt_misc/register
	shift 3
	exec "$@"' sh "$magic" "$mask" "$qemu" "$@"
