#!/bin/bash
# Builds the C test programs of tests/ (and benchmarks/fault_migrate_lat)
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
mapfile -t sources < <(git ls-files -co --exclude-standard tests/odp tests/provider benchmarks/*.c | sort)
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
for main in tests/odp/odp_test.c tests/odp/interop.c \
	tests/odp/migrate_test.c benchmarks/fault_migrate_lat.c; do
	ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -I"$harness" \
		-Itests/odp -o "$out/$(basename "$main" .c)" "$main" \
		tests/odp/verbs.c tests/odp/rdma.c \
		-L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -libverbs -lpthread
done
# The provider's direct verbs live in librxe_hmm.
ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -I"$harness" -Itests/odp \
	-o "$out/dv_test" tests/provider/dv_test.c tests/odp/verbs.c \
	tests/odp/rdma.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -lrxe_hmm \
	-libverbs -lpthread
touch "$out/done"
echo "$out"
