#!/bin/bash
# Builds rdma-core (with pyverbs, IN_PLACE so it runs from its build tree)
# with our provider integrated (rdma-core-provider/integrate), and perftest
# against it, and sparse for make lint, from the fetched
# tarballs. Each build is cached under a hash of its inputs. Prints one line
# per build: "rdma-core DIR", "perftest DIR", "sparse PROGRAM".
set -euo pipefail
. "$(dirname "$0")/common.sh"

# Build output goes to stderr; stdout carries only the result.
exec 3>&1 1>&2

# Bump when a change to this script changes what it builds.
RECIPE=1

read_pin() {
	[ -f "$DL_DIR/$1.pin" ] || die "$1 not fetched: run 'make deps'"
	read -r _ "$2" "$3" <"$DL_DIR/$1.pin"
}

# Unpacks tarball $1 into $2/src (top directory stripped).
unpack() {
	rm -rf "$2"
	mkdir -p "$2/src"
	tar -xzf "$DL_DIR/$1" -C "$2/src" --strip-components=1
}

build_rdma_core() {
	local ver orig key
	read_pin rdma-core ver orig
	key=$(content_hash "$orig" "recipe $RECIPE" \
		"$RXE_HMM_TOP"/kernel/include/uapi/rdma/rxe_hmm-abi.h \
		$(find "$RXE_HMM_TOP"/rdma-core-provider -type f | sort))
	RDMA_CORE=$RXE_HMM_CACHE/rdma-core/$ver-$key
	[ -f "$RDMA_CORE/done" ] && return
	log "building rdma-core $ver with the rxe_hmm provider into $RDMA_CORE"
	unpack "$orig" "$RDMA_CORE"
	"$RXE_HMM_TOP"/rdma-core-provider/integrate "$RDMA_CORE/src"
	# Debian's python3 (cython3 builds for it), not one from PATH.
	cmake -S "$RDMA_CORE/src" -B "$RDMA_CORE/src/build" -GNinja \
		-DIN_PLACE=1 -DNO_MAN_PAGES=1 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER_LAUNCHER=ccache \
		-DPYTHON_EXECUTABLE=/usr/bin/python3 >"$RDMA_CORE/cmake.log"
	ninja -C "$RDMA_CORE/src/build" -j"$JOBS" >"$RDMA_CORE/ninja.log" ||
		{ tail -n 40 "$RDMA_CORE/ninja.log" >&2; die "rdma-core build failed"; }
	touch "$RDMA_CORE/done"
}

build_perftest() {
	local ver orig key rc=$RDMA_CORE/src/build
	read_pin perftest ver orig
	key=$(content_hash "$orig" "$RDMA_CORE" "recipe $RECIPE")
	PERFTEST=$RXE_HMM_CACHE/perftest/$ver-$key
	[ -f "$PERFTEST/done" ] && return
	log "building perftest $ver into $PERFTEST"
	unpack "$orig" "$PERFTEST"
	(
		cd "$PERFTEST/src"
		./autogen.sh >"$PERFTEST/autogen.log" 2>&1
		./configure CC="ccache gcc" CPPFLAGS="-I$rc/include" \
			LDFLAGS="-L$rc/lib -Wl,-rpath,$rc/lib" \
			>"$PERFTEST/configure.log"
		make -j"$JOBS" >"$PERFTEST/make.log" 2>&1
	) || { tail -n 40 "$PERFTEST"/*.log >&2; die "perftest build failed"; }
	touch "$PERFTEST/done"
}

build_sparse() {
	local ver orig key
	read_pin sparse ver orig
	key=$(content_hash "$orig" "recipe $RECIPE")
	SPARSE=$RXE_HMM_CACHE/sparse/$ver-$key
	[ -f "$SPARSE/done" ] && return
	log "building sparse $ver into $SPARSE"
	unpack "$orig" "$SPARSE"
	make -C "$SPARSE/src" -j"$JOBS" CC="ccache gcc" sparse \
		>"$SPARSE/make.log" 2>&1 ||
		{ tail -n 40 "$SPARSE/make.log" >&2; die "sparse build failed"; }
	touch "$SPARSE/done"
}

build_rdma_core
build_perftest
build_sparse
echo "rdma-core $RDMA_CORE/src/build" >&3
echo "perftest $PERFTEST/src" >&3
echo "sparse $SPARSE/src/sparse" >&3
