#!/bin/bash
# Builds rdma-core twice from the fetched tarball: patched with our series
# on librxe (rdma-core-provider/*.patch, applied with git am: a patch that
# does not apply fails the build), with its man pages and static libraries,
# and stock, as a distribution would ship 65.0. Both with pyverbs, IN_PLACE
# so that they run from their build trees. Then perftest against the
# patched one, and sparse for make lint. Each build is cached under a hash
# of its inputs. Prints one line per build: "rdma-core DIR",
# "rdma-core-stock DIR", "perftest DIR", "sparse PROGRAM".
set -euo pipefail
. "$(dirname "$0")/common.sh"

# Build output goes to stderr; stdout carries only the result.
exec 3>&1 1>&2

# Bump when a change to this script changes what it builds.
RECIPE=2

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

# Applies the series to the unpacked tree $1, as commits on a tag v$2, so
# that make lint can ask git what the series changed.
apply_series() {
	local src=$1 ver=$2 patches
	rdma_core_series patches
	[ ${#patches[@]} -gt 0 ] || die "no patches in rdma-core-provider/"
	git -C "$src" init -q
	git -C "$src" add -A
	git -C "$src" -c user.name=rxe-hmm -c user.email=rxe-hmm@localhost \
		commit -q -m "rdma-core $ver"
	git -C "$src" tag "v$ver"
	git -C "$src" -c user.name=rxe-hmm -c user.email=rxe-hmm@localhost \
		am -q "${patches[@]}" ||
		die "rdma-core-provider/ does not apply to rdma-core $ver"
}

# build_one VAR DIR-NAME KIND [CMAKE_ARG...]: KIND is patched or stock.
build_one() {
	local var=$1 name=$2 kind=$3 ver orig key dir
	shift 3
	read_pin rdma-core ver orig
	if [ "$kind" = patched ]; then
		key=$(content_hash "$orig" "recipe $RECIPE" \
			"$RXE_HMM_TOP"/rdma-core-provider/*.patch)
	else
		key=$(content_hash "$orig" "recipe $RECIPE")
	fi
	dir=$RXE_HMM_CACHE/$name/$ver-$key
	printf -v "$var" %s "$dir"
	[ -f "$dir/done" ] && return
	log "building rdma-core $ver ($kind) into $dir"
	unpack "$orig" "$dir"
	[ "$kind" = stock ] || apply_series "$dir/src" "$ver"
	# Debian's python3 (cython3 builds for it), not one from PATH.
	cmake -S "$dir/src" -B "$dir/src/build" -GNinja \
		-DIN_PLACE=1 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER_LAUNCHER=ccache \
		-DPYTHON_EXECUTABLE=/usr/bin/python3 "$@" >"$dir/cmake.log"
	ninja -C "$dir/src/build" -j"$JOBS" >"$dir/ninja.log" ||
		{ tail -n 40 "$dir/ninja.log" >&2; die "rdma-core build failed"; }
	touch "$dir/done"
}

build_rdma_core() {
	# The man pages as rdma-core builds them (pandoc, rst2man), and the
	# static libraries that buildlib/check-build links (make lint).
	build_one RDMA_CORE rdma-core patched -DENABLE_STATIC=1
	build_one RDMA_CORE_STOCK rdma-core-stock stock -DNO_MAN_PAGES=1
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
echo "rdma-core-stock $RDMA_CORE_STOCK/src/build" >&3
echo "perftest $PERFTEST/src" >&3
echo "sparse $SPARSE/src/sparse" >&3
