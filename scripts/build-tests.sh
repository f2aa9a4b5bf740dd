#!/bin/bash
# Builds the C test programs of tests/ and the C benchmarks of benchmarks/src/
# against the pinned rdma-core build and the kernel tree's kselftest
# harness.
#
# usage: scripts/build-tests.sh RDMA_CORE_BUILD_DIR
# Prints the directory that holds the programs (in the cache, under a hash
# of their sources and inputs).
set -euo pipefail
. "$(dirname "$0")/common.sh"

RECIPE=1
[ $# -eq 1 ] || die "usage: $0 RDMA_CORE_BUILD_DIR"
rdma=$(cd "$1" && pwd -P)
harness=$KERNEL_SRC/tools/testing/selftests
[ -f "$harness/kselftest_harness.h" ] || die "no kselftest harness in $harness (make deps)"

cd "$RXE_HMM_TOP"
# The series on librxe is in the rdma-core build's key, hence in $rdma.
mapfile -t sources < <(git ls-files -co --exclude-standard tests/odp tests/provider \
	benchmarks/src | sort)
key=$(content_hash "$rdma" "$KERNEL_PKG_VERSION" "${sources[@]}" "recipe $RECIPE")
out=$RXE_HMM_CACHE/tests/$key
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
log "building the C tests"
# Each program is its main file plus the shared verbs helpers.
for main in tests/odp/odp_test.c tests/odp/interop.c tests/odp/migrate_test.c; do
	ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -I"$harness" \
		-Itests/odp -o "$out/$(basename "$main" .c)" "$main" \
		tests/odp/verbs.c tests/odp/rdma.c \
		-L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -libverbs -lpthread
done
# librxe's direct verbs (rxedv.h) live in librxe.
ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -I"$harness" -Itests/odp \
	-o "$out/dv_test" tests/provider/dv_test.c tests/odp/verbs.c \
	tests/odp/rdma.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -lrxe \
	-libverbs -lpthread
# The benchmarks read the engine's counters through them too.
for main in benchmarks/src/fault_migrate_lat.c benchmarks/src/invalidate_lat.c; do
	ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -Itests/odp \
		-o "$out/$(basename "$main" .c)" "$main" benchmarks/src/pair.c \
		tests/odp/verbs.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -lrxe \
		-libverbs -lpthread
done
touch "$out/done"
echo "$out"
