# Shared settings for the build scripts; sourced, never run.
# shellcheck shell=bash
# Pinned inputs and the cache layout live here and nowhere else.

RXE_HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RXE_HMM_CACHE=${RXE_HMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rxe-hmm}
# Its real path: ccache rewrites paths relative to it only when the
# compiler's working directory starts with it, links resolved.
mkdir -p "$RXE_HMM_CACHE"
RXE_HMM_CACHE=$(cd "$RXE_HMM_CACHE" && pwd -P)

DL_DIR=$RXE_HMM_CACHE/dl
SRC_DIR=$RXE_HMM_CACHE/src

# The pinned inputs, which scripts/deps.sh fetches from Debian's archive:
# the kernel's .deb from $KERNEL_SUITE, and the orig tarballs of the
# others from sid's sources (sparse new enough for 7.3's
# __typeof_unqual__, for make lint; bookworm's 0.6.4 is not). One line
# each: NAME VERSION FILE SHA256 SERIES, VERSION being Debian's. When the
# archive no longer has a pin, deps.sh takes the newest version of SERIES
# that it still has, says so, and records what it used in $DL_DIR/versions
# (NAME VERSION FILE SHA256 pinned|fallback); the versions set below
# follow that file.
KERNEL_PKG=linux-source-7.3
KERNEL_SUITE=trixie-backports
PINS="
kernel 7.3.4-1~bpo13+1 linux-source-7.3_7.3.4-1~bpo13+1_all.deb 703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3 7.3
rdma-core 65.0-1.1 rdma-core_65.0.orig.tar.gz f6ba3d8b2c4aa334c5c883c1ad0772de339011123cff4fb1db32ae7a443fb7ca 65
perftest 25.01.0+0.80-1 perftest_25.01.0+0.80.orig.tar.gz 54e86b131f0b06862b8b9cd692739737295463cfef467bdda5f5aa3dae8c5b05 25.01
sparse 0.6.5~rc1-2 sparse_0.6.5~rc1.orig.tar.gz 3ac8855ec7f3ab92f325be0f64347ccc2b10f8b4d7c2906783ee8e2bdab3f0de 0.6.5
"

die() {
	echo "error: $*" >&2
	exit 1
}

warn() {
	echo "warning: $*" >&2
}

log() {
	echo "==> $*" >&2
}

# pin NAME: sets pin_version, pin_file, pin_sum and pin_series to NAME's
# line of PINS.
pin() {
	local n v f s r
	while read -r n v f s r; do
		if [ "$n" = "$1" ]; then
			pin_version=$v pin_file=$f pin_sum=$s pin_series=$r
			return 0
		fi
	done <<<"$PINS"
	die "no pin for $1 in scripts/common.sh"
}

# upstream_version VERSION: Debian's VERSION without epoch and revision.
upstream_version() {
	local v=${1#*:}
	echo "${v%-*}"
}

# in_series VERSION SERIES: whether VERSION's upstream part is SERIES, or
# SERIES followed by ".", "~" or "+" (65 takes 65.0 and 65.1, not 650.0;
# 0.6.5 takes 0.6.5~rc2, 0.6.5 and 0.6.5.1, not 0.6.6).
in_series() {
	local up=${1#*:}
	up=${up%-*}
	case $up in
	"$2" | "$2".* | "$2"~* | "$2"+*) return 0 ;;
	esac
	return 1
}

# used_version NAME: the version of NAME in use: the one scripts/deps.sh
# recorded in $DL_DIR/versions when it fell back to another of the pin's
# series, else the pin.
used_version() {
	local n v f s status pin_version pin_series
	# shellcheck disable=SC2034 # pin() sets them too; kept local
	local pin_file pin_sum
	pin "$1"
	if [ -f "$DL_DIR/versions" ]; then
		while read -r n v f s status; do
			if [ "$n" = "$1" ] && [ "$status" = fallback ] &&
			   in_series "$v" "$pin_series"; then
				echo "$v"
				return
			fi
		done <"$DL_DIR/versions"
	fi
	echo "$pin_version"
}

# Debian's version of the kernel, upstream's of the others.
KERNEL_PKG_VERSION=$(used_version kernel)
RDMA_CORE_VERSION=$(upstream_version "$(used_version rdma-core)")
PERFTEST_VERSION=$(upstream_version "$(used_version perftest)")
SPARSE_VERSION=$(upstream_version "$(used_version sparse)")
KERNEL_SRC=$SRC_DIR/linux-${KERNEL_PKG_VERSION%%-*}

export CCACHE_DIR=${CCACHE_DIR:-$RXE_HMM_CACHE/ccache}
export CCACHE_BASEDIR=$RXE_HMM_CACHE
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}

