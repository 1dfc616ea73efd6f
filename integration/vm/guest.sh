#!/bin/bash
# The guest's init (PID 1) in a kernel-matrix VM, started by the initramfs on the host's
# filesystem (read-only 9p; on arm64 an arm64 root with the host's at /host): mounts what the
# tests need (tmpfs on /tmp and /run, cgroup2, bpffs), points module autoloading at the booted
# kernel's own modules, runs the suites the job file names and prints one result line,
#   KM-RESULT unit=PASSED/TOTAL kernel=PASSED/TOTAL events=PASSED/TOTAL dns=PASSED/TOTAL
# ("-" for a suite not run, "skip" for one that cannot run here, "skip-no-bpf_loop" for the DNS
# suite on a kernel that refuses name rules), then powers off. Job file: nf.job= on the kernel
# command line.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C.UTF-8
# The arm64 root has no locales: a shell's warning about one would end up in a test's output.
[ -e /usr/lib/locale/C.utf8 ] || export LC_ALL=C

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# What udev or systemd would link: bash's process substitution opens /dev/fd/N.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# The host's files stay reachable at /run/host: the project and the job may live under /tmp,
# which the tmpfs below hides.
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/host
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up

prefix="" job=""
read -r -a cmdline </proc/cmdline
for a in "${cmdline[@]}"; do
	case $a in
	nf.job=*) job=${a#nf.job=} ;;
	nf.host=1) prefix=/host ;;
	esac
done
mount --bind "${prefix:-/}" /run/host
prefix=/run/host
mount -t tmpfs -o mode=1777 tmpfs /tmp
# shellcheck disable=SC1090
. "$prefix$job"
KM_ROOT=$prefix$KM_ROOT

# The kernel runs /proc/sys/kernel/modprobe to load a module (veth, nf_tables, ...): the
# modules of the package this kernel came from, not the host's.
printf '#!/bin/sh\nexec modprobe -d %s "$@"\n' "$prefix$KM_MODDIR" >/run/modprobe
chmod +x /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe

poweroff()
{
	sync
	echo 1 >/proc/sys/kernel/sysrq
	echo o >/proc/sysrq-trigger
	sleep 10
}

# suite_result LOG: "PASSED/TOTAL" from an integration suite's last line, "skip", or the error.
suite_result()
{
	local r
	r=$(awk '/^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ { print $1 "/" $1 + $3 }' "$1")
	if [ -z "$r" ] && grep -q '^SKIP: ' "$1"; then
		r=skip
	fi
	echo "${r:-error($(tail -n 1 "$1" | tr ' ' _ | cut -c 1-60))}"
}

echo "KM-BEGIN $(uname -r) $(uname -m)"
unit=- kernel=- events=- dns=-
if [[ " $KM_SUITES " == *" unit "* ]]; then
	n=0 ok=0
	for t in "$KM_ROOT/$KM_OUTPUT"/tests/test_*; do
		n=$((n + 1))
		(cd /tmp && "$t" --jobs 1) && ok=$((ok + 1))
	done
	unit=$ok/$n
	echo "KM-UNIT $unit"
fi
if [[ " $KM_SUITES " == *" kernel "* ]]; then
	cd /tmp || poweroff
	NETFENCE=$prefix$KM_NETFENCE CASES=$KM_FILTER CC=${KM_CC:-cc} \
		KT_SYNC_ROUNDS=$KM_SYNC_ROUNDS KT_TIME_SCALE=$KM_TIME_SCALE \
		"$KM_ROOT/integration/test-kernel.sh" 2>&1 | tee /tmp/kernel.log
	kernel=$(suite_result /tmp/kernel.log)
	echo "KM-KERNEL $kernel"
fi
if [[ " $KM_SUITES " == *" events "* ]]; then
	cd /tmp || poweroff
	NETFENCE=$prefix$KM_NETFENCE CASES=$KM_FILTER CC=${KM_CC:-cc} \
		KT_TIME_SCALE=$KM_TIME_SCALE "$KM_ROOT/integration/test-events.sh" 2>&1 |
		tee /tmp/events.log
	events=$(suite_result /tmp/events.log)
fi
if [[ " $KM_SUITES " == *" dns "* ]]; then
	cd /tmp || poweroff
	NETFENCE=$prefix$KM_NETFENCE CASES=$KM_FILTER CC=${KM_CC:-cc} \
		KT_TIME_SCALE=$KM_TIME_SCALE "$KM_ROOT/integration/test-dns.sh" 2>&1 | tee /tmp/dns.log
	dns=$(suite_result /tmp/dns.log)
	# the one skip the matrix accepts, on kernels before 5.17: the refusal of name rules
	if [ "$dns" = skip ] && grep -q '^SKIP: this kernel lacks bpf_loop' /tmp/dns.log; then
		dns=skip-no-bpf_loop
	fi
fi
echo "KM-RESULT unit=$unit kernel=$kernel events=$events dns=$dns"
poweroff
