# Shared settings for the build scripts; sourced, never run.
# Pinned inputs and the cache layout live here and nowhere else.

RXE_HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RXE_HMM_CACHE=${RXE_HMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rxe-hmm}
# Its real path: ccache rewrites paths relative to it only when the
# compiler's working directory starts with it, links resolved.
mkdir -p "$RXE_HMM_CACHE"
RXE_HMM_CACHE=$(cd "$RXE_HMM_CACHE" && pwd -P)

KERNEL_PKG=linux-source-7.3
KERNEL_PKG_VERSION=7.3.4-1~bpo13+1
KERNEL_SUITE=trixie-backports
RDMA_CORE_VERSION=65.0
# sparse new enough for 7.3 (__typeof_unqual__), for make lint: from sid.
SPARSE_VERSION=0.6.5~rc1
# perftest follows sid; scripts/deps.sh records the version it fetched.

DL_DIR=$RXE_HMM_CACHE/dl
SRC_DIR=$RXE_HMM_CACHE/src
KERNEL_SRC=$SRC_DIR/linux-${KERNEL_PKG_VERSION%%-*}

export CCACHE_DIR=${CCACHE_DIR:-$RXE_HMM_CACHE/ccache}
export CCACHE_BASEDIR=$RXE_HMM_CACHE
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}

JOBS=${JOBS:-$(($(nproc) + 1))}

die() {
	echo "error: $*" >&2
	exit 1
}

log() {
	echo "==> $*" >&2
}

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

# The kernels: fragments of kernel/config/, merged in this order.
TEST_KERNEL=${RXE_HMM_TEST_KERNEL:-guest debug kasan}
BENCH_KERNEL=${RXE_HMM_BENCH_KERNEL:-guest}

# Builds rdma-core, perftest, sparse and our C tests when missing and
# exports where they are as RXE_HMM_RDMA_CORE, RXE_HMM_PERFTEST,
# RXE_HMM_SPARSE and RXE_HMM_TESTS (passed on to the guest).
export_userspace() {
	local out what dir
	out=$("$RXE_HMM_TOP/scripts/build-userspace.sh") || die "userspace build failed"
	while read -r what dir; do
		case $what in
		rdma-core) export RXE_HMM_RDMA_CORE=$dir ;;
		perftest) export RXE_HMM_PERFTEST=$dir ;;
		sparse) export RXE_HMM_SPARSE=$dir ;;
		esac
	done <<<"$out"
	RXE_HMM_TESTS=$("$RXE_HMM_TOP/scripts/build-tests.sh" "$RXE_HMM_RDMA_CORE") ||
		die "building the C tests failed"
	export RXE_HMM_TESTS
}
