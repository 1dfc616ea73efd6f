#!/bin/bash
# Hostile input: a table of malformed documents fed to the real binary, the way a runtime, an
# operator or a container's author would feed them:
#   hook    `netfence hook createRuntime` with an OCI state on stdin (its bundle's config.json
#           and the policy annotations it carries included),
#   policy  `netfence attach --id ID --cgroup CG --policy -` with the policy on stdin,
#   config  `netfence --config FILE attach ...` with an otherwise valid attach,
#   args    hostile command-line values (--id, --cgroup), options a command does not take,
#           ambiguous id prefixes.
# Every case must end with the expected exit status (1; 2 for the usage errors of the args
# group), no crash (status < 128, no sanitizer report), exactly one line on stderr, starting
# "netfence:" and holding the case's substring (the JSON pointer of the field, or for
# documents jansson cannot parse at all, the reason it gives), and nothing pinned or attached:
# the test's own bpffs holds nothing but the kernel's iterators, the state dir no .json file,
# `bpftool cgroup show` on the test cgroup is empty, and canary files beside the bpffs root and
# the state dir (what an id like "../canary" would reach) are still there.
#
# States with a valid id and pid point at a real test cgroup under the cgroup v2 mount with a
# sleeping process in it, and at a bundle whose config.json gives the container few
# capabilities and its own network namespace, so that only the hostile part can make the hook
# refuse. Two control cases show that the same setup does attach when the input is valid.
#
# Needs root, a cgroup v2 hierarchy, bpftool and jq; exits 77 with the reason otherwise.
# Environment: NETFENCE (default ./netfence), CASES=REGEX runs only matching cases,
# HT_KEEP=1 keeps the temporary directory.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
FLAT_WIDTH=300
CASE_TIMEOUT=30

# T, CG2, CG ($CG2/netfence-hostile-$$), NF: see lib-kernel.sh.
SLEEPER="" # pid of the process in $CG
NOPID=""   # a pid that does not exist
BAD_INPUT="" # set when a case's input could not be built: the case then fails

check_prereqs()
{
	need_root
	need_commands bpftool jq mount umount awk timeout mkfifo
	need_cgroup2
	need_netfence
}

# Called by the EXIT trap (lib-kernel.sh's on_exit).
cleanup()
{
	if [ -n "$SLEEPER" ]; then
		kill "$SLEEPER" 2>/dev/null
		wait "$SLEEPER" 2>/dev/null
	fi
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		remove_cgroup "$CG"
	fi
	# Unmounting the bpffs drops any link a failed case leaked.
	unmount_bpffs
	remove_tmp "${HT_KEEP:-0}"
}

setup()
{
	local p
	make_tmp hostile
	mkdir -p "$T/bpffs" "$T/state" "$T/policies" "$T/bundle" "$T/in.d" || exit 1
	mount_bpffs
	write_config policies
	# Few capabilities and its own network namespace: nothing in the bundle makes the hook
	# refuse, only the hostile input under test.
	jq -n '{ociVersion: "1.0.2", process: {capabilities: {bounding: ["CAP_CHOWN"],
		effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}},
		linux: {namespaces: [{type: "pid"}, {type: "network"}, {type: "mount"}]}}' \
		>"$T/bundle/config.json"
	echo '{"version":1,"default":"deny","rules":[]}' >"$T/policies/good.json"
	copy_netfence
	make_canaries
	CG=$CG2/netfence-hostile-$$
	mkdir "$CG" || skip "cannot create a cgroup under $CG2"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$CG" &
	SLEEPER=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		grep -qx "$SLEEPER" "$CG/cgroup.procs" 2>/dev/null && break
		sleep 0.1
	done
	grep -qx "$SLEEPER" "$CG/cgroup.procs" || skip "cannot move a process into $CG"
	p=$(($(cat /proc/sys/kernel/pid_max) - 1))
	while [ -e "/proc/$p" ]; do
		p=$((p - 1))
	done
	NOPID=$p
}

# --- checks ------------------------------------------------------------------------------

# What is attached to the test cgroup ("" when nothing).
cg_progs()
{
	cg_prog_lines "$CG"
}

