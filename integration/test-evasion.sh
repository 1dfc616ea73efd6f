#!/bin/bash
# Evasion tests: every way we know of reaching a destination the policy denies, or of getting a
# socket the connect/sendmsg hooks never see, tried by integration/evasion.c in four settings:
#
#   kernel        a test cgroup fenced with `netfence attach`, the probe moved into it
#   kernel-child  a cgroup created inside that fenced one, the probe moved there
#   runc          a runc container fenced by `netfence hook` (createRuntime + poststop hooks,
#                 the policy in the io.netfence.policy annotation), the capabilities Docker and
#                 containerd grant by default (never CAP_SYS_ADMIN, CAP_BPF or CAP_NET_ADMIN).
#                 Those hold CAP_NET_RAW, which the hook refuses when the policy's raw_sockets
#                 resolves to deny (packet sockets reach no cgroup hook; runc-netraw-refused-*
#                 asserts the refusal): under such a policy (M) the container gets them minus
#                 CAP_NET_RAW (docker --cap-drop NET_RAW), so raw and packet sockets fail with
#                 EPERM from the capability check, ping sockets from netfence.
#   runc-child    `runc exec --cgroup sub`: a sub-cgroup created inside the container's cgroup
#
# Everything happens in two private network namespaces the test creates, joined by a veth:
#   A  (the probes; the runc containers join it by path)  lo, 10.99.7.1/24, fd00:99:7::1/64
#   B  (the peer)   X = 10.99.7.2, fd00:99:7::2 (denied)   Y = 10.99.7.3, fd00:99:7::3 (allowed)
# with TCP (fast open enabled) and UDP listeners on X and Y port 5000 in B and on 127.0.0.1 and
# ::1 ports 7001 (allowed) and 7002 (denied) in A, and on A's own 10.99.7.1 port 7001 (denied: only
# loopback's port 7001 is allowed). Each probe sends a unique mark, and a case
# checks not only the verdict the probe printed but whether the mark reached a listener, or (for
# source-routed packets) whether a packet addressed to X crossed the veth (an AF_PACKET sniffer
# in B). Nothing leaves the host; the host's own sysctls are not touched (tcp_fastopen=3 and
# ping_group_range are set inside A and B only).
#
# A table row: name | policy | settings | evasion arguments | expected output | checks | note
#   policy    M   default deny, raw_sockets deny, loopback follows the rules, allow Y and
#                 127.0.0.1/::1 port 7001
#             RA  the same with raw_sockets allow
#             DA  default allow, deny X and port 7002 on loopback, raw_sockets absent (= allow)
#             MD  M without raw_sockets (it resolves to the default, deny); only for the
#                 CAP_NET_RAW refusal
#             L4  default allow, deny 127.0.0.0/8 (IPv4 loopback; ::1 stays allowed), loopback
#                 follows the rules: the natural policy of a host-network container
#             JN  default deny, no rule, loopback absent: the hook picks allow for a container
#                 whose namespace is not the host's, attach picks policy
#   settings  all (the four), both (kernel, runc), or a list (k kc r rc)
#   expected  the probe's exact output ("*": any; @SRR_UDP@ and @SRR_TCP@: what this kernel
#             does with an IPv4 source route from a process without CAP_NET_RAW, measured by
#             ev_baseline)
#   checks    rx=LOG (the mark reached that listener), norx (it reached none), norx=LOG,
#             nosniff=ADDR (no packet to ADDR holding the mark crossed the veth), nosniffany=ADDR
#             (no packet at all to ADDR), or "-"
#   note      a documented limitation this row demonstrates (the row asserts what happens and
#             says so, and fails if that changes; such rows, and the two cases about sockets
#             made outside the fence, are "gap-*" and carry the note)
# A row whose protocol the kernel lacks (socket() fails unfenced with EPROTONOSUPPORT,
# ESOCKTNOSUPPORT or EAFNOSUPPORT; io_uring unavailable) still runs fenced: the same errno is a
# SKIP naming it, anything else (EPERM included) a failure. A failing row that expected a denial
# and saw the traffic go through is also listed as a BYPASS before the summary line.
#
# Techniques: TCP connect (AF_INET, AF_INET6, IPv4-mapped), UDP sendto/sendmsg/sendmmsg (a batch
# mixing allowed and denied destinations, one verdict per message), connect+send, connected then
# sendto elsewhere, a connected send with a control message, AF_INET6 sockets given a
# sockaddr_in, AF_UNSPEC sockaddr_in, UDP-Lite, TCP fast open (MSG_FASTOPEN and
# TCP_FASTOPEN_CONNECT), MPTCP, SCTP, SMC, raw and ping sockets, io_uring (connect, sendmsg,
# send with an address, zero-copy sends, SQPOLL, IORING_OP_SOCKET), AF_PACKET and SOCK_PACKET
# frames built by hand, IPv4 source routes (IP_OPTIONS and IP_RETOPTS) and IPv6 segment routing
# headers whose first hop is denied (IPv4 LSRR and SSRR, also on an AF_INET6 socket sending
# IPv4-mapped), which netfence's cgroup_skb/egress program drops (UDP: EPERM; TCP: the SYN is
# dropped, connect() stays pending), the unspecified address (0.0.0.0, ::, ::ffff:0.0.0.0) that
# the kernel connects to this host after the hooks have judged it (netfence judges it as
# 127.0.0.1/::1; IPv4 with a source address given by bind(), IP_PKTINFO or SO_BINDTODEVICE:
# see the rows *-own-addr-denied and *-bound-to-device-denied; IPv6 :: from an IPv4-mapped
# source, which the kernel connects over IPv4: the l4-* rows), sends without a destination (a connected socket's send with a control
# message, allowed) next to sends to port 0 (EINVAL from the kernel), packet sockets in the
# attach setting (a documented limitation: netfence attach cannot see capabilities), sockets
# made outside the fence.
#
# Needs root, cgroup v2, runc, iproute2, nsenter, python3, bpftool and a C compiler with a static
# libc (and liburing.a for the io_uring probes). Exits 77 with the reason when it cannot run.
#
#   integration/test-evasion.sh [REGEX...]   (the cases to run, or CASES=REGEX; default all)
# Environment: NETFENCE, CC, RT_KEEP=1 (see lib-runtime.sh).
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

EV=""          # the static probe
EV_URING=""    # why io_uring probes are unsupported ("" = supported)
NSA=""         # network namespace names
NSB=""
VA=""          # veth ends
VB=""
MACB=""        # the MAC address of VB
KCG=""         # the kernel setting's fenced cgroup (under $RT_CG2$RT_PARENT)
RX=""          # listener logs
BG=""          # background processes started by this script (sniffers)
BYPASSES=""    # one line per bypass found
declare -A UNSUP=() # probe mode -> why it is unsupported here
SRR_UDP=""     # udp-lsrr's verdict without CAP_NET_RAW, fenced (see ev_baseline)
SRR_TCP=""     # tcp-lsrr's

X4=10.99.7.2 Y4=10.99.7.3 X6=fd00:99:7::2 Y6=fd00:99:7::3 A4=10.99.7.1 A6=fd00:99:7::1
PX=5000 PA=7001 PD=7002
# Docker's and containerd's default capabilities, which hold CAP_NET_RAW.
CAPS=CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID,CAP_SETUID,CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,CAP_KILL,CAP_AUDIT_WRITE
# The same minus CAP_NET_RAW (docker --cap-drop NET_RAW), for policies denying raw sockets.
CAPS_NORAW=${CAPS/CAP_NET_RAW,/}
# The capabilities of each policy's runc container.
# shellcheck disable=SC2034 # read by ev_fence through ${!name}
CAPS_M=$CAPS_NORAW CAPS_RA=$CAPS CAPS_DA=$CAPS CAPS_L4=$CAPS CAPS_JN=$CAPS_NORAW

# --- policies ------------------------------------------------------------------------------

RULES_ALLOW_Y='[
  {"action": "allow", "cidr": "'$Y4'/32"},
  {"action": "allow", "cidr": "'$Y6'/128"},
  {"action": "allow", "cidr": "127.0.0.1/32", "ports": ['$PA']},
  {"action": "allow", "cidr": "::1/128", "ports": ['$PA']}]'
