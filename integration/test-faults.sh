#!/bin/bash
# Concurrency and faults, against the real kernel:
#
#   parallel-*  64 cgroups attached at once (background jobs), each with its own policy: cgroup
#               i may reach TCP 127.0.0.1:(PORT_BASE+i) and any port of 127.0.1.i, nothing
#               else. Each must give exactly its own verdicts (its port and address allowed,
#               its neighbour's denied); then all 64 are detached at once and nothing is left.
#   sigkill     netfence attach re-attaching a new policy over the one in force, killed with
#               SIGKILL after a random delay, until FT_TRIALS (default 200) kills have landed
#               before the attach finished. Policy A allows
#               TCP port KA, policy B port KB, both deny KD; the trials alternate A→B, B→A.
#               Right after each kill, checked:
#                 - never unfenced: a connect to KD is EPERM, and every program of a fence
#                   (connect4/6, sendmsg4/6, sock_create, ...: learnt from a scratch attach
#                   at setup) is still on the cgroup;
#                 - old or new, never none: (KA, KB) gives A's verdicts (allowed, denied), B's
#                   (denied, allowed), or (denied, denied) while both fences are attached
#                   (their intersection, the window in which the new programs are in place
#                   and the old ones not yet released); (allowed, allowed) fails the trial;
#               every tenth trial a detach then removes everything (both fences, every pin
#               slot, the state), five trials later a gc leaves the live fence alone;
#               then the same attach is run again to completion and must succeed, leave
#               exactly one fence (its programs once each in `bpftool cgroup show`, no @new or
#               @old pin slot), give exactly the target policy's verdicts and a state file
#               holding that policy.
#   gc-*        `netfence gc` reaps fences whose cgroup was removed (or removed and created
#               again under the same name), leaves a live one alone (pins, state, programs and
#               verdicts), and every hook run does the same.
#   caps-*      least privilege: attach/detach and the hook work under capsh with exactly
#               CAP_BPF and CAP_NET_ADMIN; with no capabilities, or CAP_BPF alone, they fail
#               with exit 1 and one line naming the missing capability, attaching nothing;
#               a running netfence holds nothing but those two, in every set.
#
# Every case prints PASS/FAIL; the last line is "N passed, N failed". Needs root, cgroup v2,
# bpftool, jq, capsh and a C compiler with a static libc; exits 77 with the reason otherwise.
# Environment: NETFENCE (default ./netfence), CC (default cc), FT_TRIALS (default 200),
# FT_KILL_MAX_MS (longest delay before the SIGKILL; default: a little more than the median of
# five re-attaches, measured first, so that the kills spread over a whole attach, typically
# 10-40 ms), CASES=REGEX, FT_KEEP=1. Trials continue
# until FT_TRIALS kills have landed during an attach (a kill after the attach finished proves
# nothing), at most 4 * FT_TRIALS trials.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
CC=${CC:-cc}
FT_TRIALS=${FT_TRIALS:-200}
FT_KILL_MAX_MS=${FT_KILL_MAX_MS:-}
FLAT_WIDTH=400
ERRS_MAX_LINES=40
NPAR=64
PORT_BASE=20000
KA=30001 # allowed by policy A only
KB=30002 # allowed by policy B only
KD=30003 # denied by both

# T, CG2, NF: see lib-kernel.sh. CG ($CG2/netfence-faults-$$) is the test's parent cgroup;
# every test cgroup is under it.
CLIENT=""
BG_PIDS=""
FENCE_PROGS="" # attach_type:name of each program of one fence
FENCE_N=0

check_prereqs()
{
	need_root
	need_commands bpftool jq capsh python3 "$CC" mount umount awk timeout
	need_cgroup2
	need_netfence
	case ${FT_TRIALS}${FT_KILL_MAX_MS:-0} in
	*[!0-9]*) skip "FT_TRIALS and FT_KILL_MAX_MS must be numbers" ;;
	esac
}

# Remove a cgroup tree, deepest first, killing what still runs in it.
remove_cgroup_tree()
{
	local dir pid
	[ -d "$1" ] || return 0
	while read -r dir; do
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null
		done <"$dir/cgroup.procs"
	done < <(find "$1" -depth -mindepth 0 -type d)
	sleep 0.2
	find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ ! -d "$1" ] || echo "warning: could not remove cgroup $1" >&2
}

