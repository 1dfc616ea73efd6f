#!/bin/bash
# make demo: a real runc container fenced by netfence, one allowed and one denied connection
# from inside it, the fence's counters, then complete cleanup. Run as root after `make deps`
# and `make`. Everything lives in a temporary directory with its own bpffs mount; nothing is
# installed and the host's /sys/fs/bpf and /run/netfence are not touched.
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

if [ -t 1 ]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B="" G="" R="" D="" N=""
fi

step()
{
	printf '\n%s==> %s%s\n' "$B" "$*" "$N"
}

# try DESCRIPTION WANT CMD...: run a probe in the container and explain the outcome.
try()
{
	local what=$1 want=$2 got note
	shift 2
	got=$(rt_cli exec demo /bin/client "$@" </dev/null 2>"$T/logs/demo.try")
	note=$(sed -n 's/^ctclient: server said: /server replied: /p' "$T/logs/demo.try")
	case $got in
	ok) printf '  %-44s %s%-13s%s %s\n' "$what" "$G" "connected" "$N" "${note:+($note)}" ;;
	EPERM) printf '  %-44s %s%-13s%s %s\n' "$what" "$R" "EPERM" "$N" "(refused by netfence)" ;;
	*) printf '  %-44s %-13s\n' "$what" "${got:-no answer}" ;;
	esac
	[ "$got" = "$want" ] || DEMO_OK=0
}

DEMO_OK=1
rt_setup demo
rt_require_cmd runc ss
rt_use runc

printf '%snetfence demo%s: an OCI hook fencing a runc container'"'"'s egress with cgroup eBPF\n' \
	"$B" "$N"
printf '%s(work dir %s, private bpffs at %s/bpffs)%s\n' "$D" "$T" "$T" "$N"

WITH_BB=""
[ -x /bin/busybox ] && WITH_BB=" and busybox"
step "Building a minimal rootfs: a static network client$WITH_BB"
rt_build_rootfs "$T/rootfs"
for f in "$T"/rootfs/bin/*; do
	echo "  /bin/${f##*/}"
done

# Two services on the host's loopback: one the policy allows, one it does not.
ALLOWED=8080 OTHER=9090
if ss -Hltn "sport = :$ALLOWED or sport = :$OTHER" 2>/dev/null | grep -q .; then
	ALLOWED=$(rt_free_ports 2)
	OTHER=$((ALLOWED + 1))
fi
step "Starting two services on the host loopback"
rt_listen tcp 127.0.0.1 "$ALLOWED" || exit 1
rt_listen tcp 127.0.0.1 "$OTHER" || exit 1
echo "  127.0.0.1:$ALLOWED  (the policy allows it)"
echo "  127.0.0.1:$OTHER  (the policy does not)"

POLICY_DEMO='{
  "version": 1,
  "mode": "enforce",
  "default": "deny",
  "loopback": "policy",
  "rules": [
    { "action": "allow", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": ['"$ALLOWED"'] }
  ]
}'
step "The policy, in the container's io.netfence.policy annotation"
printf '%s\n' "$POLICY_DEMO" | sed 's/^/  /'

step "Creating the container (runc; hooks: createRuntime attaches, poststop detaches)"
rt_bundle "$T/bundles/demo" demo netns=host hooks=createRuntime policy="$POLICY_DEMO" || exit 1
python3 - "$T/bundles/demo/config.json" <<'PY' | sed 's/^/  /'
import json, sys
c = json.load(open(sys.argv[1]))
for stage, hooks in c["hooks"].items():
    for h in hooks:
        print("%-14s %s" % (stage + ":", " ".join(h["args"])))
PY
if ! rt_run demo "$T/bundles/demo"; then
	echo "${R}runc could not start the container:${N}"
	sed 's/^/  /' "$T/logs/demo.create"
	exit 1
fi
echo "  container 'demo' is running in cgroup $RT_PARENT/demo (host network namespace)"

step "Connecting from inside the container"
try "TCP 127.0.0.1:$ALLOWED (allowed service)" ok tcp 127.0.0.1 "$ALLOWED"
try "TCP 127.0.0.1:$OTHER (not in the policy)" EPERM tcp 127.0.0.1 "$OTHER"
try "TCP [::1]:$ALLOWED (IPv6: no rule)" EPERM tcp ::1 "$ALLOWED"
try "UDP 127.0.0.1:53 (DNS: no rule)" EPERM udp 127.0.0.1 53

step "What netfence knows: netfence show demo"
nf show demo 2>&1 | sed 's/^/  /'
echo "  ${D}programs on the container's cgroup (bpftool cgroup show):${N}"
bpftool cgroup show "$RT_CG2$RT_PARENT/demo" 2>&1 | sed 's/^/    /'

step "Removing the container (runc delete runs the poststop hook)"
rt_delete demo
LEFT=$(find "$T/bpffs" "$T/state" -mindepth 1 ! -name '.*' ! -name maps.debug \
	! -name progs.debug 2>/dev/null)
if [ -z "$LEFT" ]; then
	echo "  no pins, no state: the fence is gone with the container"
else
	echo "  ${R}left behind:${N} $LEFT"
	DEMO_OK=0
fi

if [ "$DEMO_OK" = 1 ]; then
	printf '\n%sDemo finished: allowed traffic passed, everything else got EPERM.%s\n' "$G" "$N"
else
	printf '\n%sDemo finished with unexpected results (see above).%s\n' "$R" "$N"
	exit 1
fi
