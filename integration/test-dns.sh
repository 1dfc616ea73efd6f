#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Name rules against a real resolver: two network namespaces joined by a veth pair, dnsmasq in
# one (the resolver, 10.77.0.1), the fenced cgroup's processes in the other (10.77.0.2) looking
# names up with the libc resolver (getent ahosts, its resolv.conf bound over /etc's in their own
# mount namespace: nothing is written to /etc) and dig, then connecting with nfclient. Hand-made
# answers (integration/dnsforge.py) play the forger: from an untrusted address, unsolicited,
# replayed, and injected over the fence's own loopback.
#
#   NETFENCE=$PWD/netfence integration/test-dns.sh [REGEX]   only the cases whose names match
#                                                            (or CASES=REGEX; lib-test.sh)
#
# Needs root, cgroup v2, dnsmasq (dnsmasq-base), dig (bind9-dnsutils), python3, a static C
# compiler, and a kernel with bpf_loop (5.17); exits 77 with the reason otherwise. Everything it
# makes (namespaces, dnsmasq, cgroups, bpffs: integration/lib-dns.sh) goes on any exit.
set -u

. "$(dirname "$0")/lib-kernel.sh"
# shellcheck source=integration/lib-dns.sh
. "$(dirname "$0")/lib-dns.sh"

CC=${CC:-cc}
SRV=10.77.0.1     # dnsmasq, a trusted resolver
QUIET=10.77.0.5   # a trusted resolver nothing answers on: the forger's stand-in
FORGER=10.77.0.99 # not a resolver
CLI=10.77.0.2

cleanup()
{
	stop_test_work
	dns_cleanup
	[ -n "$CG" ] && [ -d "$CG-b" ] && remove_dns_cgroup "$CG-b"
	[ -n "$CG" ] && [ -d "$CG" ] && remove_dns_cgroup "$CG"
	unmount_bpffs
	remove_tmp 0
}

need_root
need_commands jq ip dnsmasq dig getent python3 bpftool setpriv unshare nsenter "$CC"
need_cgroup2
need_netfence

make_tmp dns
mkdir -p "$T/bpffs" "$T/state" "$T/policies" "$T/userns"
chmod 755 "$T"
chmod 777 "$T/userns"
mount_bpffs
write_config policies
copy_netfence
build_client
CG=$CG2/netfence-dns-$$
mkdir "$CG" || skip "cannot create a cgroup under $CG2"

# --- the two namespaces and the resolver -----------------------------------------------

dns_netns dns "$SRV" "$CLI"
srv ip addr add fd77::1/64 dev "${VETH}a" nodad
for a in $QUIET $FORGER 10.77.0.10 10.77.0.11 10.77.0.12 10.77.0.13 10.77.0.14 10.77.0.20 10.77.0.21 \
	10.77.0.22 10.77.0.23; do
	srv ip addr add "$a/32" dev "${VETH}a"
done
srv ip addr add fd77::10/128 dev "${VETH}a" nodad
cli_ns ip addr add fd77::2/64 dev "${VETH}b" nodad
dns_resolver "$SRV"
# svc.example.com's HTTPS record (type 65): priority 1, target ".", ipv4hint 10.77.0.20,
# ipv6hint fd77::20
SVC_HINTS=000100000400040a4d001400060010fd770000000000000000000000000020
dns_start_dnsmasq "$SRV" api.example.com \
	--host-record=api.example.com,10.77.0.10,fd77::10 \
	--host-record=target.example.com,10.77.0.11 \
	--cname=alias.example.net,target.example.com \
	--host-record=short.example.com,10.77.0.20,1 \
	--host-record=denied.example.com,10.77.0.14 \
	--host-record=meta.example.com,169.254.169.254 \
	--host-record=other.example.com,10.77.0.21 \
	--address=/wild.example.org/10.77.0.12 \
	--address=/deep.example.org/10.77.0.13 \
	--host-record=cdn-a.example.com,10.77.0.22 --host-record=cdn-b.example.com,10.77.0.22 \
	--host-record=svc.example.com,10.77.0.23 --dns-rr=svc.example.com,65,"$SVC_HINTS"

# --- helpers -----------------------------------------------------------------------------

# in_fence CMD...: CMD in the client namespace, inside the fenced cgroup.
in_fence()
{
	dns_run "${FENCE_CG:-$CG}" "$@"
}

# verdict tcp|udp ADDR PORT: nfclient's word for a connect from inside the fence.
verdict()
{
	in_fence "$CLIENT" "$@" 2>&1
}

# expect WORD tcp|udp ADDR PORT: "EPERM" for a denial; "allowed" for anything else.
expect()
{
	local want=$1 got
	shift
	got=$(verdict "$@")
	if [ "$want" = EPERM ]; then
		[ "$got" = EPERM ] || fail "$* gave '$got', expected EPERM"
	else
		[ -n "$got" ] && [ "$got" != EPERM ] || fail "$* gave '$got', expected it allowed"
	fi
}

# resolve NAME [getent|dig|dig6]: look NAME up from inside the fence.
resolve()
{
	case ${2:-getent} in
	getent) in_fence getent ahostsv4 "$1" >/dev/null 2>&1 ;;
	getent6) in_fence getent ahostsv6 "$1" >/dev/null 2>&1 ;;
	dig) in_fence dig +short +time=2 +tries=1 "@$SRV" "$1" A >/dev/null 2>&1 ;;
	esac
}

# counter NAME: the fence's DNS counter NAME (show --json).
counter()
{
	"${NF[@]}" --json show dns | jq -r ".counters.dns_$1 // \"none\""
}

write_policy()
{
	cat >"$T/policies/$1.json"
}

attach_dns()
{
	local out
	"${NF[@]}" detach dns >/dev/null 2>&1
	out=$("${NF[@]}" attach --id dns --cgroup "$CG" --policy "$T/policies/$1.json" 2>&1) ||
		{
			fail "attach ($1) failed: $out"
			return 1
		}
}

write_policy names <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$SRV", "$QUIET"],
  "rules": [
    { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "host": "alias.example.net", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "host": "short.example.com", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "host": "denied.example.com", "protocol": "tcp" },
    { "action": "allow", "host": "meta.example.com", "protocol": "tcp" },
    { "action": "allow", "host": "*.wild.example.org", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "host": "**.deep.example.org", "protocol": "tcp", "ports": [443] },
    { "action": "deny", "cidr": "10.77.0.14/32" }
  ] }
EOF
write_policy plain <<EOF
{ "version": 1, "default": "deny", "rules": [ { "action": "allow", "cidr": "$SRV/32" } ] }
EOF

# A kernel without bpf_loop refuses name rules at attach, by design: nothing here can run.
if ! out=$("${NF[@]}" attach --id dns --cgroup "$CG" --policy "$T/policies/names.json" 2>&1); then
	case $out in
	*bpf_loop*) skip "this kernel lacks bpf_loop: $out" ;;
	*) echo "FAIL attach of a policy with host rules: $out" && exit 1 ;;
	esac
fi
"${NF[@]}" detach dns >/dev/null 2>&1

# --- cases -------------------------------------------------------------------------------

case_allow_after_resolve()
{
	local ttl
	attach_dns names || return
	expect EPERM tcp 10.77.0.10 443
	resolve api.example.com || fail "getent ahostsv4 api.example.com failed inside the fence"
	expect allowed tcp 10.77.0.10 443
	expect allowed tcp ::ffff:10.77.0.10 443
	expect EPERM tcp 10.77.0.10 8443
	expect EPERM udp 10.77.0.10 443
	expect EPERM tcp 10.77.0.11 443
	[ "$(counter learned)" -ge 1 ] 2>/dev/null || fail "learned counter: $(counter learned)"
	# show lists what was learned, with the TTL left (dnsmasq's 300 s)
	ttl=$("${NF[@]}" --json show dns |
		jq -r '.learned[]? | select(.address == "10.77.0.10") | .expires_in_s')
	[ -n "$ttl" ] && [ "$ttl" -le 300 ] && [ "$ttl" -gt 250 ] ||
		fail "show --json: 10.77.0.10 learned for '$ttl' s: $("${NF[@]}" --json show dns)"
	"${NF[@]}" show dns | grep -q '^learned: *api\.example\.com: 10\.77\.0\.10 (' ||
		fail "show: no learned line: $("${NF[@]}" show dns)"
}