# shellcheck disable=SC2034 # read by ev_fence through ${!name}
POL_M='{"version": 1, "mode": "enforce", "default": "deny", "loopback": "policy",
 "raw_sockets": "deny", "rules": '$RULES_ALLOW_Y'}'
# shellcheck disable=SC2034
POL_MD='{"version": 1, "mode": "enforce", "default": "deny", "loopback": "policy",
 "rules": '$RULES_ALLOW_Y'}'
# shellcheck disable=SC2034
POL_RA='{"version": 1, "mode": "enforce", "default": "deny", "loopback": "policy",
 "raw_sockets": "allow", "rules": '$RULES_ALLOW_Y'}'
# shellcheck disable=SC2034
POL_DA='{"version": 1, "mode": "enforce", "default": "allow", "loopback": "policy", "rules": [
  {"action": "deny", "cidr": "'$X4'/32"},
  {"action": "deny", "cidr": "'$X6'/128"},
  {"action": "deny", "cidr": "127.0.0.1/32", "ports": ['$PD']},
  {"action": "deny", "cidr": "::1/128", "ports": ['$PD']}]}'
# shellcheck disable=SC2034
POL_JN='{"version": 1, "mode": "enforce", "default": "deny", "rules": []}'
# shellcheck disable=SC2034
POL_L4='{"version": 1, "mode": "enforce", "default": "allow", "loopback": "policy", "rules": [
  {"action": "deny", "cidr": "127.0.0.0/8"}]}'

# --- the table -------------------------------------------------------------------------------

NOTE_PING="raw_sockets allow: an unconnected ping sendto() is judged by no hook (only connect() is)"
NOTE_VSOCK="AF_VSOCK (like AF_UNIX) is not IP and not fenced; with virtio-vsock it reaches the VM host whatever the network namespace"
NOTE_JOINED="a container joining a network namespace by path (a pod, --network container:) shares its loopback: under loopback allow, the hook's default there, it reaches the loopback services of every other process in that namespace"
NOTE_RAW="raw_sockets defaults to the policy's default: under default allow a CAP_NET_RAW process reaches denied destinations through a raw socket"
NOTE_PACKET="netfence attach fences a cgroup and cannot see the capabilities of its processes (docs/security.md): packet sockets (AF_PACKET, SOCK_PACKET) reach no cgroup hook, so a process holding CAP_NET_RAW there sends frames anywhere (the hook refuses such containers under raw_sockets deny)"

