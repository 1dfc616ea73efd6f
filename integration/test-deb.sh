#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The Debian package as an admin meets it: built by `make deb` (reused when .output/deb/ holds
# one newer than every source file), checked by lintian (errors fail, warnings are listed),
# installed with `dpkg -i` on this machine, then real Podman containers fenced by the installed
# files alone: /usr/bin/netfence, the hooks.d file in /usr/share/containers/oci/hooks.d, the
# CDI spec in /etc/cdi, the netfence-runc wrapper and the default /etc/netfence/config.json
# (a policy by name from /etc/netfence/policies.d). Then `dpkg --purge` and nothing of the
# package may be left: every file `dpkg -L` listed, every directory it made, /etc/netfence,
# the timer's enablement links.
#
# The whole test runs in a private mount namespace, where a bpffs of its own is mounted at
# /sys/fs/bpf and a directory of its own is bound over /run/netfence: the installed config's
# default paths, so the installed files run as shipped without touching the host's.
#
# Skips (77) when netfence is already installed here (by dpkg, or by make install into
# /usr/bin or /etc): it would replace, then purge, someone's install.
#
#   integration/test-deb.sh [REGEX...]      (or CASES=REGEX; install and purge always run)
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

if [ "${NF_DEB_PRIVATE_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i, bpffs, podman)"
	command -v unshare >/dev/null || skip "'unshare' is not installed"
	NF_DEB_PRIVATE_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

DEB_DIR=$RT_ROOT_DIR/.output/deb
DEB_VERSION=$(dpkg-parsechangelog -l "$RT_ROOT_DIR/debian/changelog" -S Version 2>/dev/null)
DEB_ARCH=$(dpkg --print-architecture 2>/dev/null)
DEB=$DEB_DIR/netfence_${DEB_VERSION}_$DEB_ARCH.deb
DEB_DBGSYM=$DEB_DIR/netfence-dbgsym_${DEB_VERSION}_$DEB_ARCH.deb
DEB_CHANGES=$DEB_DIR/netfence_${DEB_VERSION}_$DEB_ARCH.changes
# Paths a package or source install of netfence would own; any of them present means one is.
OWNED="/usr/bin/netfence /etc/netfence /usr/share/containers/oci/hooks.d/netfence.json
/etc/cdi/netfence.json /usr/share/netfence"
INSTALLED=0
MADE_RUN_DIR=0

pm_start()
{
	local name=$1
	shift
	pm run -d --name "$name" --network host --cgroup-parent="$RT_PARENT" \
		--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --pids-limit=0 "$@" --rootfs "$T/rootfs" \
		/bin/client sleep 3600 </dev/null 2>"$T/logs/$name.run"
}

# show_field ID KEY: a field of the installed `netfence show ID --json`.
show_field()
{
	/usr/bin/netfence show "$1" --json 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2>/dev/null
}

# fenced_case NAME [podman options]: a container with the test's policy by name, an allowed
# and a denied connection from inside, fenced by the installed netfence, nothing left after rm.
fenced_case()
{
	local name=$1 id
	shift
	id=$(pm_start "$name" --annotation io.netfence.policy-name="$POLICY_NAME" "$@") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return 1; }
	pm_probe "$name" tcp 127.0.0.1 "$PA" ok
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_probe "$name" udp 127.0.0.1 "$PU" ok
	pm_probe "$name" udp 127.0.0.1 "$PD" EPERM
	[ "$(show_field "$id" mode)" = enforce ] || fail "$name: netfence show $id: not enforced"
	[ "$(show_field "$id" source)" = "policy-name:$POLICY_NAME" ] ||
		fail "$name: show: source '$(show_field "$id" source)'"
	if [ ! -d "/sys/fs/bpf/netfence/$id" ] || [ ! -f "/run/netfence/$id.json" ]; then
		fail "$name: no pins or state at the installed config's paths"
	fi
	pm rm -f -t 0 "$name" >"$T/logs/$name.rm" 2>&1 || fail "$name: podman rm failed"
	[ -z "$(find /sys/fs/bpf/netfence /run/netfence -name "*$id*" 2>/dev/null)" ] ||
		fail "$name: pins or state left after podman rm (poststop)"
}

# --- cases ---------------------------------------------------------------------------------

case_lintian()
{
	local out
	out=$(lintian --fail-on error "$DEB_CHANGES" 2>&1)
	local rc=$?
	printf '%s\n' "$out" | grep -E '^[EW]: ' | sed 's/^/    lintian: /'
	[ $rc -eq 0 ] || fail "lintian reports errors: $(printf '%s' "$out" | grep '^E: ' | head -n 3)"
}

