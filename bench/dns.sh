#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What name rules cost (BENCHMARKS.md, "Name rules"): ns per run of the DNS programs and of
# connect4, from kernel.bpf_stats_enabled, with dnsmasq in a second network namespace as in
# integration/test-dns.sh.
#
#   NETFENCE=$PWD/netfence bench/dns.sh [LOOKUPS]     (root; default 300 lookups and connects)
#
# Rows: nf_dns_query and nf_dns_answer per lookup (one A query and its answer of one record,
# then of three: two CNAMEs and an A), from one dig process asking N times (warm caches) and from
# N getent processes; nf_connect4_names per connect to a learned address (the rules deny by
# default, the learned map allows) and to one never learned, beside nf_connect4 of a policy
# without host rules allowing the same connect by a CIDR rule and denying the other. Numbers
# move with the machine: compare rows of one run.
set -u

. "$(dirname "$0")/../integration/lib-kernel.sh"
# shellcheck source=integration/lib-dns.sh
. "$(dirname "$0")/../integration/lib-dns.sh"

N=${1:-300}
CC=${CC:-cc}
STATS_WAS=""

cleanup()
{
	stop_test_work
	[ -n "$STATS_WAS" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	dns_cleanup
	[ -n "$CG" ] && [ -d "$CG-2" ] && rmdir "$CG-2"
	[ -n "$CG" ] && [ -d "$CG" ] && remove_dns_cgroup "$CG"
	unmount_bpffs
	remove_tmp 0
}

need_root
need_commands jq ip dnsmasq dig getent bpftool "$CC"
need_cgroup2
need_netfence
make_tmp bench-dns
mkdir -p "$T/bpffs" "$T/state" "$T/policies"
mount_bpffs
write_config policies
copy_netfence
build_client
CG=$CG2/netfence-bench-dns-$$
mkdir "$CG" || skip "cannot create a cgroup"

dns_netns bd 10.78.0.1 10.78.0.2
srv ip addr add 10.78.0.10/32 dev "${VETH}a"
srv ip addr add 10.78.0.11/32 dev "${VETH}a"
dns_resolver 10.78.0.1
dns_start_dnsmasq 10.78.0.1 one.example.com --host-record=one.example.com,10.78.0.10 \
	--cname=three.example.com,mid.example.com --cname=mid.example.com,end.example.com \
	--host-record=end.example.com,10.78.0.11

# run CMD...: CMD in the client namespace, in the cgroup.
run()
{
	dns_run "$CG" "$@"
}

# stats NAME: "run_cnt run_time_ns" of the program NAME on the cgroup.
stats()
{
	local id
	id=$(bpftool -j cgroup show "$CG" | jq -r ".[] | select(.name == \"$1\") | .id")
	bpftool -j prog show id "$id" | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"'
}

# per NAME BEFORE: ns per run of NAME since BEFORE ("cnt ns").
per()
{
	local now
	now=$(stats "$1")
	awk -v a="$2" -v b="$now" 'BEGIN { split(a, x, " "); split(b, y, " ");
		n = y[1] - x[1]; printf "%d runs, %.0f ns per run", n, n ? (y[2] - x[2]) / n : 0 }'
}

cat >"$T/policies/names.json" <<EOF
{ "version": 1, "default": "deny", "resolvers": ["10.78.0.1"], "rules": [
  { "action": "allow", "host": "one.example.com", "protocol": "tcp", "ports": [443] },
  { "action": "allow", "host": "three.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
cat >"$T/policies/cidr.json" <<EOF
{ "version": 1, "default": "deny", "rules": [
  { "action": "allow", "cidr": "10.78.0.1/32", "protocol": "udp", "ports": [53] },
  { "action": "allow", "cidr": "10.78.0.10/32", "protocol": "tcp", "ports": [443] } ] }
EOF

STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1

start=$(date +%s%N)
"${NF[@]}" attach --id bench --cgroup "$CG" --policy "$T/policies/names.json" >/dev/null ||
	skip "attach of a policy with host rules failed"
echo "attach, host rules, cold: $((($(date +%s%N) - start) / 1000000)) ms"
# Beside it, on a second cgroup: the same policy (its programs shared), then another policy with
# host rules (its own verdict programs; the DNS programs are the first one's).
mkdir "$CG-2" || skip "cannot create $CG-2"
sed 's/"ports": \[443\] } \] }/"ports": [8443] } ] }/' "$T/policies/names.json" >"$T/policies/names2.json"
for p in names names2; do
	start=$(date +%s%N)
	"${NF[@]}" attach --id bench-2 --cgroup "$CG-2" --policy "$T/policies/$p.json" >/dev/null ||
		skip "attach of $p beside the first fence failed"
	echo "attach, host rules, beside it, $([ $p = names ] && echo "the same policy" ||
		echo "another policy"): $((($(date +%s%N) - start) / 1000000)) ms"
	"${NF[@]}" detach bench-2 >/dev/null
done
rmdir "$CG-2"
for name in one three; do
	# warm: one dig process asks N times (-f); cold: N getent processes
	for i in $(seq "$N"); do echo "$name.example.com A"; done >"$T/batch"
	q=$(stats nf_dns_query)
	a=$(stats nf_dns_answer)
	run dig +tries=1 +time=2 @10.78.0.1 -f "$T/batch" >/dev/null
	echo "nf_dns_query, $name-record answers, one process: $(per nf_dns_query "$q")"
	echo "nf_dns_answer, $name-record answers, one process: $(per nf_dns_answer "$a")"
	q=$(stats nf_dns_query)
	a=$(stats nf_dns_answer)
	run bash -c "for i in \$(seq $N); do getent ahostsv4 $name.example.com >/dev/null; done"
	echo "nf_dns_query, $name-record answers, a process each: $(per nf_dns_query "$q")"
	echo "nf_dns_answer, $name-record answers, a process each: $(per nf_dns_answer "$a")"
done
c=$(stats nf_connect4_names)
run bash -c "for i in \$(seq $N); do $CLIENT tcp 10.78.0.10 443 >/dev/null; done"
echo "nf_connect4_names, allowed by a learned address, a process each: $(per nf_connect4_names "$c")"
c=$(stats nf_connect4_names)
run bash -c "for i in \$(seq $N); do $CLIENT tcp 10.78.0.99 443 >/dev/null; done"
echo "nf_connect4_names, denied (never learned), a process each: $(per nf_connect4_names "$c")"
"${NF[@]}" detach bench >/dev/null

start=$(date +%s%N)
"${NF[@]}" attach --id bench --cgroup "$CG" --policy "$T/policies/cidr.json" >/dev/null
echo "attach, CIDR rules, cold: $((($(date +%s%N) - start) / 1000000)) ms"
c=$(stats nf_connect4)
run bash -c "for i in \$(seq $N); do $CLIENT tcp 10.78.0.10 443 >/dev/null; done"
echo "nf_connect4, allowed by a CIDR rule, a process each: $(per nf_connect4 "$c")"
c=$(stats nf_connect4)
run bash -c "for i in \$(seq $N); do $CLIENT tcp 10.78.0.99 443 >/dev/null; done"
echo "nf_connect4, denied by default, a process each: $(per nf_connect4 "$c")"
"${NF[@]}" detach bench >/dev/null