ROWS="
	# TCP connect, over both families and IPv4-mapped IPv6
	tcp4-denied              | M  | all  | tcp $X4 $PX                   | EPERM        | norx
	tcp4-allowed             | M  | all  | tcp $Y4 $PX                   | ok           | rx=tcp-Y4
	tcp6-denied              | M  | both | tcp $X6 $PX                   | EPERM        | norx
	tcp6-allowed             | M  | both | tcp $Y6 $PX                   | ok           | rx=tcp-Y6
	tcp6sock-mapped-denied   | M  | all  | tcp ::ffff:$X4 $PX            | EPERM        | norx
	tcp6sock-mapped-allowed  | M  | both | tcp ::ffff:$Y4 $PX            | ok           | rx=tcp-Y4
	tcp6sock-mapped-lo-denied  | M | both | tcp ::ffff:127.0.0.1 $PD     | EPERM        | norx
	tcp6sock-mapped-lo-allowed | M | both | tcp ::ffff:127.0.0.1 $PA     | ok           | rx=tcp-lo4-$PA
	tcp-lo-denied            | M  | both | tcp 127.0.0.1 $PD             | EPERM        | norx
	tcp6-lo-denied           | M  | both | tcp ::1 $PD                   | EPERM        | norx
	# UDP: sendto, sendmsg, sendmmsg, connect+send, connected then sendto elsewhere
	udp4-sendto-denied       | M  | all  | udp $X4 $PX                   | EPERM        | norx
	udp4-sendto-allowed      | M  | all  | udp $Y4 $PX                   | ok           | rx=udp-Y4
	udp6-sendto-denied       | M  | both | udp $X6 $PX                   | EPERM        | norx
	udp6-sendto-allowed      | M  | both | udp $Y6 $PX                   | ok           | rx=udp-Y6
	udp6sock-mapped-denied   | M  | all  | udp ::ffff:$X4 $PX            | EPERM        | norx
	udp6sock-mapped-allowed  | M  | both | udp ::ffff:$Y4 $PX            | ok           | rx=udp-Y4
	udp6sock-mapped-lo-denied | M | both | udp ::ffff:127.0.0.1 $PD      | EPERM        | norx
	udp6sock-mapped-lo-allowed | M | both | udp ::ffff:127.0.0.1 $PA     | ok           | rx=udp-lo4-$PA
	udp6sock-sin4-denied     | M  | both | udp6-sin4 $X4 $PX             | EPERM        | norx
	udp6sock-sin4-allowed    | M  | both | udp6-sin4 $Y4 $PX             | ok           | rx=udp-Y4
	udp6sock-sin4-connect-denied  | M | both | udp6-sin4-connect $X4 $PX | EPERM -      | norx
	udp6sock-sin4-connect-allowed | M | both | udp6-sin4-connect $Y4 $PX | ok ok        | rx=udp-Y4
	udp4-unspec-family-denied  | M | both | udp-unspec $X4 $PX           | EPERM        | norx
	udp4-unspec-family-allowed | M | both | udp-unspec $Y4 $PX           | ok           | rx=udp-Y4
	udp4-sendmsg-denied      | M  | all  | udp-sendmsg $X4 $PX           | EPERM        | norx
	udp4-sendmsg-allowed     | M  | both | udp-sendmsg $Y4 $PX           | ok           | rx=udp-Y4
	udp6-sendmsg-denied      | M  | both | udp-sendmsg $X6 $PX           | EPERM        | norx
	udp-sendmmsg-mixed       | M  | all  | udp-sendmmsg $Y4 $PX $X4 $PX $Y6 $PX $X6 $PX ::ffff:$X4 $PX | ok EPERM ok EPERM EPERM | rx=udp-Y4 rx=udp-Y6 norx=udp-X4 norx=udp-X6
	udp-sendmmsg-v4          | M  | both | udp-sendmmsg $X4 $PX $Y4 $PX $X4 $PX | EPERM ok EPERM | rx=udp-Y4 norx=udp-X4
	udp4-connect-denied      | M  | all  | udp-connect $X4 $PX           | EPERM -      | norx
	udp4-connect-allowed     | M  | both | udp-connect $Y4 $PX           | ok ok        | rx=udp-Y4
	udp6-connect-denied      | M  | both | udp-connect $X6 $PX           | EPERM -      | norx
	udp6sock-mapped-connect-denied | M | both | udp-connect ::ffff:$X4 $PX | EPERM -      | norx
	udp-connected-sendto-other | M | both | udp-connected-sendto $Y4 $PX $X4 $PX | ok EPERM | norx
	udp6-connected-sendto-other | M | both | udp-connected-sendto $Y6 $PX $X6 $PX | ok EPERM | norx
	# A connected socket's send with a control message (IP_TOS/IPV6_TCLASS here; QUIC stacks
	# send UDP_SEGMENT, resolvers IP_PKTINFO) must go where the socket is connected.
	udp4-connected-cmsg-allowed | M | both | udp-connected-cmsg $Y4 $PX  | ok ok        | rx=udp-Y4
	udp6-connected-cmsg-allowed | M | both | udp-connected-cmsg $Y6 $PX  | ok ok        | rx=udp-Y6
	# netfence tells such a send (no destination) by port 0: a send naming a destination is
	# still judged, also with a control message, and one naming port 0 never leaves (EINVAL)
	udp4-connected-cmsg-sendto-other | M | both | udp-connected-cmsg-sendto $Y4 $PX $X4 $PX | ok EPERM | norx
	udp6-connected-cmsg-sendto-other | M | both | udp-connected-cmsg-sendto $Y6 $PX $X6 $PX | ok EPERM | norx
	udp4-connected-cmsg-sendto-port0 | M | both | udp-connected-cmsg-sendto $Y4 $PX $X4 0 | ok EINVAL | nosniff=$X4
	udp4-port0-to-denied     | M  | both | udp $X4 0                     | EINVAL       | nosniff=$X4
	udp6-port0-to-denied     | M  | both | udp $X6 0                     | EINVAL       | nosniff=$X6
	uring-sendmsg6-port0-to-denied | M | both | uring-sendmsg $X6 0      | EINVAL       | nosniff=$X6
	udplite4-denied          | M  | both | udplite $X4 $PX               | EPERM        | -
	udplite4-allowed         | M  | both | udplite $Y4 $PX               | ok           | -
	udplite6-denied          | M  | both | udplite $X6 $PX               | EPERM        | -
	# TCP fast open: sendto(MSG_FASTOPEN) and TCP_FASTOPEN_CONNECT
	tfo4-denied              | M  | all  | tfo $X4 $PX                   | EPERM        | norx
	tfo4-allowed             | M  | both | tfo $Y4 $PX                   | ok           | rx=tcp-Y4
	tfo6-denied              | M  | both | tfo $X6 $PX                   | EPERM        | norx
	tfo6sock-mapped-denied   | M  | both | tfo ::ffff:$X4 $PX            | EPERM        | norx
	tfo-connect4-denied      | M  | both | tfo-connect $X4 $PX           | EPERM        | norx
	tfo-connect4-allowed     | M  | both | tfo-connect $Y4 $PX           | ok           | rx=tcp-Y4
	tfo-connect6-denied      | M  | both | tfo-connect $X6 $PX           | EPERM        | norx
	# io_uring
	uring-connect4-denied    | M  | all  | uring-connect $X4 $PX         | EPERM        | norx
	uring-connect4-allowed   | M  | all  | uring-connect $Y4 $PX         | ok           | -
	uring-connect-sqpoll-denied  | M | all  | uring-connect-sqpoll $X4 $PX | EPERM      | norx
	uring-connect-sqpoll-allowed | M | both | uring-connect-sqpoll $Y4 $PX | ok         | -
	uring-connect6-denied    | M  | both | uring-connect $X6 $PX         | EPERM        | norx
	uring-connect6-allowed   | M  | both | uring-connect $Y6 $PX         | ok           | -
	uring-connect-mapped-denied | M | both | uring-connect ::ffff:$X4 $PX | EPERM        | norx
	uring-connect-udp-denied | M  | both | uring-connect-udp $X4 $PX     | EPERM -      | norx
	uring-connect-udp-allowed | M | both | uring-connect-udp $Y4 $PX     | ok ok        | rx=udp-Y4
	uring-sendmsg4-denied    | M  | all  | uring-sendmsg $X4 $PX         | EPERM        | norx
	uring-sendmsg4-allowed   | M  | all  | uring-sendmsg $Y4 $PX         | ok           | rx=udp-Y4
	uring-sendmsg-sqpoll-denied  | M | all  | uring-sendmsg-sqpoll $X4 $PX | EPERM      | norx
	uring-sendmsg-sqpoll-allowed | M | both | uring-sendmsg-sqpoll $Y4 $PX | ok         | rx=udp-Y4
	uring-sendmsg6-denied    | M  | both | uring-sendmsg $X6 $PX         | EPERM        | norx
	uring-sendmsg6-allowed   | M  | both | uring-sendmsg $Y6 $PX         | ok           | rx=udp-Y6
	uring-sendmsg-mapped-denied | M | both | uring-sendmsg ::ffff:$X4 $PX | EPERM        | norx
	uring-sendto4-denied     | M  | both | uring-sendto $X4 $PX          | EPERM        | norx
	uring-sendto4-allowed    | M  | both | uring-sendto $Y4 $PX          | ok           | rx=udp-Y4
	uring-send-zc4-denied    | M  | both | uring-send-zc $X4 $PX         | EPERM        | norx
	uring-send-zc6-denied    | M  | both | uring-send-zc $X6 $PX         | EPERM        | norx
	uring-send-zc4-allowed   | M  | both | uring-send-zc $Y4 $PX         | ok           | rx=udp-Y4
	uring-sendmsg-zc4-denied | M  | both | uring-sendmsg-zc $X4 $PX      | EPERM        | norx
	uring-sendmsg-zc6-allowed | M | both | uring-sendmsg-zc $Y6 $PX      | ok           | rx=udp-Y6
	# sockets the connect/sendmsg hooks never see: refused at socket() under raw_sockets deny
	raw4-refused             | M  | all  | raw4                          | EPERM        | -
	raw6-refused             | M  | both | raw6                          | EPERM        | -
	raw4-udp-refused         | M  | both | raw4-udp                      | EPERM        | -
	raw4-ipraw-refused       | M  | both | raw4-ipraw                    | EPERM        | -
	ping4-refused            | M  | all  | ping4                         | EPERM        | -
	ping6-refused            | M  | both | ping6                         | EPERM        | -
	ping4-sendto-refused     | M  | both | ping-sendto $X4               | EPERM        | -
	sctp4-refused            | M  | both | sctp4                         | EPERM        | -
	sctp6-refused            | M  | both | sctp6                         | EPERM        | -
	sctp4-seqpacket-refused  | M  | both | sctp4-seq                     | EPERM        | -
	sctp4-connect-refused    | M  | both | sctp $X4 $PX                  | EPERM        | -
	smc-refused              | M  | both | smc                           | EPERM        | -
	smc6-refused             | M  | both | smc6                          | EPERM        | -
	smc-inet-refused         | M  | both | smc-inet                      | EPERM        | -
	smc-inet6-refused        | M  | both | smc-inet6                     | EPERM        | -
	mptcp4-refused           | M  | all  | mptcp4                        | EPERM        | -
	mptcp6-refused           | M  | both | mptcp6                        | EPERM        | -
	mptcp4-connect-refused   | M  | both | mptcp $Y4 $PX                 | EPERM        | norx
	uring-socket-raw4-refused | M | all  | uring-raw4                    | EPERM        | -
	uring-socket-raw6-refused | M | both | uring-raw6                    | EPERM        | -
	uring-socket-ping4-refused | M | both | uring-ping4                  | EPERM        | -
	# link-layer sockets (CAP_NET_RAW) send IP packets to any destination: the runc container
	# has no CAP_NET_RAW here (the hook refuses it otherwise: runc-netraw-refused-*)
	packet-socket-refused    | M  | r    | packet                        | EPERM        | -
	packet-raw-socket-refused | M | r    | packet-raw                    | EPERM        | -
	sockpacket-refused       | M  | r    | sockpacket                    | EPERM        | -
	packet-udp4-to-denied    | M  | r rc | packet-udp @VA@ $A4 $X4 $PX @MACB@ | EPERM      | norx
	packet-udp6-to-denied    | M  | r    | packet-udp @VA@ $A6 $X6 $PX @MACB@ | EPERM      | norx
	# ... but netfence attach cannot keep CAP_NET_RAW out of a bare cgroup (the probe runs as
	# root with every capability)
	gap-attach-packet-socket-created | M | k | packet                   | ok           | - | $NOTE_PACKET
	gap-attach-packet-raw-socket-created | M | k | packet-raw           | ok           | - | $NOTE_PACKET
	gap-attach-sockpacket-created | M | k  | sockpacket                  | ok           | - | $NOTE_PACKET
	gap-attach-packet-udp4-reaches-denied | M | k kc | packet-udp @VA@ $A4 $X4 $PX @MACB@ | ok | rx=udp-X4 | $NOTE_PACKET
	gap-attach-packet-udp6-reaches-denied | M | k | packet-udp @VA@ $A6 $X6 $PX @MACB@ | ok | rx=udp-X6 | $NOTE_PACKET
	# not IP: out of the fence's reach (the socket is only created, never connected)
	gap-vsock-socket-created | M  | both | vsock                         | ok           | - | $NOTE_VSOCK
	# source routes: the hooks judge the final (allowed) destination; the packet would go to X.
	# netfence's cgroup_skb/egress program drops it: a UDP send fails with EPERM; a TCP connect
	# ignores its dropped SYN and stays pending (retransmitting, dropped again). The DA rows
	# below run the IPv4 ones in a runc container holding CAP_NET_RAW.
	lsrr-udp-via-denied      | M  | k kc | udp-lsrr $X4 $Y4 $PX          | EPERM        | nosniff=$X4
	ssrr-udp-via-denied      | M  | k    | udp-ssrr $X4 $Y4 $PX          | EPERM        | nosniff=$X4
	lsrr-udp6sock-mapped-via-denied | M | k | udp-lsrr $X4 ::ffff:$Y4 $PX  | EPERM        | nosniff=$X4
	lsrr-cmsg-udp-via-denied | M  | k    | udp-lsrr-cmsg $X4 $Y4 $PX     | EPERM        | nosniff=$X4
	lsrr-tcp-via-denied      | M  | k    | -t 1000 tcp-lsrr $X4 $Y4 $PX  | pending      | nosniffany=$X4
	# Without CAP_NET_RAW (the runc container here) some kernels refuse IPv4 source routes
	# themselves (setsockopt(IP_OPTIONS) and the IP_RETOPTS control message: EPERM), others
	# let netfence drop them as above: @SRR_UDP@ and @SRR_TCP@ are what ev_baseline measured
	lsrr-udp-via-denied-noraw | M | r rc | udp-lsrr $X4 $Y4 $PX          | @SRR_UDP@    | nosniff=$X4
	ssrr-udp-via-denied-noraw | M | r    | udp-ssrr $X4 $Y4 $PX          | @SRR_UDP@    | nosniff=$X4
	lsrr-cmsg-udp-via-denied-noraw | M | r | udp-lsrr-cmsg $X4 $Y4 $PX     | EPERM        | nosniff=$X4
	lsrr-tcp-via-denied-noraw | M | r    | -t 1000 tcp-lsrr $X4 $Y4 $PX  | @SRR_TCP@    | nosniffany=$X4
	# an IPv6 routing header needs no privilege
	srh6-udp-via-denied      | M  | all  | udp-srh6 $X6 $Y6 $PX          | EPERM        | nosniff=$X6
	srh6-tcp-via-denied      | M  | both | -t 1000 tcp-srh6 $X6 $Y6 $PX  | pending      | nosniffany=$X6
	# the unspecified address is judged as loopback (only 127.0.0.1/::1 port 7001 allowed here)
	tcp-any4-to-allowed-lo   | M  | both | tcp 0.0.0.0 $PA               | ok           | rx=tcp-lo4-$PA
	tcp-any4-to-denied-lo    | M  | both | tcp 0.0.0.0 $PD               | EPERM        | norx
	udp-any6-to-allowed-lo   | M  | both | udp :: $PA                    | ok           | rx=udp-lo6-$PA
	tcp-mapped-any-to-allowed-lo | M | both | tcp ::ffff:0.0.0.0 $PA     | ok           | rx=tcp-lo4-$PA
	# ... which IPv6 :: always is, whatever the IPv6 source address (the kernel rewrites it to
	# ::1; from an IPv4-mapped source see the L4 rows)
	tcp6-any-from-own-addr   | M  | both | tcp-from $A6 :: $PA           | ok           | rx=tcp-lo6-$PA
	udp6-any-pktinfo-own-addr | M | both | udp-pktinfo $A6 :: $PA        | ok           | rx=udp-lo6-$PA
	# ... but IPv4 0.0.0.0 is not: its route lookup takes the socket's source address (bind(),
	# IP_PKTINFO, or the address of the SO_BINDTODEVICE device) as the destination, 127.0.0.1
	# only when there is none. A4 (this namespace's own address) is denied directly; netfence
	# rewrites 0.0.0.0 to the 127.0.0.1 it judged, so through 0.0.0.0 the mark reaches the
	# allowed loopback listener and never A4's
	tcp4-own-addr-denied     | M  | both | tcp $A4 $PA                   | EPERM        | norx
	udp4-pktinfo-own-addr-denied | M | both | udp-pktinfo $A4 $A4 $PA    | EPERM        | norx
	tcp-any4-from-own-addr-to-lo | M | both | tcp-from $A4 0.0.0.0 $PA   | ok           | rx=tcp-lo4-$PA norx=tcp-A4-$PA
	udp-any4-pktinfo-own-addr-to-lo | M | both | udp-pktinfo $A4 0.0.0.0 $PA | ok       | rx=udp-lo4-$PA norx=udp-A4-$PA
	tcp-mapped-any-from-own-addr-to-lo | M | both | tcp-from ::ffff:$A4 ::ffff:0.0.0.0 $PA | ok | rx=tcp-lo4-$PA norx=tcp-A4-$PA
	# bound to the veth, 127.0.0.1 is unreachable: the SYN is lost, never delivered to A4
	tcp-any4-bound-to-device-to-lo | M | both | tcp-dev @VA@ 0.0.0.0 $PA  | ETIMEDOUT    | norx
	# raw_sockets allow: the sockets are created; what still goes through connect is judged
	ra-raw4-created          | RA | all  | raw4                          | ok           | -
	ra-raw6-created          | RA | both | raw6                          | ok           | -
	ra-raw4-udp-created      | RA | both | raw4-udp                      | ok           | -
	ra-ping4-created         | RA | all  | ping4                         | ok           | -
	ra-ping6-created         | RA | both | ping6                         | ok           | -
	ra-sctp4-created         | RA | both | sctp4                         | ok           | -
	ra-sctp6-created         | RA | both | sctp6                         | ok           | -
	ra-smc-created           | RA | both | smc                           | ok           | -
	ra-smc-inet-created      | RA | both | smc-inet                      | ok           | -
	ra-mptcp4-created        | RA | all  | mptcp4                        | ok           | -
	ra-mptcp6-created        | RA | both | mptcp6                        | ok           | -
	ra-uring-socket-raw4-created | RA | both | uring-raw4                | ok           | -
	ra-packet-created        | RA | both | packet                        | ok           | -
	ra-mptcp4-connect-denied | RA | all  | mptcp $X4 $PX                 | EPERM        | norx
	ra-mptcp4-connect-allowed | RA | both | mptcp $Y4 $PX                | ok           | rx=tcp-Y4
	ra-mptcp6-connect-denied | RA | both | mptcp $X6 $PX                 | EPERM        | norx
	ra-mptcp6-connect-allowed | RA | both | mptcp $Y6 $PX                | ok           | rx=tcp-Y6
	ra-sctp4-connect-denied  | RA | both | sctp $X4 $PX                  | EPERM        | -
	ra-ping4-connect-denied  | RA | both | ping-connect $X4              | EPERM        | -
	ra-ping4-connect-allowed | RA | both | ping-connect $Y4              | ok           | -
	ra-ping6-connect-denied  | RA | both | ping-connect $X6              | EPERM        | -
	ra-ping4-sendto-unjudged | RA | both | ping-sendto $X4               | ok           | - | $NOTE_PING
	# default allow with deny rules
	da-tcp4-denied           | DA | all  | tcp $X4 $PX                   | EPERM        | norx
	da-tcp4-allowed          | DA | both | tcp $Y4 $PX                   | ok           | rx=tcp-Y4
	da-udp6-denied           | DA | both | udp $X6 $PX                   | EPERM        | norx
	da-udp6sock-mapped-denied | DA | both | udp ::ffff:$X4 $PX           | EPERM        | norx
	da-udp-lo-denied         | DA | both | udp 127.0.0.1 $PD             | EPERM        | norx
	da-udp-sendmmsg          | DA | both | udp-sendmmsg $Y4 $PX $X4 $PX  | ok EPERM     | rx=udp-Y4 norx=udp-X4
	da-tfo4-denied           | DA | both | tfo $X4 $PX                   | EPERM        | norx
	da-uring-connect4-denied | DA | all  | uring-connect $X4 $PX         | EPERM        | norx
	da-uring-sendmsg6-denied | DA | both | uring-sendmsg $X6 $PX         | EPERM        | norx
	da-mptcp4-connect-denied | DA | both | mptcp $X4 $PX                 | EPERM        | norx
	# the unspecified address: the kernel connects 0.0.0.0 to 127.0.0.1 and :: to ::1 after the
	# hooks have judged 0.0.0.0 or ::
	da-tcp-lo-denied         | DA | both | tcp 127.0.0.1 $PD             | EPERM        | norx
	da-tcp-any4-to-denied-lo | DA | all  | tcp 0.0.0.0 $PD               | EPERM        | norx
	da-udp-any4-to-denied-lo | DA | both | udp 0.0.0.0 $PD               | EPERM        | norx
	da-tcp-any6-to-denied-lo | DA | both | tcp :: $PD                    | EPERM        | norx
	da-udp-any6-to-denied-lo | DA | both | udp :: $PD                    | EPERM        | norx
	da-tcp-mapped-any-to-denied-lo | DA | both | tcp ::ffff:0.0.0.0 $PD  | EPERM        | norx
	da-udp-connect-any4-to-denied-lo | DA | both | udp-connect 0.0.0.0 $PD | EPERM -    | norx
	da-uring-connect-any4-to-denied-lo | DA | both | uring-connect 0.0.0.0 $PD | EPERM  | -
	da-udp-mapped-any-to-denied-lo | DA | both | udp ::ffff:0.0.0.0 $PD  | EPERM        | norx
	da-udp-connect-any6-to-denied-lo | DA | both | udp-connect :: $PD    | EPERM -      | norx
	da-tfo-any4-to-denied-lo | DA | both | tfo 0.0.0.0 $PD               | EPERM        | norx
	da-uring-sendmsg-any6-to-denied-lo | DA | both | uring-sendmsg :: $PD | EPERM       | norx
	da-udp-any4-to-allowed-lo | DA | both | udp 0.0.0.0 $PA              | ok           | rx=udp-lo4-$PA
	# source-routed packets are dropped whatever the policy, even when every hop is allowed
	da-lsrr-udp-via-denied   | DA | all  | udp-lsrr $X4 $Y4 $PX          | EPERM        | nosniff=$X4
	da-ssrr-udp-via-denied   | DA | r    | udp-ssrr $X4 $Y4 $PX          | EPERM        | nosniff=$X4
	da-lsrr-udp6sock-mapped-via-denied | DA | r | udp-lsrr $X4 ::ffff:$Y4 $PX | EPERM    | nosniff=$X4
	da-lsrr-cmsg-udp-via-denied | DA | r rc | udp-lsrr-cmsg $X4 $Y4 $PX   | EPERM        | nosniff=$X4
	da-lsrr-tcp-via-denied   | DA | r    | -t 1000 tcp-lsrr $X4 $Y4 $PX  | pending      | nosniffany=$X4
	da-srh6-udp-via-allowed  | DA | k    | udp-srh6 $Y6 $Y6 $PX          | EPERM        | -
	da-raw-udp-reaches-denied | DA | both | raw-udp $X4 $PX              | ok           | rx=udp-X4 | $NOTE_RAW
	# :: from a socket with an IPv4-mapped source: the kernel would connect it to
	# ::ffff:127.0.0.1 over IPv4, after connect6 judged it as ::1. netfence rewrites it to the ::1
	# it judged, which the kernel refuses from a mapped source (EAFNOSUPPORT): 127.0.0.0/8 stays
	# out of reach however the connect is made. Unconnected UDP takes the IPv4 route before any
	# hook, where sendmsg4 judges 127.0.0.1.
	l4-tcp-lo4-denied        | L4 | both | tcp 127.0.0.1 $PA             | EPERM        | norx
	l4-tcp-lo6-allowed       | L4 | both | tcp ::1 $PA                   | ok           | rx=tcp-lo6-$PA
	l4-tcp-any6-to-lo6       | L4 | both | tcp :: $PA                    | ok           | rx=tcp-lo6-$PA
	l4-tcp-mapped-any-denied | L4 | both | tcp ::ffff:0.0.0.0 $PA        | EPERM        | norx
	l4-tcp-any6-from-mapped-any | L4 | all | -b ::ffff:0.0.0.0 tcp :: $PA | EAFNOSUPPORT | norx
	l4-tcp-any6-from-mapped-lo | L4 | both | -b ::ffff:127.0.0.1 tcp :: $PA | EAFNOSUPPORT | norx
	l4-tfo-any6-from-mapped  | L4 | both | -b ::ffff:0.0.0.0 tfo :: $PA  | EAFNOSUPPORT | norx
	l4-tfo-connect-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 tfo-connect :: $PA | EAFNOSUPPORT | norx
	l4-uring-connect-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 uring-connect :: $PA | EAFNOSUPPORT | -
	l4-mptcp-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 mptcp :: $PA | EAFNOSUPPORT | norx
	l4-udp-connect-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 udp-connect :: $PA | EAFNOSUPPORT - | norx
	l4-uring-connect-udp-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 uring-connect-udp :: $PA | EAFNOSUPPORT - | norx
	l4-udp-any6-from-mapped  | L4 | both | -b ::ffff:0.0.0.0 udp :: $PA  | EPERM        | norx
	l4-udp-sendmsg-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 udp-sendmsg :: $PA | EPERM | norx
	l4-uring-sendmsg-any6-from-mapped | L4 | both | -b ::ffff:0.0.0.0 uring-sendmsg :: $PA | EPERM | norx
	# namespace A's listeners belong to the test, not to the container that joins A
	gap-joined-netns-loopback-shared | JN | r | tcp 127.0.0.1 $PA        | ok           | rx=tcp-lo4-$PA | $NOTE_JOINED
	jn-attach-loopback-follows-rules | JN | k | tcp 127.0.0.1 $PA        | EPERM        | norx