# Called by the EXIT trap (lib-kernel.sh's on_exit).
cleanup()
{
	local pid
	for pid in $BG_PIDS; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	unmount_bpffs
	[ -n "$CG" ] && remove_cgroup_tree "$CG"
	remove_tmp "${FT_KEEP:-0}"
}

setup()
{
	make_tmp faults
	mkdir -p "$T/bpffs" "$T/state" "$T/pol" "$T/out" "$T/bundle" || exit 1
	mount_bpffs
	write_config pol
	jq -n '{ociVersion: "1.0.2", process: {capabilities: {bounding: ["CAP_CHOWN"]}},
		linux: {namespaces: [{type: "pid"}, {type: "network"}]}}' >"$T/bundle/config.json"
	copy_netfence
	build_client ""
	CG=$CG2/netfence-faults-$$
	mkdir "$CG" || skip "cannot create a cgroup under $CG2"
	discover_fence
}

# --- helpers -------------------------------------------------------------------------------

# probe CGROUP ADDR PORT: a TCP connect from inside CGROUP; prints EPERM (denied) or
# ECONNREFUSED (allowed: nothing listens there).
probe()
{
	sh -c 'echo $$ >"$1/cgroup.procs" && exec timeout 10 "$2" tcp "$3" "$4"' sh \
		"$1" "$CLIENT" "$2" "$3" 2>&1
}

# verdict CGROUP ADDR PORT: "allow", "deny" or what else the client said.
verdict()
{
	local out
	out=$(probe "$@")
	case $out in
	ECONNREFUSED) echo allow ;;
	EPERM) echo deny ;;
	*) echo "?$out" ;;
	esac
}

# Every program of a fence (FENCE_PROGS) is on the cgroup: prints the ones that are missing.
missing_hooks()
{
	local progs t
	progs=$(cg_prog_lines "$1")
	for t in $FENCE_PROGS; do
		grep -qx "$t" <<<"$progs" || printf '%s ' "$t"
	done
}

# What one fence puts on a cgroup, learnt from a scratch attach: FENCE_PROGS (attach_type:name
# lines) and FENCE_N. connect4/6, sendmsg4/6 and sock_create must be among them.
discover_fence()
{
	local out t
	echo '{"version":1,"default":"deny","loopback":"policy","rules":[]}' >"$T/pol/deny.json"
	mkdir "$CG/scratch" || skip "cannot create $CG/scratch"
	# A valid attach that fails is netfence's failure, not a missing prerequisite.
	if ! out=$("${NF[@]}" attach --id scratch --cgroup "$CG/scratch" --policy "$T/pol/deny.json" 2>&1); then
		fail "a valid attach failed: $out"
		case_end attach-works
		test_summary
		exit 1
	fi
	FENCE_PROGS=$(cg_prog_lines "$CG/scratch" | sort)
	FENCE_N=$(cg_count "$CG/scratch")
	"${NF[@]}" detach scratch >/dev/null 2>&1
	rmdir "$CG/scratch"
	for t in nf_connect4 nf_connect6 nf_sendmsg4 nf_sendmsg6 nf_sock_create; do
		grep -q ":$t\$" <<<"$FENCE_PROGS" ||
			echo "warning: a fence has no $t program: $(flat "$FENCE_PROGS")" >&2
	done
	echo "    a fence is $FENCE_N programs: $(flat "$FENCE_PROGS")"
}

pins_left()
{
	find "$T/bpffs" -mindepth 1 -maxdepth 1 ! -name progs.debug ! -name maps.debug \
		${1:+! -name @programs}
}

state_left()
{
	find "$T/state" -mindepth 1 -name '*.json'
}

# now_ms VAR: the time in milliseconds into VAR, without a fork (a fork costs several ms on a
# busy VM, which would shift the kill delays below against the attaches they are measured by).
now_ms()
{
	local us=${EPOCHREALTIME/[.,]/}
	printf -v "$1" '%s' $((us / 1000))
}

# --- (a) 64 fences in parallel -------------------------------------------------------------

# Policy i: TCP to 127.0.0.1:(PORT_BASE+i), and anything to 127.0.1.i.
write_parallel_policies()
{
	local i
	for ((i = 0; i < NPAR; i++)); do
		cat >"$T/pol/par$i.json" <<EOF
{"version":1,"default":"deny","loopback":"policy","rules":[
 {"action":"allow","cidr":"127.0.0.1/32","protocol":"tcp","ports":[$((PORT_BASE + i))]},
 {"action":"allow","cidr":"127.0.1.$i/32"}]}
EOF
		mkdir -p "$CG/par$i" || return 1
	done
}