case_dig()
{
	attach_dns names || return
	resolve api.example.com dig || fail "dig api.example.com failed inside the fence"
	expect allowed tcp 10.77.0.10 443
}

case_aaaa()
{
	attach_dns names || return
	expect EPERM tcp fd77::10 443
	resolve api.example.com getent6 || fail "getent ahostsv6 api.example.com failed"
	expect allowed tcp fd77::10 443
	expect EPERM tcp fd77::10 80
}

case_cname_chain()
{
	attach_dns names || return
	resolve alias.example.net || fail "alias.example.net did not resolve"
	expect allowed tcp 10.77.0.11 443
	attach_dns names || return
	# target.example.com is not named by the policy: its own lookup teaches nothing
	resolve target.example.com || fail "target.example.com did not resolve"
	expect EPERM tcp 10.77.0.11 443
}

case_wildcards()
{
	attach_dns names || return
	resolve a.wild.example.org || fail "a.wild.example.org did not resolve"
	expect allowed tcp 10.77.0.12 443
	attach_dns names || return
	resolve wild.example.org # the domain itself: "*." is one label below only
	resolve b.c.wild.example.org
	expect EPERM tcp 10.77.0.12 443
	resolve x.y.z.deep.example.org || fail "x.y.z.deep.example.org did not resolve"
	expect allowed tcp 10.77.0.13 443
}

case_case_insensitive()
{
	attach_dns names || return
	resolve API.Example.COM || fail "API.Example.COM did not resolve"
	expect allowed tcp 10.77.0.10 443
}

case_ttl_expiry()
{
	attach_dns names || return
	resolve short.example.com || fail "short.example.com did not resolve"
	expect allowed tcp 10.77.0.20 443
	# TTL 1 is clamped to NF_DNS_TTL_MIN, 5 s
	sleep 6
	expect EPERM tcp 10.77.0.20 443
	"${NF[@]}" --json show dns | jq -e '.learned | map(.address) | index("10.77.0.20") == null' \
		>/dev/null || fail "show still lists 10.77.0.20: $("${NF[@]}" --json show dns)"
}

case_deny_wins()
{
	attach_dns names || return
	resolve denied.example.com || fail "denied.example.com did not resolve"
	expect EPERM tcp 10.77.0.14 443
}

case_link_local_never_learned()
{
	attach_dns names || return
	resolve meta.example.com || fail "meta.example.com did not resolve"
	expect EPERM tcp 169.254.169.254 80
}

# The forger's answers all name api.example.com at 10.77.0.20 or .21, which dnsmasq gives other
# names: only an answer taken would open them.
forge() { srv python3 "$ROOT_DIR/integration/dnsforge.py" "$@"; }