"

# --- setup and teardown ----------------------------------------------------------------------

ev_cleanup()
{
	local rc=$? pid cg id
	trap - EXIT INT TERM
	for pid in $BG; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T/state" ]; then
		for id in ev-k-M ev-k-RA ev-k-DA ev-k-L4 ev-k-JN; do
			nfk detach "$id" >/dev/null 2>&1
		done
	fi
	# The kernel setting's cgroups, children first; stragglers are killed and moved out.
	if [ -n "$KCG" ] && [ -d "$KCG" ]; then
		while read -r cg; do
			while read -r pid; do
				kill -9 "$pid" 2>/dev/null
				echo "$pid" >"$RT_CG2/cgroup.procs" 2>/dev/null
			done <"$cg/cgroup.procs"
			rmdir "$cg" 2>/dev/null || echo "warning: could not remove cgroup $cg" >&2
		done < <(find "$KCG" -depth -type d)
	fi
	[ -n "$NSA" ] && ip netns delete "$NSA" 2>/dev/null
	[ -n "$NSB" ] && ip netns delete "$NSB" 2>/dev/null
	(exit "$rc")
	rt_cleanup # containers (poststop), listeners, mounts (the bpffs), cgroups, $T
}

ev_build()
{
	local uring=""
	if [ -e "$("$CC" -print-file-name=liburing.a 2>/dev/null)" ] &&
		"$CC" -static -O2 -Wall -Wextra -D_GNU_SOURCE -DHAVE_LIBURING -o "$T/evasion" \
			"$RT_ROOT_DIR/integration/evasion.c" -luring 2>"$T/logs/evasion.build"; then
		uring=1
	elif "$CC" -static -O2 -Wall -Wextra -D_GNU_SOURCE -o "$T/evasion" \
		"$RT_ROOT_DIR/integration/evasion.c" 2>>"$T/logs/evasion.build"; then
		EV_URING="no static liburing (liburing.a): built without io_uring"
	else
		skip "cannot build the static probe: $(head -n 3 "$T/logs/evasion.build")"
	fi
	EV=$T/evasion
	[ -n "$uring" ] || echo "note: $EV_URING"
}