# Pins, state files and programs left behind ("" when none).
leftovers()
{
	find "$T/bpffs" -mindepth 1 -maxdepth 1 ! -name progs.debug ! -name maps.debug 2>&1
	find "$T/state" -mindepth 1 -name '*.json' 2>&1
	cg_progs
}

# After a case that leaked, start the next one from scratch: unmounting the bpffs releases
# every pinned link, which detaches its programs.
reset_store()
{
	umount "$T/bpffs" && mount -t bpf bpf "$T/bpffs"
	rm -f "$T/state"/*.json
}

# run_case NAME WANT_RC SUBSTR CMD...: run CMD with $T/in on stdin and check it.
run_case()
{
	local name=$1 want=$2 sub=$3 rc lines left
	shift 3
	if [ -n "$BAD_INPUT" ]; then
		fail "test bug: $BAD_INPUT"
		BAD_INPUT=""
	fi
	timeout -k 5 "$CASE_TIMEOUT" "$@" <"$T/in" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "hung: killed after ${CASE_TIMEOUT}s"
	elif [ "$rc" -ge 128 ]; then
		fail "crashed: exit status $rc (signal $((rc - 128)))"
	elif [ "$rc" -ne "$want" ]; then
		fail "exit status $rc, expected $want"
	fi
	if grep -qE 'Sanitizer|runtime error:|Segmentation|Aborted|double free' "$T/err"; then
		fail "sanitizer or crash report: $(flat "$(grep -m 3 -E 'Sanitizer|runtime error' "$T/err")")"
	fi
	lines=$(grep -c '' "$T/err")
	if [ "$lines" -ne 1 ]; then
		fail "$lines lines on stderr, expected 1: $(flat "$(head -c 600 "$T/err")")"
	elif [ -n "$(tail -c 1 "$T/err")" ]; then
		fail "stderr line does not end with a newline"
	fi
	if ! head -n 1 "$T/err" | grep -q '^netfence: '; then
		fail "stderr does not start with 'netfence: ': $(flat "$(head -c 300 "$T/err")")"
	fi
	if ! grep -qF -- "$sub" "$T/err"; then
		fail "stderr does not name '$sub': $(flat "$(head -c 400 "$T/err")")"
	fi
	left=$(leftovers)
	if [ -n "$left" ]; then
		fail "left behind: $(flat "$left")"
		reset_store
	fi
	if [ ! -e "$T/canary/file" ] || [ ! -e "$T/canary.json" ]; then
		fail "a canary beside the bpffs root and the state dir was removed (path escape)"
		make_canaries
	fi
	case_end "$name"
}

# Files an id such as "../canary" would reach from the bpffs root or the state dir.
make_canaries()
{
	mkdir -p "$T/canary" && echo canary >"$T/canary/file" && echo '{}' >"$T/canary.json"
}

# --- inputs ------------------------------------------------------------------------------

# The policy every state carries unless the case says otherwise.
GOOD_POLICY='{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.0/8"}]}'

# state FILTER [JQ-ARGS...]: a valid state (valid id and pid, the test bundle, an inline
# policy) transformed by the jq FILTER, into $T/in.
state()
{
	local filter=$1
	shift
	jq -cn --argjson pid "$SLEEPER" --arg bundle "$T/bundle" --arg pol "$GOOD_POLICY" "$@" \
		"{ociVersion: \"1.0.2\", id: \"hostile-1\", status: \"creating\", pid: \$pid,
		  bundle: \$bundle, annotations: {\"io.netfence.policy\": \$pol}} | $filter" \
		>"$T/in" || BAD_INPUT="jq could not build the state ($filter)"
}

# long_state N END: $T/in, a stopped state whose policy annotation starts with N bytes "x" and
# goes on with the printf format END.
long_state()
{
	{
		printf '{"id":"hostile-1","status":"stopped","annotations":{"io.netfence.policy":"'
		head -c "$1" /dev/zero | tr '\0' x
		# shellcheck disable=SC2059 # END is a format on purpose (\NNN escapes)
		printf -- "$2"
	} >"$T/in"
}

# raw TEXT: $T/in holds exactly the bytes of the printf format TEXT.
raw()
{
	# shellcheck disable=SC2059 # TEXT is a format on purpose (\x escapes)
	printf -- "$1" >"$T/in"
}

# A bundle (a directory with config.json holding the given text), for the bundle cases.
bundle()
{
	local dir=$T/in.d/bundle-$1
	mkdir -p "$dir"
	printf '%s' "$2" >"$dir/config.json"
	echo "$dir"
}

# hook NAME SUBSTR: the hook at createRuntime with $T/in as the state.
hook()
{
	selected "$1" || return 0
	run_case "$1" 1 "$2" "${NF[@]}" hook createRuntime
}

# policy NAME SUBSTR: attach with $T/in as the policy.
policy()
{
	selected "$1" || return 0
	run_case "$1" 1 "$2" "${NF[@]}" attach --id hostile-p --cgroup "$CG" --policy -
}

# config NAME SUBSTR FILE: an otherwise valid attach with FILE as the host config.
config()
{
	selected "$1" || return 0
	echo '{"version":1,"default":"deny","rules":[]}' >"$T/in"
	run_case "$1" 1 "$2" "$NETFENCE" --config "$3" --bpffs-root "$T/bpffs" \
		--state-dir "$T/state" attach --id hostile-c --cgroup "$CG" --policy -
}

# cfgfile NAME TEXT: a host config file holding TEXT; prints its path.
cfgfile()
{
	printf '%s' "$2" >"$T/in.d/config-$1.json"
	echo "$T/in.d/config-$1.json"
}

# repeat N TEXT: TEXT N times.
repeat()
{
	local i
	for ((i = 0; i < $1; i++)); do
		printf '%s' "$2"
	done
}

# --- controls: the setup attaches when the input is valid ----------------------------------

control_hook()
{
	local name=control-valid-state-attaches progs t
	selected "$name" || return 0
	state '.'
	if ! "${NF[@]}" hook createRuntime <"$T/in" >"$T/out" 2>"$T/err"; then
		fail "valid state refused: $(flat "$(cat "$T/err")")"
	fi
	progs=$(cg_progs)
	for t in nf_connect4 nf_connect6 nf_sendmsg4 nf_sendmsg6 nf_sock_create; do
		grep -q ":$t\$" <<<"$progs" || fail "no $t on $CG: $(flat "$progs")"
	done
	[ -e "$T/state/hostile-1.json" ] || fail "no state file"
	echo '{"id":"hostile-1","status":"stopped","bundle":"/"}' |
		"${NF[@]}" hook poststop >/dev/null 2>&1 || fail "poststop failed"
	[ -z "$(leftovers)" ] || { fail "left after poststop: $(flat "$(leftovers)")"; reset_store; }
	case_end "$name"
}

control_policy()
{
	local name=control-valid-policy-attaches progs
	selected "$name" || return 0
	printf '%s' "$GOOD_POLICY" >"$T/in"
	"${NF[@]}" attach --id hostile-p --cgroup "$CG" --policy - <"$T/in" >/dev/null 2>"$T/err" ||
		fail "valid policy refused: $(flat "$(cat "$T/err")")"
	progs=$(cg_progs)
	grep -q ':nf_connect4$' <<<"$progs" || fail "no nf_connect4 on $CG: $(flat "$progs")"
	"${NF[@]}" detach hostile-p >/dev/null 2>&1 || fail "detach failed"
	[ -z "$(leftovers)" ] || { fail "left after detach: $(flat "$(leftovers)")"; reset_store; }
	case_end "$name"
}

# --- the table ----------------------------------------------------------------------------

hook_cases()
{
	local b big name

	# Not JSON, or not the right JSON.
	raw ''
	hook state-empty 'state: invalid JSON'
	raw '{"ociVersion":"1.0.2","id":"hostile-1","status":"creat'
	hook state-truncated 'state: invalid JSON'
	raw '{"id":"a","status":"creating","bundle":"/b"} {}'
	hook state-trailing-garbage 'state: invalid JSON'
	raw '[]'
	hook state-top-level-array 'not an object'
	raw 'null'
	hook state-top-level-null 'state: '
	state '.' && printf '\0' >>"$T/in"
	hook state-nul-byte 'NUL'
	raw '{"id":"hostile-1","status":"creating","bundle":"/b\xff\xfe"}'
	hook state-invalid-utf8 'UTF-8'
	raw '{"id":"hostile-1","status":"creating","bundle":"/b\\ud800"}'
	hook state-lone-surrogate 'state: invalid JSON'
	raw '{"id":"hostile-1","id":"other","status":"creating","bundle":"/b"}'
	hook state-duplicate-key 'duplicate'
	{ repeat 100000 '['; } >"$T/in"
	hook state-deep-nesting-100000 'state: invalid JSON'
	printf '{"id":"hostile-1","status":"creating","bundle":"/b","x":%s%s}' \
		"$(repeat 3000 '[')" "$(repeat 3000 ']')" >"$T/in"
	hook state-deep-nesting-in-unknown-field 'state: invalid JSON'
	big=$(head -c $((1100 * 1024)) /dev/zero | tr '\0' 'a')
	printf '{"id":"hostile-1","status":"creating","bundle":"/b","pad":"%s"}' "$big" >"$T/in"
	hook state-over-1MiB 'state: document is more than the 1048576 bytes allowed'

	# The id: it becomes a path.
	state '.id = "../x"'
	hook id-dotdot-slash '/id'
	state '.id = "a/b"'
	hook id-slash '/id'
	state '.id = "."'
	hook id-dot '/id'
	state '.id = ".."'
	hook id-dotdot '/id'
	state '.id = $id' --arg id "$(repeat 5000 a)"
	hook id-5000-bytes '/id'
	state '.id = ""'
	hook id-empty '/id'
	state '.id = "-rf"'
	hook id-leading-dash '/id'
	state '.id = "a\nb"'
	hook id-newline '/id'
	state '.id = "caf\u00e9"'
	hook id-non-ascii '/id'
	state '.id = "a\u0000b"'
	hook id-escaped-nul 'u0000'
	state '.id = 42'
	hook id-number '/id'
	state '.id = null'
	hook id-null '/id'
	state 'del(.id)'
	hook id-missing '/id'
	state '.id = ["a"]'
	hook id-array '/id'

	# The pid: it picks the cgroup.
	state '.pid = "12"'
	hook pid-string '/pid'
	state '.pid = -1'
	hook pid-negative '/pid'
	state '.pid = 2147483648'
	hook pid-over-int-max '/pid'
	raw '{"id":"hostile-1","status":"creating","bundle":"/b","pid":99999999999999999999999}'
	hook pid-huge-integer 'too big integer'
	state '.pid = 1e30'
	hook pid-huge-real '/pid'
	printf '{"id":"hostile-1","status":"creating","bundle":"%s","pid":%s.0}' \
		"$T/bundle" "$SLEEPER" >"$T/in"
	hook pid-real '/pid'
	state '.pid = null'
	hook pid-null '/pid'
	state 'del(.pid)'
	hook pid-missing '/pid'
	state '.pid = 0'
	hook pid-zero '/pid'
	state ".pid = $NOPID"
	hook pid-does-not-exist "pid $NOPID"
	state '.pid = 1'
	hook pid-1-root-cgroup 'root cgroup'

	# Other fields of the state.
	state 'del(.status)'
	hook status-missing '/status'
	state '.status = 7'
	hook status-number '/status'
	state 'del(.bundle)'
	hook bundle-missing '/bundle'
	state '.bundle = false'
	hook bundle-bool '/bundle'
	state '.bundle = "relative/dir"'
	hook bundle-relative 'bundle'
	state ".bundle = \"$T/no-such-bundle\""
	hook bundle-missing-dir 'config.json'
	b=$(bundle invalid '{"process": ')
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-invalid-json 'config.json'
	b=$(bundle linux-number '{"linux": 1}')
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-linux-number '/linux'
	b=$(bundle ns-type '{"linux": {"namespaces": [{"type": 3}]}}')
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-namespace-type '/linux/namespaces/0/type'
	b=$(bundle caps-string '{"process": {"capabilities": {"bounding": "CAP_BPF"}}}')
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-caps-string '/process/capabilities/bounding'
	b=$(bundle all-caps '{"linux": {"namespaces": [{"type": "network"}]}}')
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-all-capabilities 'CAP_SYS_ADMIN'
	b=$T/in.d/bundle-fifo
	mkdir -p "$b" && mkfifo "$b/config.json"
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-fifo 'regular file'
	b=$T/in.d/bundle-devzero
	mkdir -p "$b" && ln -sf /dev/zero "$b/config.json"
	state '.bundle = $b' --arg b "$b"
	hook bundle-config-symlink-dev-zero 'regular file'
	b=$T/in.d/bundle-huge-policy
	mkdir -p "$b"
	{
		printf '{"process":{"capabilities":{"bounding":[]}},"annotations":{"io.netfence.policy":'
		printf '"{\\"version\\":1,\\"default\\":\\"deny\\",\\"rules\\":[],\\"x\\":\\"'
		head -c $((2100 * 1024)) /dev/zero | tr '\0' x
		printf '\\"}"}}'
	} >"$b/config.json"
	state '.bundle = $b | del(.annotations)' --arg b "$b"
	hook bundle-annotation-policy-2MiB 'io.netfence.policy: /: document is'

	# Annotations and the policies they carry.
	state '.annotations = ["io.netfence.policy"]'
	hook annotations-array '/annotations'
	state '.annotations = {"io.netfence.policy": 1}'
	hook annotation-policy-number '/annotations/io.netfence.policy'
	state '.annotations["io.netfence.policy-name"] = "good"'
	hook annotations-both 'both io.netfence.policy and io.netfence.policy-name'
	state '.annotations = {"io.netfence.policy-name": "../../etc/passwd"}'
	hook policy-name-dotdot 'io.netfence.policy-name'
	state '.annotations = {"io.netfence.policy-name": "/etc/passwd"}'
	hook policy-name-absolute 'io.netfence.policy-name'
	state '.annotations = {"io.netfence.policy-name": $n}' --arg n "$(repeat 64 a)"
	hook policy-name-64-chars 'io.netfence.policy-name'
	state '.annotations = {"io.netfence.policy-name": "Web"}'
	hook policy-name-uppercase 'io.netfence.policy-name'
	state '.annotations = {"io.netfence.policy-name": "absent"}'
	hook policy-name-no-such-file 'io.netfence.policy-name'
	mkfifo "$T/policies/fifo.json"
	state '.annotations = {"io.netfence.policy-name": "fifo"}'
	hook policy-name-fifo 'io.netfence.policy-name'
	rm -f "$T/policies/fifo.json"
	state '.annotations = {"io.netfence.policy": "{\"version\":1,"}'
	hook annotation-policy-truncated 'io.netfence.policy: invalid JSON'
	state '.annotations = {"io.netfence.policy": "{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":\"10.0.0.0/33\"}]}"}'
	hook annotation-policy-cidr-33 'io.netfence.policy: /rules/0/cidr'
	state '.annotations = {"io.netfence.policy": "{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":\"any\",\"ports\":[70000]}]}"}'
	hook annotation-policy-port-70000 'io.netfence.policy: /rules/0/ports/0'
	state '.annotations = {"io.netfence.policy": $p}' --arg p "$(repeat 5000 '[')"
	hook annotation-policy-deep-nesting 'io.netfence.policy: invalid JSON'

	# Poststop (detach) with hostile ids: nothing outside the store may go.
	for name in dotdot-slash:../canary dotdot:.. dot:. slash:canary/file; do
		jq -cn --arg id "${name#*:}" '{id: $id, status: "stopped", bundle: "/"}' >"$T/in"
		selected "poststop-id-${name%%:*}" &&
			run_case "poststop-id-${name%%:*}" 1 '/id' "${NF[@]}" hook poststop
	done

	# Poststop reads a state's long strings (the policy) on the way without keeping them: their
	# content is still checked, and the size limit still holds.
	long_state 70000 '\\q"}}'
	selected poststop-long-string-bad-escape &&
		run_case poststop-long-string-bad-escape 1 'state: invalid JSON' "${NF[@]}" hook poststop
	long_state 70000 '\001"}}'
	selected poststop-long-string-control-byte &&
		run_case poststop-long-string-control-byte 1 'byte 70074' "${NF[@]}" hook poststop
	long_state $((1100 * 1024)) '"}}'
	selected poststop-state-over-1MiB &&
		run_case poststop-state-over-1MiB 1 'state: document is more than' "${NF[@]}" hook poststop
	long_state 70000 '"},"id":"other"}'
	selected poststop-duplicate-id-after-long-string &&
		run_case poststop-duplicate-id-after-long-string 1 'duplicate' "${NF[@]}" hook poststop

	# A stage nobody knows.
	state '.'
	selected hook-unknown-stage &&
		run_case hook-unknown-stage 1 "stage 'bogus'" "${NF[@]}" hook bogus
	state '.status = "paused"'
	selected hook-unknown-status &&
		run_case hook-unknown-status 1 "stage 'paused'" "${NF[@]}" hook

	# The stage table: after the container's process started it is too late to attach,
	# whatever fail_mode says (one line naming the stages that attach; nothing attached).
	state '.'
	selected hook-stage-poststart &&
		run_case hook-stage-poststart 1 \
			"hook stage 'poststart' is too late to attach: the container's process already runs and may have connected; run netfence hook at createRuntime or prestart" \
			"${NF[@]}" hook poststart
	state '.status = "running"'
	selected hook-status-running &&
		run_case hook-status-running 1 \
			"state: /status 'running' is too late to attach" "${NF[@]}" hook
	jq '.fail_mode = "open"' "$T/config.json" >"$T/in.d/config-open.json"
	state '.'
	selected hook-stage-poststart-fail-open &&
		run_case hook-stage-poststart-fail-open 1 \
			"fail_mode open does not start it unfenced" "$NETFENCE" \
			--config "$T/in.d/config-open.json" --bpffs-root "$T/bpffs" \
			--state-dir "$T/state" hook poststart
}

policy_cases()
{
	local rules

	raw ''
	policy policy-empty 'invalid JSON'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow"'
	policy policy-truncated 'invalid JSON'
	raw '{"version":1,"default":"deny","rules":[]}}'
	policy policy-trailing-garbage 'invalid JSON'
	raw '42'
	policy policy-number-document '/: expected an object'
	raw 'null'
	policy policy-null-document '/: expected an object'
	raw '{"version":"1","default":"deny","rules":[]}'
	policy policy-version-string '/version'
	raw '{"version":2,"default":"deny","rules":[]}'
	policy policy-version-2 '/version'
	raw '{"version":1,"default":null,"rules":[]}'
	policy policy-default-null '/default'
	raw '{"version":1,"default":"deny","mode":"block","rules":[]}'
	policy policy-mode-unknown '/mode'
	raw '{"version":1,"default":"deny","loopback":"deny","rules":[]}'
	policy policy-loopback-deny '/loopback'
	raw '{"version":1,"default":"deny","raw_sockets":true,"rules":[]}'
	policy policy-raw-sockets-bool '/raw_sockets'
	raw '{"version":1,"default":"deny","rules":{}}'
	policy policy-rules-object '/rules'
	raw '{"version":1,"default":"deny","rules":[null]}'
	policy policy-rule-null '/rules/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"permit","cidr":"any"}]}'
	policy policy-action-unknown '/rules/0/action'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.0/33"}]}'
	policy policy-cidr-33 '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.1/8"}]}'
	policy policy-cidr-host-bits '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"::1/129"}]}'
	policy policy-cidr6-129 '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"1:2:3:4:5:6:7:8:9/128"}]}'
	policy policy-cidr6-nine-groups '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"256.0.0.0/8"}]}'
	policy policy-cidr-octet-256 '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.0/08"}]}'
	policy policy-cidr-leading-zero-length '/rules/0/cidr'
	printf '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.0/%s"}]}' \
		"$(repeat 10000 8)" >"$T/in"
	policy policy-cidr-overlong '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":10}]}'
	policy policy-cidr-number '/rules/0/cidr'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[70000]}]}'
	policy policy-port-70000 '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[-1]}]}'
	policy policy-port-negative '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":["9-1"]}]}'
	policy policy-port-range-reversed '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":["1-65536"]}]}'
	policy policy-port-range-65536 '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[4294967297]}]}'
	policy policy-port-wraps-uint32 '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[99999999999999999999999]}]}'
	policy policy-port-huge-integer 'too big integer'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[1e400]}]}'
	policy policy-port-real-overflow 'real number overflow'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[443.0]}]}'
	policy policy-port-real '/rules/0/ports/0'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[]}]}'
	policy policy-ports-empty '/rules/0/ports'
	printf '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","ports":[%s1]}]}' \
		"$(repeat 1024 '1,')" >"$T/in"
	policy policy-ports-1025 '/rules/0/ports'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","protocol":"icmp"}]}'
	policy policy-protocol-unknown '/rules/0/protocol'
	raw '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"any","prot":"tcp"}]}'
	policy policy-rule-unknown-field "/rules/0: unknown field 'prot'"
	raw '{"version":1,"default":"deny","default":"allow","rules":[]}'
	policy policy-duplicate-key 'duplicate'
	rules=$(repeat 16384 '{"action":"deny","cidr":"10.0.0.0/8"},')
	printf '{"version":1,"default":"deny","rules":[%s{"action":"deny","cidr":"any"}]}' \
		"$rules" >"$T/in"
	policy policy-16385-rules '/rules'
	{
		printf '{"version":1,"default":"deny","rules":[]'
		head -c $((1024 * 1024)) /dev/zero | tr '\0' ' '
		printf '}'
	} >"$T/in"
	policy policy-over-1MiB 'more than'
	{ repeat 100000 '['; } >"$T/in"
	policy policy-deep-nesting-100000 'invalid JSON'
	raw '{"version":1,"default":"deny","rules":[]}\0'
	policy policy-nul-byte 'NUL'
	raw '{"version":1,"default":"deny","rules":[],"x\\u0000":1}'
	policy policy-escaped-nul-key 'u0000'
	raw '{"version":1,"default":"d\xc3\x28ny","rules":[]}'
	policy policy-invalid-utf8 'unable to decode byte 0xc3'
	raw '\xef\xbb\xbf{"version":1,"default":"deny","rules":[]}'
	policy policy-utf8-bom 'invalid JSON'
}

config_cases()
{
	config config-invalid-json 'invalid JSON' "$(cfgfile invalid '{"fail_mode": ')"
	config config-not-object 'not an object' "$(cfgfile array '[]')"
	config config-fail-mode-unknown '/fail_mode' "$(cfgfile fail '{"fail_mode": "shut"}')"
	config config-fail-mode-null '/fail_mode' "$(cfgfile failnull '{"fail_mode": null}')"
	config config-bpffs-root-relative '/bpffs_root' "$(cfgfile rel '{"bpffs_root": "bpf"}')"
	config config-state-dir-dotdot '/state_dir' \
		"$(cfgfile dotdot '{"state_dir": "/run/../etc"}')"
	config config-policies-dir-control-char '/policies_dir' \
		"$(cfgfile ctl '{"policies_dir": "/etc/x\u001b[31m"}')"
	config config-default-policy-dotdot '/default_policy' \
		"$(cfgfile defp '{"default_policy": "../x"}')"
	config config-log-level-number '/log_level' "$(cfgfile loglvl '{"log_level": 3}')"
	config config-events-rate-huge '/events/rate_per_sec' \
		"$(cfgfile rate '{"events": {"rate_per_sec": 1e20}}')"
	config config-unknown-field '/bogus' "$(cfgfile unknown '{"bogus": true}')"
	config config-duplicate-key 'duplicate' \
		"$(cfgfile dup '{"fail_mode": "open", "fail_mode": "closed"}')"
	config config-over-64KiB 'more than' \
		"$(cfgfile big "{\"\$schema\": \"$(repeat 70000 x)\"}")"
	config config-missing-file 'config' "$T/in.d/no-such-config.json"
	mkdir -p "$T/in.d/config-dir.json"
	config config-directory 'Is a directory' "$T/in.d/config-dir.json"
	mkfifo "$T/in.d/config-fifo.json"
	config config-fifo 'regular file' "$T/in.d/config-fifo.json"
}

# Command-line values: usage errors (exit 2), still one line and nothing attached.
args_cases()
{
	local name
	printf '%s' "$GOOD_POLICY" >"$T/in"
	for name in dotdot:../x slash:a/b dot:. dotdot2:.. long:"$(repeat 5000 a)"; do
		selected "args-id-${name%%:*}" || continue
		run_case "args-id-${name%%:*}" 2 "is not a valid container id" "${NF[@]}" attach \
			--id "${name#*:}" --cgroup "$CG" --policy -
	done
	for name in dotdot-slash:../canary slash:canary/file; do
		selected "args-detach-id-${name%%:*}" || continue
		run_case "args-detach-id-${name%%:*}" 2 "is not a valid container id" "${NF[@]}" \
			detach "${name#*:}"
	done
	selected args-cgroup-not-cgroup2 &&
		run_case args-cgroup-not-cgroup2 1 "$T" "${NF[@]}" attach --id hostile-a \
			--cgroup "$T" --policy -
	selected args-cgroup-missing &&
		run_case args-cgroup-missing 1 "$CG/nope" "${NF[@]}" attach --id hostile-a \
			--cgroup "$CG/nope" --policy -
	selected args-policy-dev-zero &&
		run_case args-policy-dev-zero 1 "more than" "${NF[@]}" attach --id hostile-a \
			--cgroup "$CG" --policy /dev/zero
	option_cases
	prefix_cases
}

# Options a command does not take are refused, not ignored; --json where nothing is printed.
option_cases()
{
	local row name want cmd
	table_rows "
	detach-policy-count | detach does not take --policy | detach --policy x --count 3 hostile-x
	attach-json | attach does not take --json | --json attach --id hostile-a --cgroup $CG --policy -
	hook-id | hook does not take --id | hook createRuntime --id hostile-a
	update-cgroup | update does not take --cgroup | update hostile-x --cgroup $CG --policy -
	metrics-json | metrics does not take --json | metrics --json
	list-count | list does not take --count | list --count 1
	monitor-listen | monitor does not take --listen | monitor --listen 127.0.0.1:1
	monitor-verdict | 'allowed' is not denied or audited | monitor --verdict allowed
	monitor-since | is not a duration | monitor --since yesterday
	unknown-option | unknown option '--bogus' | list --bogus
	list-argument | list takes no argument | list extra
	help-unknown | help: unknown command 'bogus' | help bogus
	"
	for row in "${TABLE_ROWS[@]}"; do
		IFS='|' read -r name want cmd <<<"$row"
		name=args-refused-$name
		selected "$name" || continue
		# shellcheck disable=SC2086 # the command line is split on purpose
		run_case "$name" 2 "$want" "${NF[@]}" $cmd
	done
}

# show, detach and update take a unique prefix of an id; an ambiguous one is refused, naming the
# candidates. Two containers recorded as running unfenced stand for two fences.
prefix_cases()
{
	local rec name=args-prefix-unique got
	for rec in hostile-pfx-aa1 hostile-pfx-ab2; do
		printf '{"id":"%s","cgroup":"","cgroup_id":0,"mode":"unfenced","source":"","attached_at":"2026-01-01T00:00:00Z","removable":false,"own_netns":false,"unfenced":true,"unfenced_reason":"test"}' \
			"$rec" >"$T/state/$rec.open"
	done
	selected args-prefix-ambiguous-show &&
		run_case args-prefix-ambiguous-show 1 \
			"id prefix 'hostile-pfx-a' names 2 fences: hostile-pfx-aa1, hostile-pfx-ab2" \
			"${NF[@]}" show hostile-pfx-a
	selected args-prefix-ambiguous-detach &&
		run_case args-prefix-ambiguous-detach 1 "names 2 fences" "${NF[@]}" detach hostile-pfx-a
	if selected "$name"; then
		[ -e "$T/state/hostile-pfx-aa1.open" ] && [ -e "$T/state/hostile-pfx-ab2.open" ] ||
			fail "an ambiguous detach removed a record"
		got=$("${NF[@]}" show hostile-pfx-ab --json 2>&1 | jq -r .id 2>&1)
		[ "$got" = hostile-pfx-ab2 ] || fail "show hostile-pfx-ab: $(flat "$got")"
		got=$("${NF[@]}" update hostile-pfx-aa --policy - <"$T/in" 2>&1)
		[[ $got == *"container 'hostile-pfx-aa1': not fenced"* ]] ||
			fail "update hostile-pfx-aa: $(flat "$got")"
		"${NF[@]}" detach hostile-pfx-ab >/dev/null 2>&1 || fail "detach hostile-pfx-ab failed"
		[ ! -e "$T/state/hostile-pfx-ab2.open" ] && [ -e "$T/state/hostile-pfx-aa1.open" ] ||
			fail "detach hostile-pfx-ab: $(flat "$(ls "$T/state")")"
		case_end "$name"
	fi
	rm -f "$T/state"/hostile-pfx-*
}

main()
{
	check_prereqs
	setup
	control_hook
	control_policy
	hook_cases
	policy_cases
	config_cases
	args_cases
	test_summary
}

main "$@"