# wait_for FILE WORD: until FILE holds WORD (at most 20 s, KT_TIME_SCALE times that in the
# kernel matrix's emulated guests: the machine may be loaded).
wait_for()
{
	local i
	for i in $(seq $((200 * KT_TIME_SCALE))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after $((20 * KT_TIME_SCALE)) s"
	return 1
}

# query RESOLVER PORT ID NAME: a query from inside the fence, sent when this returns, whose
# socket stays open (in the background, QUERY_PID) until wait_query.
QUERY_PID=""
query()
{
	in_fence python3 "$ROOT_DIR/integration/dnsforge.py" query "$@" 60 >"$T/query.out" &
	QUERY_PID=$!
	BG_PIDS="${BG_PIDS:-} $QUERY_PID"
	wait_for "$T/query.out" sent
}
# cquery PORT ID GO: dnsforge.py cquery to the quiet resolver from inside the fence, in the
# background as query does.
cquery()
{
	in_fence python3 "$ROOT_DIR/integration/dnsforge.py" cquery "$QUIET" "$1" "$2" \
		api.example.com 60 "$3" >"$T/query.out" &
	QUERY_PID=$!
	BG_PIDS="${BG_PIDS:-} $QUERY_PID"
}
wait_query()
{
	kill "$QUERY_PID" 2>/dev/null
	wait "$QUERY_PID" 2>/dev/null
	rm -f "$T/query.out"
}

case_forged_source()
{
	attach_dns names || return
	query "$QUIET" 40001 4242 api.example.com
	forge answer "$FORGER" "$CLI" 40001 4242 api.example.com 10.77.0.20
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	[ "$(counter untrusted)" -ge 1 ] 2>/dev/null || fail "untrusted counter: $(counter untrusted)"
	# the same answer from the resolver's address is taken: the forger's packets are right
	forge answer "$QUIET" "$CLI" 40001 4242 api.example.com 10.77.0.20
	sleep 0.2
	expect allowed tcp 10.77.0.20 443
	wait_query
}

case_unsolicited()
{
	attach_dns names || return
	# a socket waits on the port, but no query was sent from it
	in_fence "$CLIENT" listen udp 0.0.0.0 40002 >"$T/listen.out" &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for "$T/listen.out" listening
	forge answer "$QUIET" "$CLI" 40002 4343 api.example.com 10.77.0.20
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	[ "$(counter unsolicited)" -ge 1 ] 2>/dev/null ||
		fail "unsolicited counter: $(counter unsolicited)"
	# an answer with the wrong id is no answer to the query
	query "$QUIET" 40003 4444 api.example.com
	forge answer "$QUIET" "$CLI" 40003 4445 api.example.com 10.77.0.20
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	wait_query
}

case_replayed()
{
	attach_dns names || return
	query "$QUIET" 40004 4646 api.example.com
	forge answer "$QUIET" "$CLI" 40004 4646 api.example.com 10.77.0.20
	forge answer "$QUIET" "$CLI" 40004 4646 api.example.com 10.77.0.21
	sleep 0.2
	expect allowed tcp 10.77.0.20 443
	expect EPERM tcp 10.77.0.21 443
	[ "$(counter replayed)" -ge 1 ] 2>/dev/null || fail "replayed counter: $(counter replayed)"
	wait_query
}

case_local_injection()
{
	attach_dns names || return
	query "$QUIET" 40005 4747 api.example.com
	# from the fence's own namespace, as the resolver: over loopback
	cli_ns python3 "$ROOT_DIR/integration/dnsforge.py" answer "$QUIET" "$CLI" 40005 4747 \
		api.example.com 10.77.0.20
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	[ "$(counter loopback)" -ge 1 ] 2>/dev/null || fail "loopback counter: $(counter loopback)"
	wait_query
}

# expect_after WHAT WORD tcp|udp ADDR PORT: expect, its failure naming WHAT.
expect_after()
{
	local what=$1 before=$TEST_ERRS
	shift
	TEST_ERRS=""
	expect "$@"
	if [ -n "$TEST_ERRS" ]; then
		TEST_ERRS="$before      - after $what: ${TEST_ERRS#      - }"
	else
		TEST_ERRS=$before
	fi
}

# A trusted resolver's answers to an allowed question that carry other content: what the
# parser must not take from them. Each would open 10.77.0.20 were it taken; the two controls
# show that an answer of the same form is taken where it should be.
case_crafted_answers()
{
	local kind port=40100 id=5000 ttl
	attach_dns names || return
	for kind in other-sections cname-mismatch cname-order pointer-loop pointer-forward \
		nul-label dot-label suffix past-ancount class-ch; do
		query "$QUIET" "$port" "$id" api.example.com
		forge craft "$kind" "$QUIET" "$CLI" "$port" "$id"
		sleep 0.2
		expect_after "$kind" EPERM tcp 10.77.0.20 443
		wait_query
		port=$((port + 1)) id=$((id + 1))
	done
	# control: of an A record of another name and one of the question, the second is learned
	query "$QUIET" "$port" "$id" api.example.com
	forge craft other-owner "$QUIET" "$CLI" "$port" "$id"
	sleep 0.2
	expect_after other-owner allowed tcp 10.77.0.21 443
	expect_after other-owner EPERM tcp 10.77.0.20 443
	wait_query
	# control: a TTL of 2^32-1 s is learned for NF_DNS_TTL_MAX (1 h) at most
	query "$QUIET" $((port + 1)) $((id + 1)) api.example.com
	forge craft ttl-max "$QUIET" "$CLI" $((port + 1)) $((id + 1))
	sleep 0.2
	expect_after ttl-max allowed tcp 10.77.0.20 443
	ttl=$("${NF[@]}" --json show dns |
		jq -r '.learned[]? | select(.address == "10.77.0.20") | .expires_in_s')
	[ -n "$ttl" ] && [ "$ttl" -le 3600 ] && [ "$ttl" -gt 3500 ] ||
		fail "ttl-max: 10.77.0.20 learned for '$ttl' s"
	wait_query
}

# The fence's processes may make network namespaces of their own (an unprivileged user
# namespace is enough) and stay in its cgroup: a veth pair between two of them, the resolver's
# address on one end, and a packet socket there writing the answer (no hook judges packet
# sockets; the namespace's CAP_NET_RAW is the user namespace's). The answer arrives from the
# resolver's address, on no loopback device, to a query the fence sent: the address it names
# must not open anything to the container's own namespace.
case_attack_own_netns()
{
	local user=65534
	# where this uid cannot make a user namespace, the container could not either
	if ! setpriv --reuid "$user" --regid "$user" --clear-groups \
		unshare --user --map-root-user --net true 2>/dev/null; then
		case_skip "uid $user cannot make a user namespace here"
		return
	fi
	attach_dns names || return
	expect EPERM tcp 10.77.0.20 443
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_fence setpriv --reuid "$user" --regid "$user" --clear-groups \
		unshare --user --map-root-user --net bash -c '
		set -e
		forge=$0 srv=$1 out=$2
		ip link set lo up
		unshare --net sleep 30 &
		peer=$!
		for _ in $(seq 100); do
			[ "$(readlink /proc/$peer/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
			sleep 0.05
		done
		ip link add nfa type veth peer name nfb netns "$peer"
		ip addr add 10.77.0.2/24 dev nfa
		ip link set nfa up
		nsenter -t "$peer" -n sh -c "ip link set lo up && ip addr add $srv/24 dev nfb &&
			ip link set nfb up"
		mac=$(ip -o link show nfa | sed -n "s/.*link\/ether \([0-9a-f:]*\).*/\1/p")
		python3 "$forge" query "$srv" 40200 5200 api.example.com 3 >"$out/own-netns.q" &
		q=$!
		for _ in $(seq 200); do
			grep -q sent "$out/own-netns.q" && break
			sleep 0.05
		done
		nsenter -t "$peer" -n python3 "$forge" frame nfb "$mac" "$srv" 10.77.0.2 40200 5200 \
			api.example.com 10.77.0.20
		sleep 0.3
		kill "$q" "$peer"
		wait
		echo done >"$out/own-netns.done"
	' "$ROOT_DIR/integration/dnsforge.py" "$SRV" "$T/userns" 2>"$T/own-netns.err"
	[ -f "$T/userns/own-netns.done" ] ||
		fail "the attack did not run: $(flat "$(cat "$T/own-netns.err")")"
	expect EPERM tcp 10.77.0.20 443
}

# An answer teaches only at a socket that the connect and sendmsg programs saw send to the
# resolver, which tells its network namespace: one connected before the attach, and sending since
# without an address (no hook runs), learns nothing; the same connected after the attach does.
# (The querying process is in the fence at the attach, which seeds the policy's names: the
# forged answers name 10.77.0.21, which no name of the policy has.)
case_unnoted_socket()
{
	local go=$T/unnoted.go before
	"${NF[@]}" detach dns >/dev/null 2>&1
	rm -f "$go"
	cquery 40400 5400 "$go"
	wait_for "$T/query.out" connected || return
	attach_dns names || return
	before=$(counter unsolicited)
	touch "$go"
	wait_for "$T/query.out" sent || return
	forge answer "$QUIET" "$CLI" 40400 5400 api.example.com 10.77.0.21
	sleep 0.2
	expect EPERM tcp 10.77.0.21 443
	[ "$(counter unsolicited)" -gt "$before" ] ||
		fail "the answer was not counted as unsolicited ($before before, $(counter unsolicited) after)"
	wait_query
	cquery 40401 5401 "$go"
	wait_for "$T/query.out" sent || return
	forge answer "$QUIET" "$CLI" 40401 5401 api.example.com 10.77.0.21
	sleep 0.2
	expect allowed tcp 10.77.0.21 443
	wait_query
}

# attach_b POLICY: a second fence, dns-b, on a new cgroup $CG-b, with policies/POLICY.json.
attach_b()
{
	local out
	mkdir "$CG-b" || {
		fail "cannot create $CG-b"
		return 1
	}
	out=$("${NF[@]}" attach --id dns-b --cgroup "$CG-b" --policy "$T/policies/$1.json" 2>&1) || {
		fail "attach dns-b: $out"
		return 1
	}
}

# Fences of one policy share its programs and its map of learned addresses, by cgroup: what one
# fence looked up opens nothing to the other.
case_per_fence()
{
	attach_dns names || return
	attach_b names || return
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	FENCE_CG=$CG-b expect EPERM tcp 10.77.0.10 443
	FENCE_CG=$CG-b resolve api.example.com || fail "api.example.com did not resolve in b"
	FENCE_CG=$CG-b expect allowed tcp 10.77.0.10 443
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_dns_cgroup "$CG-b"
}

# An answer over TCP teaches nothing, even where a rule lets the lookup through.
case_tcp_answer()
{
	write_policy tcp <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$SRV"],
  "rules": [
    { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "cidr": "$SRV/32", "protocol": "tcp", "ports": [53] } ] }
EOF
	attach_dns tcp || return
	in_fence dig +tcp +short +time=2 +tries=1 "@$SRV" api.example.com A >"$T/tcp.out" 2>&1
	grep -q 10.77.0.10 "$T/tcp.out" || fail "dig +tcp got no answer: $(flat "$(cat "$T/tcp.out")")"
	expect EPERM tcp 10.77.0.10 443
	[ "$(counter learned)" = 0 ] || fail "learned counter after the TCP answer: $(counter learned)"
	# control: the same lookup over UDP, in the same fence, teaches
	resolve api.example.com dig || fail "dig api.example.com over UDP failed"
	expect_after "the lookup over UDP" allowed tcp 10.77.0.10 443
}

# A container holding CAP_NET_RAW over its namespace (accepted under raw_sockets: allow) could
# write the answer as a frame to its gateway, with the resolver's address as its source; a
# gateway that routes it back without checking that source (a Linux bridge host, forwarding,
# loose rp_filter) delivers it on the container's interface. Host rules therefore need
# raw_sockets deny, under which the hook refuses a container holding CAP_NET_RAW: a policy
# asking for both is refused in one line, and the same frame from a process without
# CAP_NET_RAW is never sent.
case_attack_raw_hairpin()
{
	local far=10.77.9.53 mac out
	write_policy far_raw <<EOF
{ "version": 1, "default": "deny", "raw_sockets": "allow", "resolvers": ["$far"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
	write_policy far <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$far"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
	"${NF[@]}" detach dns >/dev/null 2>&1
	if out=$("${NF[@]}" attach --id dns --cgroup "$CG" --policy "$T/policies/far_raw.json" 2>&1)
	then
		fail "a policy with host rules and raw_sockets allow was attached"
	else
		[[ $out == *"/raw_sockets: 'allow' with host rules"* && $out != *$'\n'* ]] ||
			fail "refused, but not in one line naming /raw_sockets: $(flat "$out")"
	fi
	attach_dns far || return
	srv sysctl -qw net.ipv4.ip_forward=1
	cli_ns ip route add 10.77.9.0/24 via "$SRV"
	expect EPERM tcp 10.77.0.20 443
	mac=$(srv ip -o link show "${VETH}a" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	query "$far" 40300 5300 api.example.com
	in_fence setpriv --inh-caps=-net_raw --bounding-set=-net_raw \
		python3 "$ROOT_DIR/integration/dnsforge.py" frame "${VETH}b" "$mac" "$far" "$CLI" \
		40300 5300 api.example.com 10.77.0.20 >/dev/null 2>&1 &&
		fail "the frame was sent without CAP_NET_RAW"
	sleep 0.3
	expect EPERM tcp 10.77.0.20 443
	wait_query
	cli_ns ip route del 10.77.9.0/24
	srv sysctl -qw net.ipv4.ip_forward=0
}

# "An update starts with nothing learned": also an update back to a policy whose programs
# another fence kept loaded, with the addresses learned before still in their map.
case_update_forgets()
{
	local out
	attach_dns names || return
	attach_b names || return
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	out=$("${NF[@]}" update dns --policy "$T/policies/plain.json" 2>&1) ||
		fail "update to plain: $out"
	expect EPERM tcp 10.77.0.10 443
	out=$("${NF[@]}" update dns --policy "$T/policies/names.json" 2>&1) ||
		fail "update back to names: $out"
	expect_after "the update back" EPERM tcp 10.77.0.10 443
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_cgroup "$CG-b"
}

# A policy too large for the small build: the other tree shape, IPv4-mapped destinations by
# the IPv4 walk.
case_large_policy()
{
	local i rules=""
	for i in $(seq 0 299); do
		rules="$rules{ \"action\": \"deny\", \"cidr\": \"10.200.$((i / 256)).$((i % 256))/32\" },"
	done
	write_policy large <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$SRV"],
  "rules": [ $rules
    { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
	attach_dns large || return
	expect EPERM tcp 10.77.0.10 443
	resolve api.example.com || fail "api.example.com did not resolve"
	resolve api.example.com getent6 || fail "api.example.com (AAAA) did not resolve"
	expect allowed tcp 10.77.0.10 443
	expect allowed tcp ::ffff:10.77.0.10 443
	expect allowed tcp fd77::10 443
	expect EPERM tcp 10.77.0.10 80
}

# update to another policy with host rules: new programs, and nothing learned yet (fails
# closed until the next lookup); the update of a fence with name rules to one without unlinks
# the DNS programs.
case_update()
{
	local out n
	attach_dns names || return
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	sed 's/"ports": \[443\] }/"ports": [443, 8443] }/' "$T/policies/names.json" \
		>"$T/policies/names2.json"
	out=$("${NF[@]}" update dns --policy "$T/policies/names2.json" 2>&1) ||
		fail "update failed: $out"
	expect EPERM tcp 10.77.0.10 8443
	resolve api.example.com || fail "api.example.com did not resolve after the update"
	expect allowed tcp 10.77.0.10 8443
	out=$("${NF[@]}" update dns --policy "$T/policies/plain.json" 2>&1) ||
		fail "update to a policy without host rules failed: $out"
	n=$(bpftool -j cgroup show "$CG" | jq '[.[] | select(.name | startswith("nf_dns"))] | length')
	[ "$n" = 0 ] || fail "$n DNS programs left after the update to a policy without host rules"
	expect EPERM tcp 10.77.0.10 443
}

# A policy without host rules links neither DNS program; one with them links both.
case_programs_only_with_names()
{
	local n
	attach_dns plain || return
	n=$(bpftool -j cgroup show "$CG" | jq length)
	[ "$n" = 6 ] || fail "$n programs on the cgroup without host rules, expected 6"
	attach_dns names || return
	n=$(bpftool -j cgroup show "$CG" | jq length)
	[ "$n" = 8 ] || fail "$n programs on the cgroup with host rules, expected 8"
	n=$(bpftool -j cgroup show "$CG" | jq '[.[] | select(.attach_type == "cgroup_inet_ingress")] | length')
	[ "$n" = 1 ] || fail "$n ingress programs with host rules, expected 1"
}

# limits_policy: the names policy, and its rules for the limits' names, as policies/limits.json.
limits_policy()
{
	jq '.rules += [
	    { action: "allow", host: "svc.example.com", protocol: "tcp", ports: [443] },
	    { action: "allow", host: "hosts.example.com", protocol: "tcp", ports: [443] },
	    { action: "allow", host: "cdn-a.example.com", protocol: "tcp", ports: [443] } ]' \
		"$T/policies/names.json" >"$T/policies/limits.json"
}

# An HTTPS (SVCB) record's address hints teach nothing: the record of an allowed name comes from
# the trusted resolver, its hints reach the application, and a connect to them is denied; the
# name's A record, looked up after it, is learned.
case_https_hints()
{
	local out
	limits_policy
	attach_dns limits || return
	out=$(in_fence dig +short +time=2 +tries=1 "@$SRV" svc.example.com HTTPS 2>&1)
	[[ $out == *ipv4hint=10.77.0.20* && $out == *ipv6hint=fd77::20* ]] ||
		fail "dig svc.example.com HTTPS gave no hints: $(flat "$out")"
	expect EPERM tcp 10.77.0.20 443
	expect EPERM tcp fd77::20 443
	[ "$(counter learned)" = 0 ] || fail "learned counter after the HTTPS answer: $(counter learned)"
	resolve svc.example.com || fail "svc.example.com did not resolve"
	expect_after "the A lookup" allowed tcp 10.77.0.23 443
	expect_after "the A lookup" EPERM tcp 10.77.0.20 443
}

# An address from /etc/hosts in the fence's own mount namespace (the container's file) is
# never learned: no DNS answer carries it.
case_etc_hosts()
{
	local out
	limits_policy
	attach_dns limits || return
	cp "$DNS_ETC/hosts" "$T/hosts.orig"
	printf '10.77.0.20\thosts.example.com\n' >>"$DNS_ETC/hosts"
	out=$(in_fence getent ahostsv4 hosts.example.com 2>&1)
	[[ $out == *10.77.0.20* ]] || fail "getent hosts.example.com: $(flat "$out")"
	expect EPERM tcp 10.77.0.20 443
	cp "$T/hosts.orig" "$DNS_ETC/hosts"
}

# Two names on one address (a CDN's): a lookup of the name not allowed teaches nothing, but once
# the allowed name is learned at the address, a connect to it is allowed whatever name the
# application meant. The documented limit: name rules narrow by address.
case_shared_address()
{
	limits_policy
	attach_dns limits || return
	resolve cdn-b.example.com || fail "cdn-b.example.com did not resolve"
	expect EPERM tcp 10.77.0.22 443
	resolve cdn-a.example.com || fail "cdn-a.example.com did not resolve"
	resolve cdn-b.example.com || fail "cdn-b.example.com did not resolve"
	expect_after "cdn-a's lookup" allowed tcp 10.77.0.22 443
	expect_after "cdn-a's lookup" EPERM tcp 10.77.0.22 80
}

# A container in the host's network namespace whose resolver is on loopback cannot use name
# rules: a loopback resolver is refused by policy check and attach, in one line naming
# /resolvers; and a resolver on another address of the fence's own namespace (a node-local
# cache on the host's address, seen from the host's namespace) answers over loopback, which
# teaches nothing.
case_loopback_resolver()
{
	local r out pid
	for r in 127.0.0.53 ::1; do
		jq --arg r "$r" '.resolvers = [$r]' "$T/policies/names.json" >"$T/policies/lo.json"
		if out=$("${NF[@]}" policy check "$T/policies/lo.json" 2>&1); then
			fail "policy check accepted the resolver $r"
		else
			[[ $out == *"/resolvers/0: '$r'"* && $out != *$'\n'* ]] ||
				fail "policy check refused $r, but not in one line naming /resolvers/0: $(flat "$out")"
		fi
		"${NF[@]}" detach dns >/dev/null 2>&1
		out=$("${NF[@]}" attach --id dns --cgroup "$CG" --policy "$T/policies/lo.json" 2>&1) &&
			fail "attach with the resolver $r succeeded"
	done
	jq '.resolvers = ["10.77.0.3"]' "$T/policies/names.json" >"$T/policies/local.json"
	cli_ns ip addr add 10.77.0.3/32 dev "${VETH}b"
	ip netns exec "$NS_CLI" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address=10.77.0.3 --pid-file="$T/dnsmasq-local.pid" \
		--host-record=api.example.com,10.77.0.10 --log-facility="$T/dnsmasq-local.log" &
	pid=$!
	BG_PIDS="${BG_PIDS:-} $pid"
	for _ in $(seq $((50 * KT_TIME_SCALE))); do
		out=$(cli_ns dig +short +time=1 +tries=1 @10.77.0.3 api.example.com 2>/dev/null)
		[ -n "$out" ] && break
		sleep 0.1
	done
	if [ -z "$out" ]; then
		case_skip "dnsmasq on 10.77.0.3 did not come up: $(flat "$(cat "$T/dnsmasq-local.log")")"
	elif attach_dns local; then
		out=$(in_fence dig +short +time=2 +tries=1 @10.77.0.3 api.example.com A 2>&1)
		[ "$out" = 10.77.0.10 ] || fail "dig @10.77.0.3 api.example.com: $(flat "$out")"
		expect EPERM tcp 10.77.0.10 443
		[ "$(counter loopback)" -ge 1 ] 2>/dev/null ||
			fail "loopback counter: $(counter loopback)"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cli_ns ip addr del 10.77.0.3/32 dev "${VETH}b"
}

# --- seeding: names looked up at attach and update -----------------------------------------

# hold: a process of the fence in the client namespace (HOLD_PID), where attach and update find
# the namespace to seed name rules in; unhold stops it.
HOLD_PID=""
hold()
{
	local i
	# not through in_fence: $! must be the process that becomes sleep
	bash -c 'echo $BASHPID >"$0/cgroup.procs" && exec ip netns exec "$1" sleep 120' \
		"${FENCE_CG:-$CG}" "$NS_CLI" &
	HOLD_PID=$!
	BG_PIDS="${BG_PIDS:-} $HOLD_PID"
	# in the namespace once it runs sleep: ip netns exec is done with it
	for i in $(seq 200); do
		[ "$(cat "/proc/$HOLD_PID/comm" 2>/dev/null)" = sleep ] && return 0
		sleep 0.05
	done
	fail "the holding process did not start"
	return 1
}
unhold()
{
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=""
}

# attach_seed POLICY: attach_dns, the output in SEED_OUT.
SEED_OUT=""
attach_seed()
{
	"${NF[@]}" detach dns >/dev/null 2>&1
	SEED_OUT=$("${NF[@]}" attach --id dns --cgroup "$CG" --policy "$T/policies/$1.json" 2>&1) ||
		{
			fail "attach ($1) failed: $(flat "$SEED_OUT")"
			return 1
		}
}

# The attach looks the policy's exact names up from the fence's namespace: a connect with no
# lookup in the container is allowed to what they resolve to, on their ports, and to nothing
# else; deny rules and the addresses never learned hold as for the kernel's learning.
case_seed_attach()
{
	hold || return
	attach_seed names || return
	# meta.example.com is 169.254.169.254, never learned: the one name said not seeded
	[[ $SEED_OUT == *"names not seeded"*": 'meta.example.com' (no address it may learn) (4 of 5 names seeded"* ]] ||
		fail "no seeding line: $(flat "$SEED_OUT")"
	expect allowed tcp 10.77.0.10 443
	expect allowed tcp fd77::10 443
	expect EPERM tcp 10.77.0.10 8443
	expect EPERM udp 10.77.0.10 443
	expect allowed tcp 10.77.0.11 443 # alias.example.net's CNAME chain
	expect EPERM tcp 10.77.0.14 443   # denied.example.com: deny wins
	expect EPERM tcp 169.254.169.254 80
	expect EPERM tcp 10.77.0.21 443 # other.example.com: not in the policy
	expect EPERM tcp 10.77.0.12 443 # a.wild.example.org: wildcards are not seeded
	"${NF[@]}" --json show dns | jq -e '.learned | map(.address) | index("10.77.0.10") != null' \
		>/dev/null || fail "show does not list 10.77.0.10: $("${NF[@]}" --json show dns)"
	"${NF[@]}" --json show dns | jq -e '.names | map(.name) | index("api.example.com") != null' \
		>/dev/null || fail "show does not name api.example.com: $("${NF[@]}" --json show dns)"
	# learned for the fence's own namespace only: another namespace gets nothing
	bash -c 'echo $BASHPID >"$0/cgroup.procs" && exec ip netns exec "$1" "${@:2}"' "$CG" \
		"$NS_SRV" "$CLIENT" tcp 10.77.0.10 443 >"$T/other-ns.out" 2>&1
	[ "$(cat "$T/other-ns.out")" = EPERM ] ||
		fail "from another namespace: '$(cat "$T/other-ns.out")', expected EPERM"
	unhold
}

# An update of a running fence seeds the new policy's names, with its ports.
case_seed_update()
{
	local out
	hold || return
	attach_seed plain || return
	expect EPERM tcp 10.77.0.10 443
	out=$("${NF[@]}" update dns --policy "$T/policies/names.json" 2>&1) ||
		fail "update to names: $(flat "$out")"
	expect allowed tcp 10.77.0.10 443
	sed 's/"ports": \[443\] }/"ports": [443, 8443] }/' "$T/policies/names.json" \
		>"$T/policies/names2.json"
	out=$("${NF[@]}" update dns --policy "$T/policies/names2.json" 2>&1) ||
		fail "update to names2: $(flat "$out")"
	expect allowed tcp 10.77.0.10 8443
	unhold
}

# A resolver that does not answer: the attach succeeds after the time budget, the fence is in
# force, the names fail closed, and one line says what was not seeded and why.
case_seed_unreachable()
{
	local start end
	write_policy down <<EOF
{ "version": 1, "default": "deny", "resolvers": ["10.77.0.6"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
	hold || return
	start=$(date +%s%N)
	attach_seed down || return
	end=$(date +%s%N)
	[ $(((end - start) / 1000000)) -lt 5000 ] ||
		fail "the attach took $(((end - start) / 1000000)) ms"
	[[ $SEED_OUT == *"names not seeded"*"'api.example.com' (no answer)"* ]] ||
		fail "no line saying api.example.com was not seeded: $(flat "$SEED_OUT")"
	[ "$(printf '%s\n' "$SEED_OUT" | grep -c 'not seeded')" = 1 ] ||
		fail "not one line: $(flat "$SEED_OUT")"
	expect EPERM tcp 10.77.0.10 443
	expect EPERM tcp 10.77.0.21 443
	unhold
	# no process in the cgroup: nothing to take a namespace from, said so
	attach_seed names || return
	[[ $SEED_OUT == *"names not seeded"*"no process in the cgroup"* ]] ||
		fail "an empty cgroup: $(flat "$SEED_OUT")"
	expect EPERM tcp 10.77.0.10 443
}

# Anything with CAP_NET_ADMIN in the container's namespace can put the resolver's address on
# its loopback and answer there (here a second dnsmasq, naming api.example.com 10.77.0.20): the
# answer comes from the resolver's address and port, to the seeder's query, over loopback. The
# seeder takes no answer that arrived over loopback.
case_seed_loopback_forgery()
{
	local pidfile=$T/dnsmasq-lo.pid
	hold || return
	cli_ns ip addr add "$QUIET/32" dev lo
	cli_ns dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$QUIET" --pid-file="$pidfile" --host-record=api.example.com,10.77.0.20
	write_policy quiet <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$QUIET"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] } ] }
EOF
	# the forger answers: seen from the namespace, as the seeder sees it
	cli_ns dig +short +time=1 +tries=1 "@$QUIET" api.example.com A | grep -q 10.77.0.20 ||
		fail "the forging resolver does not answer"
	attach_seed quiet
	expect EPERM tcp 10.77.0.20 443
	[[ $SEED_OUT == *"names not seeded"*"over loopback ignored"* ]] ||
		fail "no line saying the loopback answer was ignored: $(flat "$SEED_OUT")"
	[ -s "$pidfile" ] && kill "$(cat "$pidfile")"
	cli_ns ip addr del "$QUIET/32" dev lo
	unhold
}

# The fence's processes in two network namespaces: which one's lookups would the container
# want? Neither is guessed: nothing is seeded, and the line says why.
case_seed_two_namespaces()
{
	local other
	hold || return
	bash -c 'echo $BASHPID >"$0/cgroup.procs" && exec ip netns exec "$1" sleep 120' "$CG" \
		"$NS_SRV" &
	other=$!
	BG_PIDS="${BG_PIDS:-} $other"
	for _ in $(seq 200); do
		[ "$(cat "/proc/$other/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.05
	done
	attach_seed names || return
	[[ $SEED_OUT == *"names not seeded"*"more than one network namespace"* ]] ||
		fail "two namespaces: $(flat "$SEED_OUT")"
	expect EPERM tcp 10.77.0.10 443
	kill "$other" 2>/dev/null
	wait "$other" 2>/dev/null
	unhold
}

# empty_fence_cgroup DIR: no process left in DIR by an earlier case (a query's python outlives
# the subshell that wait_query kills): attach and update seed name rules in the namespace of
# the fence's processes, and a case expects that only where it put one there (hold).
empty_fence_cgroup()
{
	local i
	for i in $(seq 100); do
		[ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ] || return 0
		kill_cgroup_procs "$1"
		sleep 0.05
	done
	echo "warning: processes left in $1" >&2
}

# Without any capability over its namespace, a process of the container sends from the
# resolver's IPv6 address: IPV6_FREEBIND needs none, and port 53 needs only
# CAP_NET_BIND_SERVICE (or ip_unprivileged_port_start, 0 in Docker's containers). To the
# seeder's own address the datagram goes over loopback, yet IP_PKTINFO names the device that
# address is on, not loopback. The fence lets it through where the policy allows the
# container's own address (here fd77::2; a pod network's prefix would do). The forger reads the
# seeder's port (in /proc/net/udp6 of the namespace anyway) and query id (16 random bits, to
# guess: a flood) from the silent resolver's side, to be sure of its one try; the seeder must
# still take nothing over loopback.
case_seed_freebind_forgery()
{
	local res=fd77::5 log=$T/freebind.log
	write_policy quiet6 <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$res"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "cidr": "fd77::2/128", "protocol": "udp" } ] }
EOF
	hold || return
	srv ip addr add "$res/128" dev "${VETH}a" nodad
	rm -f "$log" "$T/relay.out"
	srv python3 "$ROOT_DIR/integration/dnsforge.py" watch "$res" "$log" 30 &
	BG_PIDS="${BG_PIDS:-} $!"
	in_fence setpriv --inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service \
		--bounding-set=-all,+net_bind_service python3 "$ROOT_DIR/integration/dnsforge.py" \
		relay "$log" "$res" fd77::2 10.77.0.20 30 >"$T/relay.out" 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	# the watcher bound (or the seeder's query is refused) and the relay reading its log
	for _ in $(seq $((100 * KT_TIME_SCALE))); do
		srv ss -Huln src "[$res]:53" | grep -q . && break
		sleep 0.05
	done
	srv ss -Huln src "[$res]:53" | grep -q . || fail "the watcher on [$res]:53 did not start"
	wait_for "$T/relay.out" ready || return
	attach_seed quiet6
	grep -q "^sent" "$T/relay.out" ||
		fail "the forger sent nothing: $(flat "$(cat "$T/relay.out" "$log" 2>&1)")"
	expect EPERM tcp 10.77.0.20 443
	[[ $SEED_OUT == *"names not seeded"*"over loopback ignored"* ]] ||
		fail "no line saying the loopback answer was ignored: $(flat "$SEED_OUT")"
	srv ip addr del "$res/128" dev "${VETH}a"
	unhold
}

# An AAAA record of an IPv4-mapped address (::ffff:10.77.0.20) teaches nothing: only an A record
# opens an IPv4 address. The control: an AAAA record of an IPv6 address, in the same form, is
# learned.
case_aaaa_mapped()
{
	attach_dns names || return
	query "$QUIET" 40500 5500 api.example.com
	forge craft aaaa-mapped "$QUIET" "$CLI" 40500 5500
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	expect EPERM tcp ::ffff:10.77.0.20 443
	wait_query
	query "$QUIET" 40501 5501 api.example.com
	forge craft aaaa "$QUIET" "$CLI" 40501 5501
	sleep 0.2
	expect_after "the control" allowed tcp fd77::20 443
	wait_query
}

# The kernel's learning against the same forger: a query of the fence to an IPv6 resolver, and
# its answer sent, without any capability, from the resolver's address (IPV6_FREEBIND) to the
# querying socket. It comes over loopback and teaches nothing (counted as loopback).
case_freebind_injection()
{
	local res=fd77::5 before
	write_policy quiet6k <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$res"],
  "rules": [ { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443] },
    { "action": "allow", "cidr": "fd77::2/128", "protocol": "udp" } ] }
EOF
	srv ip addr add "$res/128" dev "${VETH}a" nodad
	attach_dns quiet6k || return
	before=$(counter loopback)
	query "$res" 40600 5600 api.example.com
	in_fence setpriv --inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service \
		--bounding-set=-all,+net_bind_service python3 "$ROOT_DIR/integration/dnsforge.py" \
		answer "$res" fd77::2 40600 5600 api.example.com 10.77.0.20 ||
		fail "the forger could not send"
	sleep 0.2
	expect EPERM tcp 10.77.0.20 443
	[ "$(counter loopback)" -gt "$before" ] ||
		fail "the answer was not counted as over loopback ($before before, $(counter loopback) after)"
	wait_query
	srv ip addr del "$res/128" dev "${VETH}a"
}

# One fresh attach per case (attach_dns), from a cgroup without processes; each case detaches
# at the end.
# dns_event FILE tcp|udp ADDR PORT: the first event of `monitor` output FILE for that denial.
dns_event()
{
	jq -c --arg p "$2" --arg a "$3" --argjson n "$4" \
		'select(.protocol == $p and .address == $a and .port == $n)' "$1" | head -n 1
}

# A denial that a learned address could have lifted says in its event why none did: never
# resolved here, expired (how long ago), learned for other ports or another protocol; a denial
# by a deny rule names no DNS reason.
case_events_reason()
{
	local out=$T/reason.out ev ago
	attach_dns names || return
	expect EPERM tcp 10.77.0.10 443
	resolve short.example.com || fail "short.example.com did not resolve"
	expect allowed tcp 10.77.0.20 443
	# TTL 1, clamped to NF_DNS_TTL_MIN (5 s)
	sleep 7
	expect EPERM tcp 10.77.0.20 443
	resolve api.example.com || fail "api.example.com did not resolve"
	expect EPERM tcp 10.77.0.10 8443
	expect EPERM udp 10.77.0.10 443
	expect EPERM tcp 10.77.0.14 443
	"${NF[@]}" monitor --container dns --timeout $((2000 * KT_TIME_SCALE)) >"$out" 2>"$out.err" ||
		fail "monitor failed: $(flat "$(cat "$out.err")")"
	ev=$(dns_event "$out" tcp 10.77.0.10 443)
	[ "$(jq -r '.dns.learned' <<<"$ev")" = never_resolved ] &&
		[ "$(jq -r '.reason' <<<"$ev")" = "10.77.0.10 was never resolved here" ] ||
		fail "never resolved: event '$ev'"
	ev=$(dns_event "$out" tcp 10.77.0.20 443)
	ago=$(jq -r '.dns.expired_s_ago' <<<"$ev")
	[ "$(jq -r '.dns.learned' <<<"$ev")" = expired ] && [ "$ago" -ge 1 ] 2>/dev/null &&
		[ "$ago" -le 120 ] && [ "$(jq -r '.reason' <<<"$ev")" = "10.77.0.20 expired $ago s ago" ] ||
		fail "expired: event '$ev'"
	ev=$(dns_event "$out" tcp 10.77.0.10 8443)
	[ "$(jq -c '.dns' <<<"$ev")" = \
		'{"learned":"other_port","learned_protocols":["tcp"],"learned_ports":"443"}' ] &&
		[ "$(jq -r '.reason' <<<"$ev")" = "10.77.0.10 was learned for tcp port 443, not 8443" ] ||
		fail "other port: event '$ev'"
	ev=$(dns_event "$out" udp 10.77.0.10 443)
	[ "$(jq -r '.dns.learned' <<<"$ev")" = other_port ] &&
		[ "$(jq -r '.reason' <<<"$ev")" = "10.77.0.10 was learned for tcp, not udp" ] ||
		fail "other protocol: event '$ev'"
	ev=$(dns_event "$out" tcp 10.77.0.14 443)
	[ -n "$ev" ] && [ "$(jq -c '[.reason, .dns]' <<<"$ev")" = '[null,null]' ] ||
		fail "deny rule: event '$ev'"
}

# show lists each name looked up with the addresses it taught and their seconds left: the
# question's name, in lower case, also for addresses reached through a CNAME.
case_show_names()
{
	local js want
	attach_dns names || return
	resolve API.Example.COM || fail "api.example.com did not resolve"
	resolve api.example.com getent6 || fail "api.example.com (AAAA) did not resolve"
	resolve alias.example.net || fail "alias.example.net did not resolve"
	js=$("${NF[@]}" --json show dns)
	want='[{"name":"alias.example.net","addresses":["10.77.0.11"]},{"name":"api.example.com","addresses":["10.77.0.10","fd77::10"]}]'
	[ "$(jq -c '[.names[] | {name, addresses: [.addresses[].address] | sort}]' <<<"$js")" = "$want" ] ||
		fail "show --json names: $(jq -c .names <<<"$js")"
	jq -e '[.names[].addresses[].expires_in_s] | all(. > 250 and . <= 300)' <<<"$js" >/dev/null ||
		fail "show --json seconds left: $(jq -c .names <<<"$js")"
	jq -e '[.learned[] | select(.address == "10.77.0.11") | .name] == ["alias.example.net"]' \
		<<<"$js" >/dev/null || fail "show --json learned: $(jq -c .learned <<<"$js")"
	"${NF[@]}" show dns | grep -Eq '^learned: +api\.example\.com: (10\.77\.0\.10|fd77::10) \([0-9]+ s\), (10\.77\.0\.10|fd77::10) \([0-9]+ s\)$' ||
		fail "show: $(flat "$("${NF[@]}" show dns)")"
}

# learned_maps: how many fences' maps of learned addresses the program sets' tables hold.
learned_maps()
{
	local n=0 f
	for f in "$T"/bpffs/@programs/*/map_learned_fences; do
		[ -e "$f" ] && n=$((n + $(bpftool -j map dump pinned "$f" | jq length)))
	done
	echo "$n"
}

# Fences of one policy learn apart: a fence that learns more addresses than it may keep (a
# resolver it trusts answers 1100 lookups with 32 new addresses each) loses its own oldest, not
# what a neighbour learned. (Were the learned addresses of the policy's fences in one map, the
# flood would evict the neighbour's: a denial of service between fences.)
# stop_flood_server PID: the background srv PID started, and the server it runs in the server
# namespace (a child of ip netns exec, which the kill of PID does not reach).
stop_flood_server()
{
	local pid
	for pid in $(ip netns pids "$NS_SRV"); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dnsflood.py serve' &&
			kill "$pid" 2>/dev/null
	done
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

case_flood_per_fence()
{
	local out last n server
	attach_dns names || return
	attach_b names || return
	# looked up, not connected to yet: the kernel's LRU keeps an entry used since longer
	resolve api.example.com || fail "api.example.com did not resolve"
	# on the trusted address nothing else answers on: it goes with the case, or it would answer
	# the next cases' queries before their forger does
	srv python3 "$ROOT_DIR/integration/dnsflood.py" serve "$QUIET" 32 >"$T/flood.srv" 2>&1 &
	server=$!
	BG_PIDS="${BG_PIDS:-} $server"
	wait_for "$T/flood.srv" serving || return
	out=$(FENCE_CG=$CG-b in_fence python3 "$ROOT_DIR/integration/dnsflood.py" ask "$QUIET" 1100 \
		wild.example.org)
	last=${out#* }
	[ "${out%% *}" -ge 1000 ] 2>/dev/null || fail "the flood got answers to '$out' of 1100 lookups"
	[ "$("${NF[@]}" --json show dns-b | jq -r .counters.dns_learned)" -ge 32000 ] ||
		fail "the flood taught dns-b $("${NF[@]}" --json show dns-b | jq -r .counters.dns_learned) addresses"
	expect_after "dns-b's flood" allowed tcp 10.77.0.10 443
	FENCE_CG=$CG-b expect_after "its own flood" allowed tcp "$last" 443
	# a detach takes the fence's map out of the programs' table: its memory goes with it
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	n=$(learned_maps)
	[ "$n" = 1 ] || fail "$n maps of learned addresses in the table after the detach, expected 1"
	stop_flood_server "$server"
	remove_dns_cgroup "$CG-b"
}

# A fence gone without a detach (its pins removed, as a killed hook or a wiped bpffs directory
# leaves it) keeps its map of learned addresses in the programs' table until `netfence gc`,
# which takes it out; the fence still attached keeps its own.
case_gc_learned()
{
	local out
	attach_dns names || return
	attach_b names || return
	rm -rf "$T/bpffs/dns-b"
	[ "$(learned_maps)" = 2 ] || fail "$(learned_maps) maps of learned addresses before gc, expected 2"
	out=$("${NF[@]}" gc 2>&1) || fail "gc failed: $out"
	[ "$(learned_maps)" = 1 ] || fail "$(learned_maps) maps of learned addresses after gc, expected 1"
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_dns_cgroup "$CG-b"
}

# dns_prog CGROUP NAME: the id of the program NAME (nf_dns_answer, nf_dns_query) on CGROUP.
dns_prog()
{
	bpftool -j cgroup show "$1" | jq -r --arg n "$2" '[.[] | select(.name == $n) | .id] | join(" ")'
}

# names_entries MAP_ID: how many patterns the host's map of them holds; "gone" once freed
# (bpftool then prints an error object).
names_entries()
{
	bpftool -j map dump id "$1" 2>/dev/null | jq -r 'if type == "array" then length else "gone" end'
}

# names_map CGROUP: the id of the map of patterns the DNS answer program on CGROUP reads.
names_map()
{
	local id m
	id=$(dns_prog "$1" nf_dns_answer)
	for m in $(bpftool -j prog show id "$id" | jq -r '.map_ids[]'); do
		[ "$(bpftool -j map show id "$m" | jq -r .name)" = nf_names ] && echo "$m" && return
	done
}

# other: another policy with host rules, of the same settings as names: api.example.com on
# another port, and a name names does not have.
attach_other_b()
{
	write_policy other <<EOF
{ "version": 1, "default": "deny", "resolvers": ["$SRV"],
  "rules": [
    { "action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [8443] },
    { "action": "allow", "host": "other.example.com", "protocol": "tcp", "ports": [8080] }
  ] }
EOF
	attach_b other
}

# Two different policies with host rules share the DNS programs (one program of each, linked
# to both cgroups: the parser is verified once per host), and each fence still learns only
# what its own policy allows, with its own ports: the other policy's names and ports teach it
# nothing.
case_programs_shared_per_host()
{
	local a b p n
	attach_dns names || return
	attach_other_b || return
	for p in nf_dns_answer nf_dns_query; do
		a=$(dns_prog "$CG" $p)
		b=$(dns_prog "$CG-b" $p)
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$p: program '$a' on one cgroup, '$b' on the other"
		n=$(bpftool -j prog show | jq --arg n "$p" --arg id "${a:-0}" \
			'[.[] | select(.name == $n and (.id | tostring) == $id)] | length')
		[ "$n" = 1 ] || fail "$p: program $a shown $n times"
	done
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	expect EPERM tcp 10.77.0.10 8443
	resolve other.example.com || fail "other.example.com did not resolve"
	expect EPERM tcp 10.77.0.21 8080
	FENCE_CG=$CG-b expect EPERM tcp 10.77.0.10 443
	FENCE_CG=$CG-b resolve api.example.com || fail "api.example.com did not resolve in b"
	FENCE_CG=$CG-b expect allowed tcp 10.77.0.10 8443
	FENCE_CG=$CG-b expect EPERM tcp 10.77.0.10 443
	FENCE_CG=$CG-b resolve short.example.com || fail "short.example.com did not resolve in b"
	FENCE_CG=$CG-b expect EPERM tcp 10.77.0.20 443
	FENCE_CG=$CG-b resolve other.example.com || fail "other.example.com did not resolve in b"
	FENCE_CG=$CG-b expect allowed tcp 10.77.0.21 8080
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_dns_cgroup "$CG-b"
}

# gc takes a policy's patterns out of the host's map once no fence uses its programs, and only
# its own: the other fence still learns; once both are gone, nothing is left of either.
case_names_gc()
{
	local m before mid after i
	attach_dns names || return
	attach_other_b || return
	m=$(names_map "$CG")
	[ -n "$m" ] && [ "$m" = "$(names_map "$CG-b")" ] || fail "not one map of patterns: '$m'"
	before=$(names_entries "$m")
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_dns_cgroup "$CG-b"
	"${NF[@]}" gc >/dev/null 2>&1 || fail "gc failed"
	mid=$(names_entries "$m")
	[ "$mid" -gt 0 ] 2>/dev/null && [ "$mid" -lt "$before" ] ||
		fail "$before patterns before, $mid after the other policy's fence went"
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	"${NF[@]}" detach dns >/dev/null 2>&1
	"${NF[@]}" gc >/dev/null 2>&1 || fail "gc failed"
	# freed with its last program, which the kernel releases after a grace period
	for i in $(seq 50); do
		after=$(names_entries "$m")
		[ "$after" = gone ] || [ "$after" = 0 ] && break
		sleep 0.1
	done
	[ "$after" = gone ] || [ "$after" = 0 ] || fail "$after patterns left after both fences went"
}

# An update that fails once the new programs are linked (its state cannot be written) leaves
# the fence in force as it was: it learns with its own policy's names and ports, as before.
case_update_fails_keeps_names()
{
	local out
	attach_dns names || return
	sed 's/"ports": \[443\] }/"ports": [443, 8443] }/' "$T/policies/names.json" \
		>"$T/policies/names2.json"
	mkdir "$T/state/dns.json.tmp"
	out=$("${NF[@]}" update dns --policy "$T/policies/names2.json" 2>&1) &&
		fail "the update succeeded with its state unwritable: $out"
	rmdir "$T/state/dns.json.tmp"
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
	expect EPERM tcp 10.77.0.10 8443
}

# Attaches of other policies with host rules killed at random points (SIGKILL: no cleanup of
# their own) leave patterns in the host's map that no set holds; the next gc takes them all
# out and leaves the live fence's, which still learns.
case_names_gc_after_kills()
{
	local m before after i pid
	attach_dns names || return
	"${NF[@]}" gc >/dev/null 2>&1 || fail "gc failed" # the sets of earlier cases
	m=$(names_map "$CG")
	before=$(names_entries "$m")
	mkdir "$CG-b" || {
		fail "cannot create $CG-b"
		return
	}
	for i in $(seq 20); do
		sed "s/\"ports\": \[443\] }/\"ports\": [$((9000 + i))] }/" "$T/policies/names.json" \
			>"$T/policies/kill.json"
		"${NF[@]}" attach --id dns-b --cgroup "$CG-b" --policy "$T/policies/kill.json" \
			>/dev/null 2>&1 &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "    note: $before patterns before the killed attaches, $(names_entries "$m") after them"
	"${NF[@]}" detach dns-b >/dev/null 2>&1
	remove_dns_cgroup "$CG-b"
	"${NF[@]}" gc >/dev/null 2>&1 || fail "gc failed"
	after=$(names_entries "$m")
	[ "$after" = "$before" ] || fail "$before patterns before the killed attaches, $after after gc"
	resolve api.example.com || fail "api.example.com did not resolve"
	expect allowed tcp 10.77.0.10 443
}

# One fresh attach per case (attach_dns); each case detaches at the end.
run_dns_case()
{
	empty_fence_cgroup "$CG"
	"$2"
	"${NF[@]}" detach dns >/dev/null 2>&1
}

TABLE="
	allow-after-resolve           | case_allow_after_resolve
	dig                           | case_dig
	aaaa                          | case_aaaa
	cname-chain                   | case_cname_chain
	wildcards                     | case_wildcards
	case-insensitive              | case_case_insensitive
	deny-wins                     | case_deny_wins
	link-local-never-learned      | case_link_local_never_learned
	forged-source                 | case_forged_source
	unsolicited                   | case_unsolicited
	replayed                      | case_replayed
	local-injection               | case_local_injection
	programs-only-with-names      | case_programs_only_with_names
	per-fence                     | case_per_fence
	large-policy                  | case_large_policy
	update                        | case_update
	ttl-expiry                    | case_ttl_expiry
	crafted-answers               | case_crafted_answers
	attack-own-netns              | case_attack_own_netns
	tcp-answer                    | case_tcp_answer
	attack-raw-hairpin            | case_attack_raw_hairpin
	update-forgets                | case_update_forgets
	unnoted-socket                | case_unnoted_socket
	https-hints                   | case_https_hints
	etc-hosts                     | case_etc_hosts
	shared-address                | case_shared_address
	loopback-resolver             | case_loopback_resolver
	seed-attach                   | case_seed_attach
	seed-update                   | case_seed_update
	seed-unreachable              | case_seed_unreachable
	seed-loopback-forgery         | case_seed_loopback_forgery
	seed-two-namespaces           | case_seed_two_namespaces
	events-reason                 | case_events_reason
	show-names                    | case_show_names
	flood-per-fence               | case_flood_per_fence
	gc-learned                    | case_gc_learned
	seed-freebind-forgery         | case_seed_freebind_forgery
	aaaa-mapped                   | case_aaaa_mapped
	freebind-injection            | case_freebind_injection
	programs-shared-per-host      | case_programs_shared_per_host
	names-gc                      | case_names_gc
	update-fails-keeps-names      | case_update_fails_keeps_names
	names-gc-after-kills          | case_names_gc_after_kills
"
run_cases "$TABLE" run_dns_case
test_summary