# Two network namespaces joined by a veth, addresses, listeners; see the header.
ev_netns()
{
	NSA=nf-evasion-a-$$
	NSB=nf-evasion-b-$$
	VA=nfeva$$
	VB=nfevb$$
	VA=${VA:0:15}
	VB=${VB:0:15}
	ip netns add "$NSA" || { NSA=""; skip "cannot create a network namespace"; }
	ip netns add "$NSB" || { NSB=""; skip "cannot create a network namespace"; }
	if ! { ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up &&
		ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" &&
		ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up &&
		ip -n "$NSA" addr add "$A4/24" dev "$VA" &&
		ip -n "$NSA" addr add "$A6/64" dev "$VA" nodad &&
		ip -n "$NSB" addr add "$X4/24" dev "$VB" && ip -n "$NSB" addr add "$Y4/24" dev "$VB" &&
		ip -n "$NSB" addr add "$X6/64" dev "$VB" nodad &&
		ip -n "$NSB" addr add "$Y6/64" dev "$VB" nodad; } >"$T/logs/netns" 2>&1; then
		skip "cannot set up the veth and addresses: $(head -n 2 "$T/logs/netns")"
	fi
	# Per-namespace settings only: ping sockets for every group, TCP fast open client+server.
	for ns in "$NSA" "$NSB"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647" \
			net.ipv4.tcp_fastopen=3 >>"$T/logs/netns" 2>&1 ||
			skip "cannot set sysctls in the test namespaces: $(tail -n 1 "$T/logs/netns")"
	done
	MACB=$(ip -n "$NSB" -j link show "$VB" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	[ -n "$MACB" ] || skip "cannot read the MAC address of $VB"
}

# ev_listen NS NAME PROTO ADDR PORT: a listener for the whole run, logging to $RX/NAME.log.
ev_listen()
{
	local ns=$1 name=$2 i
	shift 2
	if [ "$1" = tcp ]; then
		ip netns exec "$ns" "$EV" listen "$@" tfo >"$RX/$name.log" 2>&1 &
	else
		ip netns exec "$ns" "$EV" listen "$@" >"$RX/$name.log" 2>&1 &
	fi
	RT_PIDS="$RT_PIDS $!"
	for i in $(seq 1 30); do
		grep -q '^listening' "$RX/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	skip "listener $name ($*) did not start: $(cat "$RX/$name.log")"
}

ev_listeners()
{
	local p a n
	RX=$T/rx
	mkdir -p "$RX"
	for a in X4 Y4 X6 Y6; do
		ev_listen "$NSB" "tcp-$a" tcp "${!a}" "$PX"
		ev_listen "$NSB" "udp-$a" udp "${!a}" "$PX"
	done
	for p in "$PA" "$PD"; do
		for n in lo4:127.0.0.1 lo6:::1; do
			ev_listen "$NSA" "tcp-${n%%:*}-$p" tcp "${n#*:}" "$p"
			ev_listen "$NSA" "udp-${n%%:*}-$p" udp "${n#*:}" "$p"
		done
	done
	# A's own address, on the port loopback allows
	ev_listen "$NSA" "tcp-A4-$PA" tcp "$A4" "$PA"
	ev_listen "$NSA" "udp-A4-$PA" udp "$A4" "$PA"
}

# What this kernel lacks, found by running the socket-level probes unfenced in namespace A.
ev_baseline()
{
	local m out
	for m in raw4 raw6 raw4-udp raw4-ipraw ping4 ping6 sctp4 sctp6 sctp4-seq smc smc6 smc-inet \
		smc-inet6 mptcp4 mptcp6 packet packet-raw sockpacket vsock uring-raw4 uring-raw6 \
		uring-ping4; do
		out=$(nsenter --net="/run/netns/$NSA" "$EV" "$m" 2>&1)
		case $out in
		EPROTONOSUPPORT | ESOCKTNOSUPPORT | EAFNOSUPPORT | EOPNOTSUPP | EINVAL)
			UNSUP[$m]="socket() fails unfenced with $out" ;;
		unsupported) UNSUP[$m]=$EV_URING ;;
		uring-setup:*) UNSUP[$m]="io_uring_setup() fails unfenced: ${out#*:}" ;;
		ok) ;;
		*) echo "note: baseline $m: $out (not a missing protocol; the rows still run)" ;;
		esac
	done
	# Connect/send modes inherit the verdict of their socket type.
	[ -n "${UNSUP[sctp4]:-}" ] && UNSUP[sctp]=${UNSUP[sctp4]}
	[ -n "${UNSUP[mptcp4]:-}" ] && UNSUP[mptcp]=${UNSUP[mptcp4]}
	[ -n "${UNSUP[ping4]:-}" ] && UNSUP[ping-sendto]=${UNSUP[ping4]} && UNSUP[ping-connect]=${UNSUP[ping4]}
	for m in uring-connect uring-connect-udp uring-sendmsg uring-sendto uring-send-zc \
		uring-sendmsg-zc uring-connect-sqpoll uring-sendmsg-sqpoll; do
		out=$(nsenter --net="/run/netns/$NSA" "$EV" -m baseline "$m" "$Y4" "$PX" 2>&1)
		case $out in
		unsupported) UNSUP[$m]=$EV_URING ;;
		uring-setup:*) UNSUP[$m]="io_uring_setup() fails unfenced: ${out#*:}" ;;
		ok | "ok ok") ;;
		*) UNSUP[$m]="fails unfenced with '$out' (kernel too old for this operation?)" ;;
		esac
	done
	for m in "${!UNSUP[@]}"; do
		echo "unsupported here: $m: ${UNSUP[$m]}"
	done | sort
	# IPv4 source routes without CAP_NET_RAW: refused by the kernel itself, or left to
	# netfence's egress program (then EPERM from the send, a pending connect for TCP).
	out=$(nsenter --net="/run/netns/$NSA" setpriv --bounding-set=-net_raw --inh-caps=-net_raw \
		"$EV" -m baseline udp-lsrr "$X4" "$Y4" "$PX" 2>&1)
	case $out in
	IP_OPTIONS:EPERM)
		SRR_UDP=$out SRR_TCP=$out
		echo "note: this kernel refuses IPv4 source routes without CAP_NET_RAW (IP_OPTIONS: EPERM)"
		;;
	ok) SRR_UDP=EPERM SRR_TCP=pending ;;
	*)
		SRR_UDP="?" SRR_TCP="?"
		echo "note: an unfenced IPv4 source route without CAP_NET_RAW says '$out': the *-noraw rows will fail"
		;;
	esac
}

