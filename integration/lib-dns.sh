# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# The set-up that integration/test-dns.sh and bench/dns.sh share: two network namespaces joined
# by a veth pair, dnsmasq in one (the resolver), the fenced cgroup's processes in the other with
# that resolver in their /etc/resolv.conf, and the clean-up of all of it. Source it after
# lib-kernel.sh; it runs nothing by itself.
#
#   dns_netns NAME SRV CLI      NS_SRV=nfNAME-srv-PID and NS_CLI=nfNAME-cli-PID joined by
#                               the veth pair VETH (VETH"a" in NS_SRV holding SRV/24, VETH"b"
#                               in NS_CLI holding CLI/24), loopback up in both
#   dns_resolver ADDR           the resolver the client namespace's processes use
#   dns_start_dnsmasq ADDR NAME [ARG...]
#                               dnsmasq in NS_SRV on ADDR with ARGs (its records), once it
#                               answers for NAME; logs to $T/dnsmasq.log
#   srv CMD..., cli_ns CMD...   CMD in NS_SRV, NS_CLI
#   dns_run CGROUP CMD...       CMD in NS_CLI, inside CGROUP
#   dns_cleanup                 stop dnsmasq, remove the namespaces and what dns_resolver made
#   remove_dns_cgroup DIR       remove_cgroup, tried again while killed processes exit

NS_SRV=""
NS_CLI=""
VETH=""
DNSMASQ_PID=""

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
	# ip netns exec shows this file as /etc/resolv.conf to the client's processes.
	mkdir -p "/etc/netns/$NS_CLI"
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$1" >"/etc/netns/$NS_CLI/resolv.conf"
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
	for _ in $(seq 50); do
		[ -n "$(srv dig +short +time=1 +tries=1 @"$addr" "$name" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	[ -n "$(srv dig +short +time=1 +tries=1 @"$addr" "$name")" ] ||
		skip "dnsmasq did not come up: $(cat "$T/dnsmasq.log" 2>/dev/null)"
}

srv() { ip netns exec "$NS_SRV" "$@"; }
cli_ns() { ip netns exec "$NS_CLI" "$@"; }

dns_run()
{
	# the cgroup first: ip netns exec mounts the namespace's own /sys
	bash -c 'echo $BASHPID >"$0/cgroup.procs" && exec ip netns exec "$1" "${@:2}"' \
		"$1" "$NS_CLI" "${@:2}"
}

dns_cleanup()
{
	[ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null
	[ -n "$T" ] && [ -s "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
	[ -n "$NS_SRV" ] && ip netns del "$NS_SRV" 2>/dev/null
	[ -n "$NS_CLI" ] && ip netns del "$NS_CLI" 2>/dev/null
	[ -n "$NS_CLI" ] && rm -rf "/etc/netns/$NS_CLI"
	return 0
}

# On a loaded machine a cgroup stays busy for seconds after its last process is killed.
remove_dns_cgroup()
{
	local i pid
	remove_cgroup "$1" 2>/dev/null
	for i in $(seq 300); do
		[ -d "$1" ] || return 0
		rmdir "$1" 2>/dev/null && return 0
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null
		done <"$1/cgroup.procs"
		sleep 0.1
	done
	echo "warning: could not remove cgroup $1" >&2
}
