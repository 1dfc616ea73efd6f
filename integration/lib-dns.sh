# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# The set-up that integration/test-dns.sh and bench/dns.sh share: two network namespaces joined
# by a veth pair, dnsmasq in one (the resolver), the fenced cgroup's processes in the other with
# that resolver in their /etc/resolv.conf, and the clean-up of all of it. Source it after
# lib-kernel.sh; it runs nothing by itself.
#
#   dns_netns NAME SRV CLI      NS_SRV=nfNAME-srv-PID and NS_CLI=nfNAME-cli-PID joined by
#                               the veth pair VETH (VETH"a" in NS_SRV holding SRV/24, VETH"b"
#                               in NS_CLI holding CLI/24), loopback up in both
#   dns_resolver ADDR           the resolver the client's processes (dns_run) use, in a
#                               resolv.conf of $DNS_ETC, with a hosts file there naming
#                               localhost only and an nsswitch.conf of "hosts: files dns"
#   dns_start_dnsmasq ADDR NAME [ARG...]
#                               dnsmasq in NS_SRV on ADDR with ARGs (its records), once it
#                               answers for NAME; logs to $T/dnsmasq.log
#   srv CMD..., cli_ns CMD...   CMD in NS_SRV, NS_CLI
#   dns_run CGROUP CMD...       CMD in NS_CLI, inside CGROUP, seeing $DNS_ETC's files in /etc
#   dns_cleanup                 stop dnsmasq, remove the namespaces
#   remove_dns_cgroup DIR       remove_cgroup, tried again while killed processes exit

NS_SRV=""
NS_CLI=""
VETH=""
DNSMASQ_PID=""
DNS_ETC="" # the client's resolv.conf, hosts and nsswitch.conf (dns_resolver)

dns_netns()
{
	NS_SRV=nf$1-srv-$$
	NS_CLI=nf$1-cli-$$
	VETH=nf${1:0:1}$$
	if ! ip netns add "$NS_SRV" || ! ip netns add "$NS_CLI"; then
		skip "cannot create network namespaces"
	fi
	ip link add "${VETH}a" netns "$NS_SRV" type veth peer name "${VETH}b" netns "$NS_CLI" ||
		skip "cannot create a veth pair"
	srv ip link set lo up
	cli_ns ip link set lo up
	srv ip addr add "$2/24" dev "${VETH}a"
	srv ip link set "${VETH}a" up
	cli_ns ip addr add "$3/24" dev "${VETH}b"
	cli_ns ip link set "${VETH}b" up
}

dns_resolver()
{
	local out
	DNS_ETC=$T/dns-etc
	mkdir -p "$DNS_ETC"
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$1" >"$DNS_ETC/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$DNS_ETC/hosts"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' \
		>"$DNS_ETC/nsswitch.conf"
	out=$(cli_ns sh -c "$DNS_BIND"' && cat /etc/resolv.conf' "$DNS_ETC" 2>&1)
	[[ $out == *"nameserver $1"* ]] ||
		skip "cannot bind the client's /etc/resolv.conf, hosts, nsswitch.conf: $(flat "$out")"
}

dns_start_dnsmasq()
{
	local addr=$1 name=$2
	shift 2
	# Not through srv(): $! must be dnsmasq itself (ip netns exec execs it).
	ip netns exec "$NS_SRV" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$addr" --pid-file="$T/dnsmasq.pid" \
		--local-ttl=300 --log-facility="$T/dnsmasq.log" "$@" &
	DNSMASQ_PID=$!
	for _ in $(seq $((50 * KT_TIME_SCALE))); do
		[ -n "$(srv dig +short +time=1 +tries=1 @"$addr" "$name" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	[ -n "$(srv dig +short +time=1 +tries=1 @"$addr" "$name")" ] ||
		skip "dnsmasq did not come up: $(cat "$T/dnsmasq.log" 2>/dev/null)"
}

srv() { ip netns exec "$NS_SRV" "$@"; }
cli_ns() { ip netns exec "$NS_CLI" "$@"; }

# The client's files over /etc's, in the mount namespace ip netns exec made for the one
# command: nothing is written to /etc, which may be read-only (the kernel matrix's guests).
# shellcheck disable=SC2016 # expanded by the inner shell
DNS_BIND='for f in resolv.conf hosts nsswitch.conf; do mount --bind "$0/$f" "/etc/$f" || exit 125; done'

dns_run()
{
	# the cgroup first: ip netns exec mounts the namespace's own /sys
	bash -c 'echo $BASHPID >"$0/cgroup.procs" && exec ip netns exec "$1" sh -c "$2" "${@:3}"' \
		"$1" "$NS_CLI" "$DNS_BIND"' && exec "$@"' "$DNS_ETC" "${@:2}"
}

dns_cleanup()
{
	[ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null
	[ -n "$T" ] && [ -s "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
	# whatever still runs in the two namespaces (a server a failed case left) goes with them
	local ns pid
	for ns in $NS_SRV $NS_CLI; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
	done
	[ -n "$NS_SRV" ] && ip netns del "$NS_SRV" 2>/dev/null
	[ -n "$NS_CLI" ] && ip netns del "$NS_CLI" 2>/dev/null
	return 0
}

# kill_cgroup_procs DIR: SIGKILL every process of cgroup DIR (its own cgroup.procs).
kill_cgroup_procs()
{
	local pid
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null
	done <"$1/cgroup.procs" 2>/dev/null
}

# On a loaded machine a cgroup stays busy for seconds after its last process is killed.
remove_dns_cgroup()
{
	local i
	remove_cgroup "$1" 2>/dev/null
	for i in $(seq 300); do
		[ -d "$1" ] || return 0
		rmdir "$1" 2>/dev/null && return 0
		kill_cgroup_procs "$1"
		sleep 0.1
	done
	echo "warning: could not remove cgroup $1" >&2
}