ev_setup()
{
	rt_setup evasion
	trap ev_cleanup EXIT
	rt_require_cmd runc ip nsenter setpriv timeout "$CC" seq
	# A private copy: others may rebuild ./netfence while this runs.
	local i
	for i in 1 2 3; do
		cp "$NETFENCE" "$T/netfence" && "$T/netfence" version >/dev/null 2>&1 && break
		sleep 1
	done
	"$T/netfence" version >/dev/null 2>&1 || skip "cannot copy a working $NETFENCE"
	NETFENCE=$T/netfence
	ev_build
	ev_netns
	ev_listeners
	ev_baseline
	KCG=$RT_CG2$RT_PARENT/kernel
	mkdir -p "$KCG" || skip "cannot create the cgroup $KCG"
	rt_use runc
	rt_build_rootfs "$T/rootfs"
	cp "$EV" "$T/rootfs/bin/evasion"
}

# --- fences ----------------------------------------------------------------------------------

# nfk CMD...: netfence in the host's mount namespace, where the kernel setting's cgroup is at
# $RT_CG2 (lib-runtime's nf runs where cgroup v2 is bound over /sys/fs/cgroup, for runc).
nfk()
{
	"$NETFENCE" --config "$T/netfence.json" --bpffs-root "$T/bpffs" --state-dir "$T/state" "$@"
}

CID=""    # the runc container of the current policy
CT_WHY="" # why the runc settings cannot run for it
K_WHY=""  # why the kernel settings cannot run for it

# ev_bundle ID POLICY CAPS: a bundle for a runc container joining namespace A (by path).
ev_bundle()
{
	local id=$1 doc=POL_$2 caps=$3
	rt_bundle "$T/bundles/$id" "$id" netns=private policy="${!doc}" caps="$caps" \
		args="/bin/evasion sleep 3600" || return 1
	python3 - "$T/bundles/$id/config.json" "/run/netns/$NSA" <<'PY'
import json, sys
p, ns = sys.argv[1:]
c = json.load(open(p))
for n in c["linux"]["namespaces"]:
    if n["type"] == "network":
        n["path"] = ns
json.dump(c, open(p, "w"), indent=2)
PY
}

# The programs a fence attaches, one line each: netfence's six, egress included.
NF_PROGS="cgroup_inet4_connect nf_connect4
cgroup_inet6_connect nf_connect6
cgroup_inet_egress nf_egress
cgroup_inet_sock_create nf_sock_create
cgroup_udp4_sendmsg nf_sendmsg4
cgroup_udp6_sendmsg nf_sendmsg6"