case_files()
{
	local version want conf f bid
	version=$(dpkg-query -W -f='${Version}' netfence)
	want="netfence $version"
	[ "$(/usr/bin/netfence --version)" = "$want" ] ||
		fail "netfence --version: '$(/usr/bin/netfence --version 2>&1)', expected '$want'"
	[ "$(/usr/bin/netfence version)" = "$want" ] || fail "netfence version: not '$want'"
	readelf -S /usr/bin/netfence | grep -qE '\.(symtab|debug_info)' &&
		fail "/usr/bin/netfence is not stripped"
	readelf -l /usr/bin/netfence | grep -q 'program interpreter' &&
		fail "/usr/bin/netfence is not static"
	for f in netfence-runc netfence-crun; do
		[ "$(readlink "/usr/bin/$f")" = netfence ] || fail "/usr/bin/$f is not a link to netfence"
	done
	# The debug symbols are in netfence-dbgsym, under the binary's build id.
	bid=$(readelf -n /usr/bin/netfence | awk '/Build ID/ { print $3 }')
	dpkg-deb -c "$DEB_DBGSYM" >"$T/dbgsym-contents"
	grep -q "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug" "$T/dbgsym-contents" ||
		fail "netfence-dbgsym has no debug file for build id '$bid'"
	conf=$(dpkg-query -W -f='${Conffiles}\n' netfence | awk '{ print $1 }' | sort | tr '\n' ' ')
	[ "$conf" = "/etc/cdi/netfence.json /etc/netfence/config.json /etc/netfence/policies.d/README " ] ||
		fail "conffiles: '$conf'"
	grep -q '"path": "/usr/bin/netfence"' /usr/share/containers/oci/hooks.d/netfence.json ||
		fail "the hooks.d file does not run /usr/bin/netfence"
	[ "$(grep -c '"path": "/usr/bin/netfence"' /etc/cdi/netfence.json)" = 2 ] ||
		fail "the CDI spec does not run /usr/bin/netfence"
	for f in /usr/share/netfence/policy.schema.json /usr/share/netfence/config.schema.json \
		/usr/share/doc/netfence/copyright /usr/share/doc/netfence/examples/web-egress.json \
		/lib/systemd/system/netfence-gc.service /lib/systemd/system/netfence-gc.timer; do
		[ -f "$f" ] || fail "$f is not installed"
	done
	grep -qx 'ExecStart=/usr/bin/netfence gc' /lib/systemd/system/netfence-gc.service ||
		fail "netfence-gc.service does not run /usr/bin/netfence gc"
	# dh_installsystemd enables the timer, with or without a running systemd.
	[ -L /etc/systemd/system/timers.target.wants/netfence-gc.timer ] ||
		fail "netfence-gc.timer is not enabled"
	if command -v systemd-analyze >/dev/null; then
		out=$(systemd-analyze verify /lib/systemd/system/netfence-gc.service \
			/lib/systemd/system/netfence-gc.timer 2>&1) ||
			fail "systemd-analyze verify: $(printf '%s' "$out" | head -n 2)"
	fi
	/usr/bin/netfence policy check /usr/share/doc/netfence/examples/web-egress.json >/dev/null ||
		fail "the example policy is refused"
	/usr/bin/netfence gc >"$T/logs/gc" 2>&1 ||
		fail "netfence gc under the installed config: $(cat "$T/logs/gc")"
}

case_man()
{
	local page out file
	# Each page is found where man looks (man -w), then rendered from that file: man's cache of
	# formatted pages (/var/cache/man) would serve an older build of the same page, whose
	# reproducible mtime is the same, and rendering by name would leave such a cache behind.
	for page in "8 netfence" "8 netfence-runc" "8 netfence-crun" "5 netfence-policy" \
		"5 netfence-config"; do
		# shellcheck disable=SC2086 # section and name
		file=$(man -w $page 2>&1) || { fail "man -w $page: $file"; continue; }
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$file" 2>&1 >"$T/logs/man") ||
			fail "man $page: exit status $?"
		[ -z "$out" ] || fail "man $page: $(printf '%s' "$out" | head -n 2)"
		grep -q NETFENCE "$T/logs/man" || fail "man $page: nothing rendered"
	done
	# netfence(8) names every command of the installed binary.
	for page in $(/usr/bin/netfence --help | awk '/^Commands:/ { on = 1; next }
		/^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }'); do
		MANWIDTH=80 man -l "$(man -w 8 netfence)" 2>/dev/null | grep -q "^   $page" ||
			fail "netfence(8) has no section for '$page'"
	done
}