test_parallel()
{
	local i j pids=() rc n got want wv wa wp
	selected parallel || return 0
	write_parallel_policies || { fail "cannot create the cgroups"; case_end parallel-attach; return; }
	for ((i = 0; i < NPAR; i++)); do
		"${NF[@]}" attach --id "par-$i" --cgroup "$CG/par$i" --policy "$T/pol/par$i.json" \
			>"$T/out/attach$i" 2>&1 &
		pids[i]=$!
	done
	for ((i = 0; i < NPAR; i++)); do
		wait "${pids[i]}"
		rc=$?
		[ "$rc" -eq 0 ] || fail "attach par-$i: exit $rc: $(flat "$(cat "$T/out/attach$i")")"
	done
	n=$("${NF[@]}" list --json 2>/dev/null | jq 'length')
	[ "$n" = "$NPAR" ] || fail "list --json has $n fences, expected $NPAR"
	for ((i = 0; i < NPAR; i++)); do
		n=$(cg_count "$CG/par$i")
		[ "$n" -eq "$FENCE_N" ] || fail "par$i: $n programs attached, expected $FENCE_N"
	done
	case_end parallel-attach-64

	# Each cgroup: its own port and address allowed, its neighbour's denied.
	for ((i = 0; i < NPAR; i++)); do
		j=$(((i + 1) % NPAR))
		for want in "allow 127.0.0.1 $((PORT_BASE + i))" "deny 127.0.0.1 $((PORT_BASE + j))" \
			"allow 127.0.1.$i 80" "deny 127.0.1.$j 80" "deny 127.0.0.2 $((PORT_BASE + i))"; do
			read -r wv wa wp <<<"$want"
			got=$(verdict "$CG/par$i" "$wa" "$wp")
			[ "$got" = "$wv" ] || fail "par$i: $wa:$wp gave $got, expected $wv"
		done
	done
	case_end "parallel-verdicts-64x5"

	for ((i = 0; i < NPAR; i++)); do
		"${NF[@]}" detach "par-$i" >"$T/out/detach$i" 2>&1 &
		pids[i]=$!
	done
	for ((i = 0; i < NPAR; i++)); do
		wait "${pids[i]}"
		rc=$?
		[ "$rc" -eq 0 ] || fail "detach par-$i: exit $rc: $(flat "$(cat "$T/out/detach$i")")"
	done
	for ((i = 0; i < NPAR; i++)); do
		n=$(cg_count "$CG/par$i")
		[ "$n" -eq 0 ] || fail "par$i: $n programs still attached after detach"
		got=$(verdict "$CG/par$i" 127.0.0.2 80)
		[ "$got" = allow ] || fail "par$i: still fenced after detach ($got)"
	done
	[ -z "$(pins_left)" ] || fail "pins left: $(flat "$(pins_left)")"
	[ -z "$(state_left)" ] || fail "state left: $(flat "$(state_left)")"
	n=$("${NF[@]}" list --json 2>/dev/null | jq 'length')
	[ "$n" = 0 ] || fail "list --json has $n fences after detaching all"
	for ((i = 0; i < NPAR; i++)); do
		rmdir "$CG/par$i" || fail "cannot remove $CG/par$i"
	done
	case_end parallel-detach-64
}

# --- (b) SIGKILL during a re-attach --------------------------------------------------------

