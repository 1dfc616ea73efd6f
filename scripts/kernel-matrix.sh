#!/bin/bash
# kernel-matrix.sh: netfence's kernel, events and DNS suites (integration/test-kernel.sh,
# test-events.sh, test-dns.sh) on Debian's own kernels, each booted under qemu with software emulation (TCG),
# one at a time, then a table:
#
#   KERNELS="5.10 6.1 6.12 6.18 6.1-arm64"  the kernels (default: all)
#   KM_FILTER=REGEX                         the suites' case filter (default: all cases)
#   KM_SUITES="kernel events dns unit"      the suites (default "kernel events dns"; unit: the
#                                           unit tests inside the VM, slow under TCG)
#   KM_CACHE=DIR                            downloads (default ~/.cache/netfence-kernels)
#
# Kernel packages come from the Debian mirror of the machine's apt sources, through a private
# apt state (integration/vm/fetch-kernel.sh); the guest shares the host's / read-only over 9p
# (integration/vm/run-vm.sh, guest.sh). The arm64 entry runs the cross-built
# .output-arm64/netfence on an arm64 root of Debian packages (integration/vm/mkrootfs.sh).
# Consoles and the table: .output/kernel-matrix/. Exit 1 when a kernel has a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=integration/vm/lib-vm.sh
. "$ROOT/integration/vm/lib-vm.sh"
out=$ROOT/.output/kernel-matrix
mkdir -p "$out"
table=$out/table.md
rc=0

# passed RESULT OK...: RESULT is PASSED/TOTAL with all passed, or one of the words OK.
# wanted SUITE: "-" (the result of a suite not run) when SUITE is not asked for, else nothing.
wanted()
{
	[[ " ${KM_SUITES:-kernel events dns} " == *" $1 "* ]] || echo -
}

# older A B: version A is before version B.
older()
{
	[ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

passed()
{
	case $1 in
	*/*) [ "${1%/*}" = "${1#*/}" ] ;;
	*) [[ " $2 " == *" $1 "* ]] ;;
	esac
}

{
	echo "| kernel | package | arch | kernel suite | events suite | DNS suite | time |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$table"
for k in ${KERNELS:-$KM_ALL}; do
	kernel_spec "$k" || die "unknown kernel '$k' (known: $KM_ALL)"
	"$ROOT/integration/vm/fetch-kernel.sh" "$k" >/dev/null
	if [ "$KS_ARCH" = arm64 ]; then
		export KM_NETFENCE=$ROOT/.output-arm64/netfence KM_OUTPUT=.output-arm64
		[ -x "$KM_NETFENCE" ] || die "no $KM_NETFENCE: make ARCH=arm64 first"
	else
		export KM_NETFENCE=$ROOT/netfence KM_OUTPUT=.output
	fi
	echo "== $k: booting $(cat "$KM_CACHE/$k/package") ($KS_QARCH, TCG)"
	start=$(date +%s)
	res=$("$ROOT/integration/vm/run-vm.sh" "$k" "$out")
	secs=$(($(date +%s) - start))
	kern=$(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' <<<"$res")
	events=$(sed -n 's/.* events=\([^ ]*\).*/\1/p' <<<"$res")
	dns=$(sed -n 's/.* dns=\([^ ]*\).*/\1/p' <<<"$res")
	echo "   $res (${secs}s; console: $out/$k.log)"
	grep -a '^FAIL' "$out/$k.log" | sed 's/^/   /' || true
	# A suite asked for and not run ("-") is a failure; the events suite may say it cannot run
	# in this guest ("skip": the arm64 root has no python3).
	passed "$kern" "$(wanted kernel)" || rc=1
	passed "$events" "$(wanted events) skip" || rc=1
	# The DNS suite may skip where it cannot run (the arm64 root has no dnsmasq), and before
	# 5.17 (no bpf_loop) must be refused name rules: a kernel after that must pass it.
	dns_ok="$(wanted dns)"
	[ "$KS_ARCH" = arm64 ] && dns_ok="$dns_ok skip"
	older "$KS_VERSION" 5.17 && dns_ok="$dns_ok skip-no-bpf_loop"
	passed "$dns" "$dns_ok" || rc=1
	printf '| %s | %s | %s | %s | %s | %s | %dm%02ds |\n' "$k" "$(cat "$KM_CACHE/$k/package")" \
		"$KS_ARCH" "${kern:-none}" "${events:-none}" "${dns:-none}" $((secs / 60)) \
		$((secs % 60)) >>"$table"
done
echo
cat "$table"
exit $rc