JOBS=${JOBS:-$(($(nproc) + 1))}

# Hash of the given files' names and contents plus extra words, short.
content_hash() {
	local f
	{
		for f in "$@"; do
			if [ -f "$f" ]; then
				printf '%s\n' "${f#"$RXE_HMM_TOP"/}"
				cat "$f"
			else
				printf '%s\n' "$f"
			fi
		done
	} | sha256sum | cut -c1-16
}

# mm_series NAME: sets the array NAME to the patches of kernel/patches/mm/,
# in order, without the cover letter (which changes nothing it builds).
mm_series() {
	local -n _series=$1
	local p
	_series=()
	for p in "$RXE_HMM_TOP"/kernel/patches/mm/*.patch; do
		[ -f "$p" ] || continue
		case ${p##*/} in
		0000-cover-letter.patch) ;;
		*) _series+=("$p") ;;
		esac
	done
}

# upstream_series NAME core|rxe: sets the array NAME to the patches of
# kernel/patches/upstream/ that touch the core or rxe, in order, as
# kernel/scripts/upstream-series sorts them; dies if it cannot.
upstream_series() {
	local -n _up=$1
	local out
	out=$("$RXE_HMM_TOP/kernel/scripts/upstream-series" \
		"$RXE_HMM_TOP/kernel/patches/upstream" "$2") ||
		die "kernel/scripts/upstream-series failed"
	mapfile -t _up <<<"$out"
	[ -n "$out" ] || _up=()
}

# The kernels: fragments of kernel/config/, merged in this order.
TEST_KERNEL=${RXE_HMM_TEST_KERNEL:-guest debug kasan}
BENCH_KERNEL=${RXE_HMM_BENCH_KERNEL:-guest}

# rdma_core_series NAME: the patches of our series on librxe, in order.
rdma_core_series() {
	local -n _c=$1
	local p
	_c=()
	for p in "$RXE_HMM_TOP"/rdma-core-provider/[0-9]*.patch; do
		[ "${p##*/}" = 0000-cover-letter.patch ] || _c+=("$p")
	done
}

# Builds rdma-core, perftest, sparse and our C tests when missing and
# exports where they are as RXE_HMM_RDMA_CORE, RXE_HMM_PERFTEST,
# RXE_HMM_SPARSE and RXE_HMM_TESTS (passed on to the guest).
export_userspace() {
	local out what dir
	out=$("$RXE_HMM_TOP/scripts/build-userspace.sh") || die "userspace build failed"
	while read -r what dir; do
		case $what in
		rdma-core) export RXE_HMM_RDMA_CORE=$dir ;;
		rdma-core-stock) export RXE_HMM_RDMA_CORE_STOCK=$dir ;;
		perftest) export RXE_HMM_PERFTEST=$dir ;;
		sparse) export RXE_HMM_SPARSE=$dir ;;
		esac
	done <<<"$out"
	RXE_HMM_TESTS=$("$RXE_HMM_TOP/scripts/build-tests.sh" "$RXE_HMM_RDMA_CORE") ||
		die "building the C tests failed"
	export RXE_HMM_TESTS
}