# nf_progs_of CGROUP_DIR: "ATTACH_TYPE NAME" of the netfence programs on it, sorted.
nf_progs_of()
{
	bpftool cgroup show "$1" 2>/dev/null | awk '$NF ~ /^nf_/ { print $2, $NF }' | sort
}

# ev_fence POLICY: fence the kernel cgroup and start a runc container under POLICY, with the
# capabilities in CAPS_<POLICY>.
ev_fence()
{
	local pol=$1 doc out n caps
	doc=POL_$pol
	doc=${!doc}
	caps=CAPS_$pol
	caps=${!caps}
	printf '%s\n' "$doc" >"$T/policies/ev-$pol.json"
	K_WHY=""
	if ! out=$(nfk attach --id "ev-k-$pol" --cgroup "$KCG" --policy "$T/policies/ev-$pol.json" 2>&1); then
		K_WHY="netfence attach failed: $out"
	fi
	mkdir -p "$KCG/child"
	CID=ev-$pol-$$
	CT_WHY=""
	ev_bundle "$CID" "$pol" "$caps" || { CT_WHY="cannot write the bundle"; return; }
	if ! rt_run "$CID" "$T/bundles/$CID"; then
		CT_WHY="runc could not start the container: $(tail -n 3 "$T/logs/$CID.create" | tr '\n' ' ')"
		return
	fi
	n=$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$CID")
	[ "$n" -gt 0 ] || CT_WHY="no netfence program on the container's cgroup"
	mkdir -p "$RT_CG2$RT_PARENT/$CID/sub" || CT_WHY="cannot create the container's sub-cgroup"
}

ev_unfence()
{
	local pol=$1
	nfk detach "ev-k-$pol" >/dev/null 2>&1
	rmdir "$KCG/child" 2>/dev/null
	if [ -n "$CID" ]; then
		rmdir "$RT_CG2$RT_PARENT/$CID/sub" 2>/dev/null
		rt_delete "$CID"
		CID=""
	fi
}

# --- running a probe --------------------------------------------------------------------------

# ev_probe SETTING ARGS...: the probe's output in SETTING.
ev_probe()
{
	local where=$1
	shift
	case $where in
	kernel | kernel-child)
		local cg=$KCG
		[ "$where" = kernel-child ] && cg=$KCG/child
		(
			echo "$BASHPID" >"$cg/cgroup.procs" || exit 1
			exec timeout 20 nsenter --net="/run/netns/$NSA" "$EV" "$@"
		) 2>>"$T/logs/probe.err"
		;;
	runc) rt_exec "$CID" /bin/evasion "$@" ;;
	runc-child) rt_cli exec --cgroup sub "$CID" /bin/evasion "$@" </dev/null 2>>"$T/logs/$CID.exec" ;;
	esac
}

# has_mark LOG MARK: MARK reached listener LOG.
has_mark()
{
	grep -qF -- "got $2" "$RX/$1.log" 2>/dev/null
}