# complete LINE: the words bash completion offers for LINE, with the installed script.
complete_line()
{
	bash -c '. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/netfence
		COMP_LINE=$1; COMP_POINT=${#1}; read -ra COMP_WORDS <<<"$1"
		[[ $1 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _netfence; echo "${COMPREPLY[*]}"' _ "$1"
}

case_completion()
{
	local got id
	got=$(complete_line "netfence mon")
	[ "$got" = monitor ] || fail "completion of 'netfence mon': '$got'"
	got=$(complete_line "netfence attach --cg")
	[ "$got" = --cgroup ] || fail "completion of 'netfence attach --cg': '$got'"
	id=$(pm_start deb-complete --annotation io.netfence.policy-name="$POLICY_NAME") ||
		{ fail "podman run failed: $(tail -n 3 "$T/logs/deb-complete.run")"; return; }
	got=$(complete_line "/usr/bin/netfence show ${id:0:12}")
	[ "$got" = "$id" ] || fail "completion of 'netfence show ${id:0:12}': '$got', expected $id"
	pm rm -f -t 0 deb-complete >/dev/null 2>&1
}

# The installed hooks.d file, in Podman's default hooks directory (named by --hooks-dir, so
# that a host's containers.conf cannot change what is tested).
case_podman_hooksd()
{
	fenced_case deb-hooksd
}

# The installed CDI spec: no hooks.d at all, the device brings the hooks.
case_podman_cdi()
{
	local saved=$RT_PODMAN
	RT_PODMAN=${RT_PODMAN/--hooks-dir \/usr\/share\/containers\/oci\/hooks.d/--hooks-dir $T/no-hooks.d}
	fenced_case deb-cdi --device netfence.io/fence=on
	RT_PODMAN=$saved
}

# The installed wrapper runtime in front of runc: no hooks.d either.
case_podman_wrapper()
{
	local saved=$RT_PODMAN
	RT_PODMAN=${RT_PODMAN/--hooks-dir \/usr\/share\/containers\/oci\/hooks.d/--hooks-dir $T/no-hooks.d}
	RT_PODMAN=${RT_PODMAN/--runtime runc/--runtime /usr/bin/netfence-runc}
	fenced_case deb-wrapper
	RT_PODMAN=$saved
}

# Purge, then nothing of the package is left: what dpkg -L listed (directories only where they
# did not exist before the install), /etc/netfence, the timer's links, dpkg's own record.
case_purge()
{
	local p left=""
	rm -f "/etc/netfence/policies.d/$POLICY_NAME.json"
	dpkg --purge netfence >"$T/logs/purge" 2>&1 || fail "dpkg --purge: $(tail -n 3 "$T/logs/purge")"
	INSTALLED=0
	while IFS= read -r p; do
		[ -e "$p" ] || [ -L "$p" ] || continue
		grep -qxF -- "$p" "$T/dirs-before" && continue
		left="$left $p"
	done <"$T/dpkg-L"
	[ -z "$left" ] || fail "left after purge:$left"
	[ ! -e /etc/netfence ] || fail "/etc/netfence is still there"
	left=$(find /etc/systemd /var/lib/systemd /var/lib/dpkg/info -name '*netfence*' 2>/dev/null)
	[ -z "$left" ] || fail "left after purge: $(echo "$left" | tr '\n' ' ')"
	dpkg-query -W netfence >/dev/null 2>&1 && fail "dpkg still knows netfence"
}

# --- setup -----------------------------------------------------------------------------------

deb_cleanup()
{
	local rc=$?
	[ -n "$T" ] && [ -n "${RT_PODMAN:-}" ] && pm rm -a -f -t 0 >/dev/null 2>&1
	rm -f "/etc/netfence/policies.d/${POLICY_NAME:-none}.json"
	if [ "$INSTALLED" = 1 ]; then
		dpkg --purge netfence >/dev/null 2>&1 || echo "test-deb: dpkg --purge netfence failed"
	fi
	umount -l /run/netfence 2>/dev/null
	[ "$MADE_RUN_DIR" = 1 ] && rmdir /run/netfence 2>/dev/null
	# Pages man formatted and cached while the package was installed (none were before).
	[ "$MAN_CACHED" = 0 ] && rm -f /var/cache/man/cat[1-9]/netfence*
	umount -l /sys/fs/bpf 2>/dev/null
	(exit "$rc")
	rt_cleanup
}

# deb_abort NAME REASON: case NAME failed and the rest cannot run without it.
deb_abort()
{
	fail "$2"
	case_end "$1"
	test_summary
	exit 1
}

# A package built from the tree as it is: .output/deb/ when newer than every source file, else
# a new `make deb` (without its unit tests: make unit runs those).
deb_build()
{
	local newer
	if [ -f "$DEB" ] && [ -f "$DEB_DBGSYM" ] && [ -f "$DEB_CHANGES" ] &&
		git -C "$RT_ROOT_DIR" rev-parse >/dev/null 2>&1; then
		# shellcheck disable=SC2185 # -files0-from names the files
		newer=$(cd "$RT_ROOT_DIR" && git ls-files -z --cached --others --exclude-standard |
			find -files0-from - -newer "$DEB" -type f -print -quit 2>/dev/null)
		if [ -z "$newer" ]; then
			echo "    reusing $DEB (newer than every source file)"
			return 0
		fi
	fi
	echo "    building the package (make deb, DEB_BUILD_OPTIONS=nocheck)"
	DEB_BUILD_OPTIONS=nocheck make -C "$RT_ROOT_DIR" --no-print-directory deb LINTIAN= \
		>"$T/logs/build" 2>&1 || deb_abort build "$(tail -n 5 "$T/logs/build")"
}

rt_require_cmd dpkg dpkg-query dpkg-deb dpkg-buildpackage dh lintian podman runc man python3 \
	readelf mount bpftool ss
[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
if st=$(dpkg-query -W -f='${db:Status-Status}' netfence 2>/dev/null) && [ "$st" != not-installed ]; then
	skip "the netfence package is already on this machine (status '$st'): not replacing" \
		"and purging someone's install"
fi
for p in $OWNED; do
	[ -e "$p" ] && skip "$p exists (a source install of netfence?): not overwriting it"
done
[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] || [ -z "$(ls -A /sys/fs/bpf 2>/dev/null)" ] ||
	skip "/sys/fs/bpf is not empty and not a bpffs"
MAN_CACHED=0
compgen -G "/var/cache/man/cat[1-9]/netfence*" >/dev/null && MAN_CACHED=1
rt_find_cgroup2
T=$(mktemp -d /tmp/netfence-deb.XXXXXX) || skip "cannot create a temporary directory"
chmod 755 "$T"
RT_PARENT="/netfence-it.$$"
# shellcheck disable=SC2034 # read by rt_ns: Podman manages its cgroups itself
RT_BIND=0
trap deb_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$T/logs" "$T/run-netfence" "$T/no-hooks.d" "$T/podman"
mount --make-rprivate / || skip "cannot make the mount namespace private"
mount -t bpf bpf /sys/fs/bpf || skip "cannot mount a bpffs at /sys/fs/bpf"
if [ ! -d /run/netfence ]; then
	mkdir /run/netfence && MADE_RUN_DIR=1
fi
mount --bind "$T/run-netfence" /run/netfence || skip "cannot bind over /run/netfence"
RT_NF_PROGS_BASE=$(rt_count_nf_progs)

deb_build
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' |
	grep -v '^$' >"$T/deb-paths"
while IFS= read -r p; do
	[ -d "$p" ] && echo "$p"
done <"$T/deb-paths" >"$T/dirs-before"
dpkg -i "$DEB" >"$T/logs/install" 2>&1 ||
	{ INSTALLED=1; deb_abort install "$(tail -n 5 "$T/logs/install")"; }
INSTALLED=1
dpkg -L netfence | grep -vx '/\.' >"$T/dpkg-L"
echo "    installed $(dpkg-query -W -f='${Package} ${Version}' netfence): $(wc -l <"$T/dpkg-L") paths"

rt_build_rootfs "$T/rootfs"
rt_policies
POLICY_NAME="it-deb-$$"
printf '%s\n' "$POLICY" >"/etc/netfence/policies.d/$POLICY_NAME.json"
RT_PODMAN="podman --root $T/podman/root --runroot $T/podman/runroot --tmpdir $T/podman/tmp"
RT_PODMAN="$RT_PODMAN --storage-driver vfs --runtime runc --cgroup-manager cgroupfs"
RT_PODMAN="$RT_PODMAN --events-backend file --log-level error"
RT_PODMAN="$RT_PODMAN --hooks-dir /usr/share/containers/oci/hooks.d"

TABLE="
lintian        | case_lintian
files          | case_files
man            | case_man
completion     | case_completion
podman-hooksd  | case_podman_hooksd
podman-cdi     | case_podman_cdi
podman-wrapper | case_podman_wrapper
"
run_cases "$TABLE"
case_purge </dev/null
case_end purge
test_summary
