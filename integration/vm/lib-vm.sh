# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# Shared by the kernel-matrix helpers: the matrix's kernels, the cache, a private apt state.

KM_ALL="5.10 6.1 6.12 6.18 6.1-arm64"
KM_CACHE=${KM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netfence-kernels}

die()
{
	echo "kernel-matrix: $*" >&2
	exit 1
}

# kernel_spec NAME: KS_SUITE, KS_ARCH (Debian's), KS_QARCH (qemu's), KS_VERSION (the newest
# linux-image-KS_VERSION.* of the suite is taken), for one matrix entry.
kernel_spec()
{
	KS_VERSION=${1%-*}
	case $1 in
	5.10) KS_SUITE=bullseye KS_ARCH=amd64 ;;
	6.1) KS_SUITE=bookworm KS_ARCH=amd64 ;;
	6.12) KS_SUITE=trixie KS_ARCH=amd64 ;;
	6.18) KS_SUITE=trixie-backports KS_ARCH=amd64 ;;
	6.1-arm64) KS_SUITE=bookworm KS_ARCH=arm64 ;;
	*) return 1 ;;
	esac
	case $KS_ARCH in
	amd64) KS_QARCH=x86_64 ;;
	arm64) KS_QARCH=aarch64 ;;
	esac
}

# The Debian mirror the machine's apt sources name: the only network source used.
mirror()
{
	local m=${KM_MIRROR:-}
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
			/etc/apt/sources.list.d/*.sources 2>/dev/null |
			grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ')
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# apt_private SUITE ARCH: APT_OPTS for apt-get/apt-cache with a state, cache and source list of
# their own under $KM_CACHE/apt/SUITE-ARCH (one suite, one architecture), and its package lists
# updated once a day.
apt_private()
{
	local d=$KM_CACHE/apt/$1-$2
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc/preferences.d" \
		"$d/etc/sources.list.d"
	echo "deb [arch=$2 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"$(mirror) $1 main" >"$d/etc/sources.list"
	: >"$d/status"
	APT_OPTS=(-o "Dir::State=$d" -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status"
		-o "Dir::Cache=$d/cache" -o "Dir::Etc::SourceList=$d/etc/sources.list"
		-o "Dir::Etc::SourceParts=$d/etc/sources.list.d"
		-o "Dir::Etc::Preferences=$d/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$d/etc/preferences.d"
		-o "APT::Architecture=$2" -o "APT::Architectures=$2" -o "APT::Sandbox::User=root"
		-o "Debug::NoLocking=1" -o "Acquire::Languages=none")
	if [ -z "$(find "$d/updated" -mmin -1440 2>/dev/null)" ]; then
		apt-get -qq "${APT_OPTS[@]}" update >&2 || die "apt-get update for $1 ($2) failed"
		touch "$d/updated"
	fi
}

apt_g()
{
	apt-get -qq "${APT_OPTS[@]}" "$@"
}

apt_p()
{
	apt-cache "${APT_OPTS[@]}" "$@"
}