write_kill_policies()
{
	local p
	for p in A:$KA B:$KB; do
		cat >"$T/pol/kill${p%%:*}.json" <<EOF
{"version":1,"default":"deny","loopback":"policy","rules":[
 {"action":"allow","cidr":"127.0.0.1/32","protocol":"tcp","ports":[${p#*:}]},
 {"action":"allow","cidr":"::1/128","protocol":"tcp","ports":[${p#*:}]}]}
EOF
	done
}

# The fence on $KCG after a completed attach of policy P (A or B): exactly its verdicts,
# exactly one fence.
check_settled()
{
	local p=$1 trial=$2 a b d n slots port want progs again
	a=$(verdict "$KCG" 127.0.0.1 "$KA")
	b=$(verdict "$KCG" 127.0.0.1 "$KB")
	d=$(verdict "$KCG" 127.0.0.1 "$KD")
	want=$([ "$p" = A ] && echo allow/deny/deny || echo deny/allow/deny)
	if [ "$a/$b/$d" != "$want" ]; then
		# The replaced fence's links are detached before the attach returns: no later state
		# to wait for.
		progs=$(cg_prog_lines "$KCG" | tr '\n' ' ')
		fail "trial $trial: right after the re-run with $p: $a/$b/$d, expected $want" \
			"(programs: $progs)"
	fi
	n=$(cg_count "$KCG")
	[ "$n" -eq "$FENCE_N" ] ||
		fail "trial $trial: $n programs after re-run, expected $FENCE_N: $(flat "$(cg_prog_lines "$KCG")")"
	# (The fence's program set, @programs, is shared and outlives a trial.)
	slots=$(pins_left fences-only | sed 's|.*/||' | tr '\n' ' ')
	[ "$slots" = "kill " ] || fail "trial $trial: pin slots after re-run: '$slots'"
	port=$("${NF[@]}" show kill --json 2>/dev/null | jq -c '.policy.rules[0].ports[0]')
	[ "$port" = "$([ "$p" = A ] && echo "$KA" || echo "$KB")" ] ||
		fail "trial $trial: state file holds port $port after re-run with $p"
}

test_sigkill()
{
	local name=sigkill-reattach trial=0 pid rc delay max t0 t1 from to a b d miss
	local mid=0 done_before=0 inter=0 olds=0 news=0 out times='' median i timeout
	selected sigkill || return 0
	write_kill_policies
	mkfifo "$T/never" && exec 9<>"$T/never" || { fail "cannot open a FIFO"; case_end "$name"; return; }
	KCG=$CG/kill
	mkdir "$KCG" || { fail "cannot create $KCG"; case_end "$name"; return; }
	out=$("${NF[@]}" attach --id kill --cgroup "$KCG" --policy "$T/pol/killA.json" 2>&1) ||
		{ fail "first attach failed: $out"; case_end "$name"; return; }
	# How long a re-attach takes, so that the kills spread over all of it. A and B take turns,
	# as in the trials: a replaced fence's program set goes with it, so each re-attach loads
	# its policy's programs (killing it while they are pinned for sharing is covered too).
	for i in B A B A B A; do
		now_ms t0
		"${NF[@]}" attach --id kill --cgroup "$KCG" --policy "$T/pol/kill$i.json" >/dev/null 2>&1
		now_ms t1
		times="$times $((t1 - t0))"
	done
	median=$(tr ' ' '\n' <<<"$times" | sed '/^$/d' | sort -n | sed -n 4p)
	# A little past the median, so that the end of an attach (the commit) is hit too.
	max=${FT_KILL_MAX_MS:-$((median + median / 4 + 1))}
	echo "    a re-attach takes$times ms; SIGKILL after a random 0..$max ms" \
		"until $FT_TRIALS kills have landed mid-attach"
	from=A
	# Count the trials whose kill landed during the attach; give up after 4 times as many.
	while [ "$mid" -lt "$FT_TRIALS" ] && [ "$trial" -lt $((4 * FT_TRIALS)) ]; do
		trial=$((trial + 1))
		to=$([ "$from" = A ] && echo B || echo A)
		delay=$((RANDOM % (max + 1)))
		"${NF[@]}" attach --id kill --cgroup "$KCG" --policy "$T/pol/kill$to.json" \
			>/dev/null 2>&1 &
		pid=$!
		# A builtin sleep (read with a timeout on a FIFO nobody writes): no fork to delay it.
		printf -v timeout '%d.%03d' $((delay / 1000)) $((delay % 1000))
		read -r -t "$timeout" -u 9
		kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		if [ "$rc" -eq 137 ]; then
			mid=$((mid + 1))
		else
			done_before=$((done_before + 1))
			[ "$rc" -eq 0 ] || fail "trial $trial: attach exited $rc before the kill"
		fi
		# Never unfenced, never half: every hook keeps a program and KD stays denied.
		miss=$(missing_hooks "$KCG")
		[ -z "$miss" ] || fail "trial $trial (killed after ${delay} ms): hooks without a netfence program: $miss"
		d=$(verdict "$KCG" 127.0.0.1 "$KD")
		[ "$d" = deny ] || fail "trial $trial (killed after ${delay} ms): port $KD (denied by both) gave $d"
		a=$(verdict "$KCG" 127.0.0.1 "$KA")
		b=$(verdict "$KCG" 127.0.0.1 "$KB")
		case $a/$b in
		allow/deny) olds=$((olds + 1)) ;;
		deny/allow) news=$((news + 1)) ;;
		deny/deny) inter=$((inter + 1)) ;;
		*) fail "trial $trial (killed after ${delay} ms): $KA/$KB gave $a/$b: neither A nor B nor both" ;;
		esac
		# Every tenth trial: a detach after the kill removes both fences and every slot;
		# five trials later: a gc after the kill leaves the live cgroup's fence alone.
		if [ $((trial % 10)) -eq 0 ]; then
			out=$("${NF[@]}" detach kill 2>&1) || fail "trial $trial: detach after the kill: $out"
			[ "$(cg_count "$KCG")" -eq 0 ] ||
				fail "trial $trial: detach after the kill left $(cg_count "$KCG") programs"
			[ -z "$(pins_left)$(state_left)" ] ||
				fail "trial $trial: detach after the kill left $(flat "$(pins_left; state_left)")"
		elif [ $((trial % 10)) -eq 5 ]; then
			"${NF[@]}" gc >/dev/null 2>&1 || fail "trial $trial: gc after the kill failed"
			miss=$(missing_hooks "$KCG")
			[ -z "$miss" ] || fail "trial $trial: gc after the kill removed programs: $miss"
		fi
		# The re-run finishes the job.
		out=$("${NF[@]}" attach --id kill --cgroup "$KCG" --policy "$T/pol/kill$to.json" 2>&1) ||
			fail "trial $trial: re-run failed: $out"
		check_settled "$to" "$trial (killed after $delay ms, status $rc, then $a/$b)"
		from=$to
		# Stop early when it is clearly broken.
		[ "$(printf '%s' "$TEST_ERRS" | grep -c '')" -lt 60 ] || break
	done
	echo "    $trial trials: $mid killed mid-attach, $done_before finished first; right after" \
		"the kill: A's verdicts $olds, B's $news, both fences (intersection) $inter"
	"${NF[@]}" detach kill >/dev/null 2>&1 || fail "final detach failed"
	[ "$(cg_count "$KCG")" -eq 0 ] || fail "programs left after the final detach"
	[ -z "$(pins_left)$(state_left)" ] || fail "left after the final detach: $(flat "$(pins_left; state_left)")"
	rmdir "$KCG"
	exec 9>&-
	[ "$mid" -ge "$FT_TRIALS" ] ||
		fail "only $mid of $trial kills landed during an attach (wanted $FT_TRIALS)"
	case_end "$name-$FT_TRIALS"
}

# --- (c) gc --------------------------------------------------------------------------------

# hold_cgroup DIR: a process that opens a socket in DIR, then moves to $CG/holder: the socket
# keeps DIR's cgroup alive (dying) after rmdir, so the kernel does not release the fence's
# links, whose cgroup id stays that of the removed cgroup. Prints the holder's pid.
hold_cgroup()
{
	mkdir -p "$CG/holder"
	sh -c 'echo $$ >"$1/cgroup.procs" &&
		exec python3 -c "import socket, time; s = socket.socket(); print(\"ready\", flush=True); time.sleep(3600)"' \
		sh "$1" >"$T/out/holder" 2>&1 &
	local pid=$! i
	echo "$pid"
	# Moved before its socket exists, it would hold nothing: the case would not test what it
	# says. Python's start is the wait, bounded.
	for i in $(seq 100); do
		grep -q ready "$T/out/holder" && break
		sleep 0.1
	done
	grep -q ready "$T/out/holder" || return 1
	echo "$pid" >"$CG/holder/cgroup.procs"
}

test_gc()
{
	local name out live_sleeper n got holder i
	selected gc || return 0
	echo '{"version":1,"default":"deny","loopback":"policy","rules":[]}' >"$T/pol/deny.json"
	mkdir "$CG/gc-dead1" "$CG/gc-dead2" "$CG/gc-live" ||
		{ fail "cannot create cgroups"; case_end gc; return; }
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$CG/gc-live" &
	live_sleeper=$!
	BG_PIDS="$BG_PIDS $live_sleeper"
	for n in dead1 dead2 live; do
		out=$("${NF[@]}" attach --id "gc-$n" --cgroup "$CG/gc-$n" --policy "$T/pol/deny.json" 2>&1) ||
			fail "attach gc-$n: $out"
	done
	rmdir "$CG/gc-dead1" "$CG/gc-dead2" || fail "cannot remove the dead cgroups"
	out=$("${NF[@]}" gc --json 2>/dev/null)
	got=$(jq -r '.removed' <<<"$out" 2>/dev/null)
	[ "$got" = 2 ] || fail "gc --json: '$out', expected 2 removed"
	for n in dead1 dead2; do
		[ ! -e "$T/bpffs/gc-$n" ] || fail "pins of gc-$n left"
		[ ! -e "$T/state/gc-$n.json" ] || fail "state of gc-$n left"
	done
	[ -d "$T/bpffs/gc-live" ] || fail "gc removed the pins of the live gc-live"
	[ -e "$T/state/gc-live.json" ] || fail "gc removed the state of the live gc-live"
	[ -z "$(missing_hooks "$CG/gc-live")" ] || fail "gc-live lost programs: $(missing_hooks "$CG/gc-live")"
	got=$(verdict "$CG/gc-live" 127.0.0.1 80)
	[ "$got" = deny ] || fail "gc-live no longer fenced after gc: $got"
	got=$("${NF[@]}" list --json 2>/dev/null | jq -r '[.[].id] | join(",")')
	[ "$got" = gc-live ] || fail "list after gc: '$got'"
	case_end gc-removes-dead-keeps-live

	# A removed cgroup the kernel cannot free yet (a socket holds it): the directory is gone.
	selected gc-dying && {
		mkdir "$CG/gc-dying"
		out=$("${NF[@]}" attach --id gc-dying --cgroup "$CG/gc-dying" --policy "$T/pol/deny.json" 2>&1) ||
			fail "attach gc-dying: $out"
		holder=$(hold_cgroup "$CG/gc-dying") ||
			fail "the socket holding $CG/gc-dying was not made in 10 s"
		BG_PIDS="$BG_PIDS $holder"
		rmdir "$CG/gc-dying" || fail "cannot remove $CG/gc-dying"
		out=$("${NF[@]}" gc --json 2>/dev/null)
		[ "$(jq -r '.removed' <<<"$out" 2>/dev/null)" = 1 ] || fail "gc --json: '$out', expected 1"
		[ ! -e "$T/bpffs/gc-dying" ] && [ ! -e "$T/state/gc-dying.json" ] ||
			fail "gc-dying left behind"
		[ -d "$T/bpffs/gc-live" ] || fail "gc removed gc-live"
		kill "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
		case_end gc-dying-cgroup
	}

	# The same, and a new cgroup created under the old name (a restarted systemd unit, a
	# container re-created with its name): the fence's cgroup is gone although the path is
	# there; the state file's cgroup id tells them apart (hook/state.h).
	selected gc-reborn && {
		mkdir "$CG/gc-reborn"
		out=$("${NF[@]}" attach --id gc-reborn --cgroup "$CG/gc-reborn" --policy "$T/pol/deny.json" 2>&1) ||
			fail "attach gc-reborn: $out"
		holder=$(hold_cgroup "$CG/gc-reborn") ||
			fail "the socket holding $CG/gc-reborn was not made in 10 s"
		BG_PIDS="$BG_PIDS $holder"
		rmdir "$CG/gc-reborn" && mkdir "$CG/gc-reborn" || fail "cannot re-create $CG/gc-reborn"
		got=$("${NF[@]}" show gc-reborn 2>/dev/null | sed -n 's/^attached: *//p')
		[ "$got" != yes ] || fail "show gc-reborn says 'attached: yes' but $CG/gc-reborn is a new, unfenced cgroup"
		out=$("${NF[@]}" gc --json 2>/dev/null)
		[ "$(jq -r '.removed' <<<"$out" 2>/dev/null)" = 1 ] ||
			fail "gc --json: '$out', expected 1 (the fence of the removed cgroup)"
		[ ! -e "$T/bpffs/gc-reborn" ] && [ ! -e "$T/state/gc-reborn.json" ] ||
			fail "gc left the fence of the removed gc-reborn (pins or state)"
		[ "$(cg_count "$CG/gc-reborn")" -eq 0 ] || fail "the new $CG/gc-reborn has programs"
		[ -d "$T/bpffs/gc-live" ] || fail "gc removed gc-live"
		kill "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
		"${NF[@]}" detach gc-reborn >/dev/null 2>&1
		rmdir "$CG/gc-reborn"
		case_end gc-reborn-cgroup
	}

	# Every hook run reaps too (cheaply): here a poststop of an unknown id. A hook run judges
	# a fence by its links alone, which lose their cgroup once the kernel has released the
	# removed cgroup (asynchronously, after an RCU grace period and a workqueue run).
	mkdir "$CG/gc-dead3"
	out=$("${NF[@]}" attach --id gc-dead3 --cgroup "$CG/gc-dead3" --policy "$T/pol/deny.json" 2>&1) ||
		fail "attach gc-dead3: $out"
	rmdir "$CG/gc-dead3" || fail "cannot remove $CG/gc-dead3"
	for i in $(seq 20); do
		out=$(echo '{"ociVersion":"1.0.2","id":"unrelated","status":"stopped","bundle":"/"}' |
			"${NF[@]}" hook poststop 2>&1) || fail "hook poststop: $out"
		[ -e "$T/bpffs/gc-dead3" ] || break
		sleep 0.25
	done
	[ "$i" = 1 ] || echo "    note: a hook run reaped the fence of the removed cgroup on try $i"
	[ ! -e "$T/bpffs/gc-dead3" ] || fail "pins of gc-dead3 left after 20 hook runs in 5 s"
	[ ! -e "$T/state/gc-dead3.json" ] || fail "state of gc-dead3 left after a hook run"
	[ -d "$T/bpffs/gc-live" ] && [ -e "$T/state/gc-live.json" ] ||
		fail "a hook run removed the live gc-live"
	got=$(verdict "$CG/gc-live" 127.0.0.1 80)
	[ "$got" = deny ] || fail "gc-live no longer fenced after a hook run: $got"
	case_end gc-by-hook-run

	# A second gc finds nothing; then the live one goes the normal way.
	out=$("${NF[@]}" gc --json 2>/dev/null)
	[ "$(jq -r '.removed' <<<"$out" 2>/dev/null)" = 0 ] || fail "second gc: '$out'"
	[ -d "$T/bpffs/gc-live" ] || fail "second gc removed gc-live"
	"${NF[@]}" detach gc-live >/dev/null 2>&1 || fail "detach gc-live failed"
	kill "$live_sleeper" 2>/dev/null
	wait "$live_sleeper" 2>/dev/null
	rmdir "$CG/gc-live" || fail "cannot remove $CG/gc-live"
	[ -z "$(pins_left)$(state_left)" ] || fail "left: $(flat "$(pins_left; state_left)")"
	case_end gc-idempotent
}

# --- (d) least privilege ---------------------------------------------------------------------

# Bounding-set capabilities other than those given (comma-separated names for capsh --drop).
caps_except()
{
	capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' |
		grep -vxE "$(tr ',' '|' <<<"$1")" | paste -sd, -
}

# with_caps CAPS CMD...: run CMD as root holding exactly CAPS (e.g. "cap_bpf,cap_net_admin",
# or "" for none): the bounding set shrunk to CAPS, so the exec of a root process gets no more.
with_caps()
{
	local caps=$1 drop
	shift
	drop=$(caps_except "${caps:-none}")
	if [ -n "$caps" ]; then
		capsh --drop="$drop" --caps="$caps+eip" -- -c 'exec "$0" "$@"' "$@"
	else
		capsh --drop="$drop" --caps= -- -c 'exec "$0" "$@"' "$@"
	fi
}

# The CapEff of a process started by with_caps, as capsh decodes it.
caps_seen()
{
	with_caps "$1" sh -c 'grep ^CapEff /proc/self/status' | awk '{print $2}'
}

test_caps()
{
	local out rc sleeper eff state cap mon lines set want got
	selected caps || return 0
	mkdir "$CG/caps" || { fail "cannot create $CG/caps"; case_end caps; return; }
	echo '{"version":1,"default":"deny","loopback":"policy","rules":[]}' >"$T/pol/deny.json"

	# With exactly CAP_BPF and CAP_NET_ADMIN.
	eff=$(caps_seen cap_bpf,cap_net_admin)
	[ "$(capsh --decode="$eff" | sed 's/.*=//')" = "cap_net_admin,cap_bpf" ] ||
		fail "capsh setup gives CapEff $eff ($(capsh --decode="$eff")), not cap_net_admin,cap_bpf"
	out=$(with_caps cap_bpf,cap_net_admin "${NF[@]}" attach --id caps --cgroup "$CG/caps" \
		--policy "$T/pol/deny.json" 2>&1) || fail "attach with cap_bpf,cap_net_admin: $out"
	[ -z "$(missing_hooks "$CG/caps")" ] || fail "attach left hooks without programs"
	[ "$(verdict "$CG/caps" 127.0.0.1 80)" = deny ] || fail "not fenced after attach"
	out=$(with_caps cap_bpf,cap_net_admin "${NF[@]}" show caps --json 2>&1) ||
		fail "show with cap_bpf,cap_net_admin: $out"
	out=$(with_caps cap_bpf,cap_net_admin "${NF[@]}" detach caps 2>&1) ||
		fail "detach with cap_bpf,cap_net_admin: $out"
	[ "$(cg_count "$CG/caps")" -eq 0 ] || fail "programs left after detach"
	[ -z "$(pins_left)$(state_left)" ] || fail "left: $(flat "$(pins_left; state_left)")"
	case_end caps-attach-detach-with-bpf-net-admin

	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$CG/caps" &
	sleeper=$!
	BG_PIDS="$BG_PIDS $sleeper"
	sleep 0.2
	state=$(jq -cn --argjson pid "$sleeper" --arg b "$T/bundle" \
		'{ociVersion: "1.0.2", id: "caps-hook", status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.netfence.policy": "{\"version\":1,\"default\":\"deny\",\"rules\":[]}"}}')
	out=$(with_caps cap_bpf,cap_net_admin "${NF[@]}" hook createRuntime <<<"$state" 2>&1) ||
		fail "hook createRuntime with cap_bpf,cap_net_admin: $out"
	[ -z "$(missing_hooks "$CG/caps")" ] || fail "hook left hooks without programs"
	out=$(with_caps cap_bpf,cap_net_admin "${NF[@]}" hook poststop \
		<<<'{"id":"caps-hook","status":"stopped","bundle":"/"}' 2>&1) ||
		fail "hook poststop with cap_bpf,cap_net_admin: $out"
	[ "$(cg_count "$CG/caps")" -eq 0 ] || fail "programs left after poststop"
	[ -z "$(pins_left)$(state_left)" ] || fail "left: $(flat "$(pins_left; state_left)")"
	case_end caps-hook-with-bpf-net-admin

	# Without them: exit 1, one line naming what is missing, nothing attached.
	for cap in none:CAP_BPF cap_bpf:CAP_NET_ADMIN cap_net_admin:CAP_BPF; do
		out=$(with_caps "$([ "${cap%%:*}" = none ] || echo "${cap%%:*}")" "${NF[@]}" hook \
			createRuntime <<<"$state" 2>&1)
		rc=$?
		lines=$(printf '%s\n' "$out" | grep -c '')
		[ "$rc" -eq 1 ] || fail "with ${cap%%:*}: exit $rc, expected 1 ($out)"
		[ "$lines" -eq 1 ] || fail "with ${cap%%:*}: $lines lines: $(flat "$out")"
		grep -q "${cap#*:}" <<<"$out" || fail "with ${cap%%:*}: message does not name ${cap#*:}: $out"
		[ "$(cg_count "$CG/caps")" -eq 0 ] || fail "with ${cap%%:*}: programs attached"
		[ -z "$(pins_left)$(state_left)" ] || fail "with ${cap%%:*}: left $(flat "$(pins_left; state_left)")"
		case_end "caps-refused-with-${cap%%:*}"
	done
	kill "$sleeper" 2>/dev/null
	wait "$sleeper" 2>/dev/null

	# Full root in, two capabilities kept: read them off a running netfence.
	"${NF[@]}" monitor --timeout 3000 >/dev/null 2>&1 &
	mon=$!
	BG_PIDS="$BG_PIDS $mon"
	sleep 0.5
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		eff=$(awk -v s="$set:" '$1 == s {print $2}' "/proc/$mon/status" 2>/dev/null)
		case $set in
		CapInh | CapAmb) want="" ;;
		*) want="cap_net_admin,cap_bpf" ;;
		esac
		got=$(capsh --decode="${eff:-0}" | sed 's/.*=//')
		[ "$got" = "$want" ] || fail "running netfence: $set is '$got' ($eff), expected '$want'"
	done
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	rmdir "$CG/caps"
	case_end caps-dropped-in-running-process
}

main()
{
	check_prereqs
	setup
	test_parallel
	test_sigkill
	test_gc
	test_caps
	test_summary
}

main "$@"