# any_mark MARK: the listeners MARK reached, space-separated.
any_mark()
{
	local f hit=""
	for f in "$RX"/*.log; do
		grep -qF -- "got $1" "$f" && hit="$hit $(basename "$f" .log)"
	done
	printf '%s' "${hit# }"
}

# ev_sniff_start ADDR MARK: an AF_PACKET sniffer on VB (namespace B) for packets to ADDR
# holding MARK ("" = any packet); its pid in SNIFF_PID, its log in $T/logs/sniff.
ev_sniff_start()
{
	local i
	ip netns exec "$NSB" "$EV" -m "$2" sniff "$VB" "$1" 3 >"$T/logs/sniff" 2>&1 &
	SNIFF_PID=$!
	BG="$BG $SNIFF_PID"
	for i in $(seq 1 30); do
		grep -q '^listening' "$T/logs/sniff" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the sniffer did not start: $(cat "$T/logs/sniff")"
}

CASE_BYPASS=0 # the current case found a bypass

# A denial that did not happen.
bypass()
{
	CASE_BYPASS=1
	fail "$@"
}

# wait_mark LOG MARK: wait up to 2 s for MARK to reach LOG.
wait_mark()
{
	local _
	for _ in $(seq 1 20); do
		has_mark "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

# run_row SETTING NAME POLICY ARGS EXPECT CHECKS NOTE
run_row()
{
	local where=$1 name=$2 pol=$3 args=$4 expect=$5 checks=$6 note=$7
	local mark="ev$$-$name-$where" got c mode sniff="" smark="" hit
	local -a argv
	CASE_BYPASS=0
	args=${args//@MACB@/$MACB}
	expect=${expect//@SRR_UDP@/$SRR_UDP}
	expect=${expect//@SRR_TCP@/$SRR_TCP}
	read -r -a argv <<<"${args//@VA@/$VA}"
	c=0
	while [[ ${argv[c]} == -? ]]; do
		c=$((c + 2)) # the probe's options (-t MS, -b SRC)
	done
	mode=${argv[c]}
	if [ -n "${UNSUP[$mode]:-}" ]; then
		# Run it anyway: the kernel must refuse it the same way fenced, never with EPERM.
		got=$(ev_probe "$where" -m "$mark" "${argv[@]}")
		case $got in
		"$expect") ;;
		EPROTONOSUPPORT | ESOCKTNOSUPPORT | EAFNOSUPPORT | EOPNOTSUPP | EINVAL | unsupported)
			case_skip "unsupported here: ${UNSUP[$mode]}; fenced: $got"
			;;
		*) fail "evasion ${argv[*]}: unsupported here (${UNSUP[$mode]}), but fenced it says '$got'" ;;
		esac
		case_end "$name@$where" "$note"
		return
	fi
	for c in $checks; do
		case $c in
		nosniff=*) sniff=${c#*=} smark=$mark ;;
		nosniffany=*) sniff=${c#*=} smark="" ;;
		esac
	done
	[ -z "$sniff" ] || ev_sniff_start "$sniff" "$smark"
	got=$(ev_probe "$where" -m "$mark" "${argv[@]}")
	if [ "$expect" != "*" ] && [ "$got" != "$expect" ]; then
		case $expect:$got in
		EPERM*:ok* | EPERM*:pending* | EAFNOSUPPORT*:ok*) bypass "evasion ${argv[*]}: expected '$expect' (denied), got '$got'" ;;
		*) fail "evasion ${argv[*]}: expected '$expect', got '$got'" ;;
		esac
	fi
	for c in $checks; do
		case $c in
		rx=*)
			wait_mark "${c#*=}" "$mark" ||
				fail "the mark did not reach the listener ${c#*=} (reached: '$(any_mark "$mark")')"
			;;
		norx=*)
			sleep 0.2
			! has_mark "${c#*=}" "$mark" ||
				bypass "the mark reached the listener ${c#*=} of a denied destination"
			;;
		norx)
			sleep 0.2
			hit=$(any_mark "$mark")
			[ -z "$hit" ] || bypass "the mark reached the listener(s) $hit"
			;;
		nosniff* )
			wait "$SNIFF_PID" 2>/dev/null
			case $(tail -n 1 "$T/logs/sniff") in
			unseen) ;;
			seen) bypass "a packet addressed to the denied ${c#*=} left the fence (seen on $VB in namespace B; probe said '$got')" ;;
			*) fail "sniffer: $(tr '\n' ' ' <"$T/logs/sniff")" ;;
			esac
			;;
		esac
	done
	if [ "$CASE_BYPASS" = 1 ]; then
		BYPASSES="${BYPASSES}BYPASS $name@$where: policy $pol, technique 'evasion ${argv[*]}', expected '$expect' ($checks), got '$got'
"
	fi
	case_end "$name@$where" "$note"
}

# --- cases beyond one probe ------------------------------------------------------------------

# Each fence is netfence's six programs, the cgroup_skb/egress one (source routes) included.
case_programs()
{
	local pol=$1 got
	if [ -z "$K_WHY" ]; then
		got=$(nf_progs_of "$KCG")
		[ "$got" = "$NF_PROGS" ] ||
			fail "programs on $KCG (netfence attach): '$(printf '%s' "$got" | tr '\n' ',')', expected the six of '$(printf '%s' "$NF_PROGS" | tr '\n' ',')'"
	fi
	if [ -z "$CT_WHY" ]; then
		got=$(nf_progs_of "$RT_CG2$RT_PARENT/$CID")
		[ "$got" = "$NF_PROGS" ] ||
			fail "programs on the container's cgroup (netfence hook): '$(printf '%s' "$got" | tr '\n' ',')', expected the six of '$(printf '%s' "$NF_PROGS" | tr '\n' ',')'"
	fi
	case_end "six-programs-attached-$pol"
}

# A container holding CAP_NET_RAW (Docker's default capabilities) under a policy whose
# raw_sockets resolves to deny (POLICY M: explicit; MD: absent, default deny) could send
# packet-socket frames that no cgroup hook sees: the createRuntime hook refuses it (exit 1),
# runc fails to create it, and nothing of a fence is left behind.
case_netraw_refused()
{
	local pol=$1 id=ev-netraw-$1-$$ name="runc-netraw-refused-$1" log left
	selected "$name" || return 0
	if [ -n "$CT_WHY" ]; then
		case_skip "$CT_WHY"
		case_end "$name"
		return
	fi
	log=$T/logs/$id.create
	if ! ev_bundle "$id" "$pol" "$CAPS"; then
		fail "cannot write the bundle"
	elif rt_run "$id" "$T/bundles/$id"; then
		fail "runc started a container holding CAP_NET_RAW under raw_sockets deny (policy $pol)"
	else
		grep -qF "netfence: container '$id': holds CAP_NET_RAW while the policy denies raw sockets" "$log" ||
			fail "runc failed, but its output lacks netfence's refusal: $(tail -n 3 "$log" | tr '\n' ' ')"
		grep -q "error running hook.*exit status 1" "$log" ||
			fail "runc failed, but not because the hook exited with 1: $(tail -n 3 "$log" | tr '\n' ' ')"
	fi
	rt_cli state "$id" >/dev/null 2>&1 && fail "runc still has the container after the refusal"
	rt_delete "$id"
	left=$(find "$T/bpffs" "$T/state" -mindepth 1 -name "*$id*" 2>/dev/null | head -n 3)
	[ -z "$left" ] || fail "left pinned or in the state dir: $(printf '%s' "$left" | tr '\n' ' ')"
	[ ! -d "$RT_CG2$RT_PARENT/$id" ] || [ "$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")" = 0 ] ||
		fail "netfence programs left on $RT_PARENT/$id"
	nf show "$id" >/dev/null 2>&1 && fail "netfence show still knows $id"
	case_end "$name"
}

# The child settings really run in a cgroup below the fenced one.
case_child_settings()
{
	local got
	if [ -z "$K_WHY" ]; then
		got=$(ev_probe kernel-child cgroup)
		[ "$got" = "$RT_PARENT/kernel/child" ] ||
			fail "kernel-child probe in '$got', expected $RT_PARENT/kernel/child"
	fi
	if [ -z "$CT_WHY" ]; then
		got=$(ev_probe runc-child cgroup)
		[ "$got" = "$RT_PARENT/$CID/sub" ] ||
			fail "runc-child probe in '$got', expected $RT_PARENT/$CID/sub"
		got=$(ev_probe runc cgroup)
		[ "$got" = "$RT_PARENT/$CID" ] || fail "runc probe in '$got', expected $RT_PARENT/$CID"
	fi
	case_end "child-settings-are-below-the-fence"
}

# A UDP socket made outside the fence and carried in (here: by the process moving itself into
# the fenced cgroup; in general SCM_RIGHTS, pidfd_getfd or runc exec --preserve-fds) is judged by
# the cgroup it was created in: the kernel's cgroup sock_addr hooks follow the socket.
case_presock()
{
	local mark="ev$$-presock" got
	got=$(nsenter --net="/run/netns/$NSA" "$EV" -m "$mark" presock-udp "$KCG/cgroup.procs" "$X4" "$PX" 2>&1)
	[ "$got" = "ok ok" ] || fail "presock-udp: expected 'ok ok' (socket from outside), got '$got'"
	wait_mark udp-X4 "$mark" || fail "the mark did not reach udp-X4"
	case_end "gap-socket-from-outside-cgroup@kernel" \
		"a socket created outside the fenced cgroup and used inside it is not judged (kernel: the hooks follow the socket's cgroup); only a process outside can hand one in"
}

case_preserve_fds()
{
	local mark="ev$$-preservefds" got
	if [ -z "$CID" ] || [ -n "$CT_WHY" ]; then
		case_skip "${CT_WHY:-no container}"
		case_end "gap-preserve-fds@runc"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner shells
	got=$(nsenter --net="/run/netns/$NSA" bash -c 'exec 3<>/dev/udp/$0/$1 || exit 99
		exec unshare -m sh -c "mount --make-rprivate / && { [ $2 = 0 ] || mount --bind $3 /sys/fs/cgroup; } &&
			exec runc --root $4 exec --preserve-fds 1 $5 /bin/evasion -m $6 fd-send 3"' \
		"$X4" "$PX" "$RT_BIND" "$RT_CG2" "$T/runc-root" "$CID" "$mark" </dev/null 2>>"$T/logs/$CID.exec")
	[ "$got" = ok ] || fail "fd-send on a socket passed with --preserve-fds: expected 'ok', got '$got'"
	wait_mark udp-X4 "$mark" || fail "the mark did not reach udp-X4"
	case_end "gap-preserve-fds@runc" \
		"runc exec --preserve-fds hands the container a socket connected outside the fence: its sends are not judged"
}

# --- main ------------------------------------------------------------------------------------

settings_of()
{
	case $1 in
	all) echo kernel kernel-child runc runc-child ;;
	both) echo kernel runc ;;
	*) echo "$1" | sed -e 's/\bkc\b/kernel-child/g' -e 's/\brc\b/runc-child/g' \
		-e 's/\bk\b/kernel/g' -e 's/\br\b/runc/g' ;;
	esac
}

main()
{
	local pol row name p where args expect checks note w
	ev_setup
	table_rows "$ROWS"
	echo "kernel cgroup $KCG, namespaces $NSA/$NSB, runc containers under $RT_PARENT"
	for pol in M RA DA L4 JN; do
		ev_fence "$pol"
		# The prerequisites were checked before (exit 77): a fence that cannot be put in
		# place is netfence failing, and fails here rather than skipping every row.
		[ -z "$K_WHY" ] || fail "policy $pol: kernel settings cannot run: $K_WHY"
		case_end "fence-$pol@kernel"
		[ -z "$CT_WHY" ] || fail "policy $pol: runc settings cannot run: $CT_WHY"
		case_end "fence-$pol@runc"
		for row in "${TABLE_ROWS[@]}"; do
			IFS='|' read -r name p where args expect checks note <<<"$row"
			if [ "$p" != "$pol" ] || ! selected "$name"; then
				continue
			fi
			for w in $(settings_of "$where"); do
				case $w in
				kernel*) case_skip "$K_WHY" ;;
				runc*) case_skip "$CT_WHY" ;;
				esac
				if [ -n "$TEST_SKIP_WHY" ]; then
					case_end "$name@$w"
					continue
				fi
				run_row "$w" "$name" "$p" "$args" "$expect" "$checks" "${note:-}" </dev/null
			done
		done
		selected "six-programs-attached-$pol" && case_programs "$pol"
		if [ "$pol" = M ]; then
			case_netraw_refused M
			case_netraw_refused MD
			selected child-settings-are-below-the-fence && case_child_settings
			[ -z "$K_WHY" ] && selected gap-socket-from-outside-cgroup@kernel && case_presock
			selected gap-preserve-fds@runc && case_preserve_fds
		fi
		ev_unfence "$pol"
	done
	# Nothing left: no pins, no state, no netfence program on the test's cgroups.
	expect_store_empty
	[ "$(rt_nf_progs_on "$KCG")" = 0 ] || fail "netfence programs left on $KCG"
	case_end "all-fences-removed"
	if [ -n "$BYPASSES" ]; then
		echo "--- bypasses: allowed or delivered where the policy denies ---"
		printf '%s' "$BYPASSES"
	fi
	test_summary
}

main "$@"
