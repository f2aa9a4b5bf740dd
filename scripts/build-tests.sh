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
# The provider and its uAPI, which the ABI-revision builds below compile,
# are in the rdma-core build's key, hence in $rdma.
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
# The provider's direct verbs live in librxe_hmm.
ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -I"$harness" -Itests/odp \
	-o "$out/dv_test" tests/provider/dv_test.c tests/odp/verbs.c \
	tests/odp/rdma.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -lrxe_hmm \
	-libverbs -lpthread
# The benchmarks read the engine's counters through them too.
for main in benchmarks/src/fault_migrate_lat.c benchmarks/src/invalidate_lat.c; do
	ccache gcc -O2 -g -Wall -Werror -I"$rdma/include" -Itests/odp \
		-o "$out/$(basename "$main" .c)" "$main" benchmarks/src/pair.c \
		tests/odp/verbs.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" -lrxe_hmm \
		-libverbs -lpthread
done
# The provider as the ABI revisions before and after ours would build it:
# provider-tests loads each beside the real one and expects it to refuse
# our devices, for the version, and to leave them to the real one.
abi=$(sed -n 's/^#define RXE_HMM_UVERBS_ABI_VERSION \(0x[0-9a-f]*\)$/\1/p' \
	kernel/include/uapi/rdma/rxe_hmm-abi.h)
[ -n "$abi" ] || die "no RXE_HMM_UVERBS_ABI_VERSION in rxe_hmm-abi.h"
suffix=$(sed -n 's/^#define VERBS_PROVIDER_SUFFIX "\(.*\)"$/\1/p' "$rdma/include/config.h")
for rev in prev next; do
	case $rev in
	prev) v=$(printf '%#x' $((abi - 1))) ;;
	next) v=$(printf '%#x' $((abi + 1))) ;;
	esac
	mkdir -p "$out/abi-$rev/rdma"
	sed "s/^\(#define RXE_HMM_UVERBS_ABI_VERSION\) $abi$/\1 $v/" \
		kernel/include/uapi/rdma/rxe_hmm-abi.h >"$out/abi-$rev/rdma/rxe_hmm-abi.h"
	ccache gcc -O2 -std=gnu11 -fPIC -shared -Wall -Werror -I"$out/abi-$rev" \
		-I"$rdma/include" -I/usr/include/libnl3 \
		-o "$out/librxe_hmm_abi_$rev$suffix" rdma-core-provider/rxe_hmm/rxe_hmm.c \
		rdma-core-provider/rxe_hmm/dv.c -L"$rdma/lib" -Wl,-rpath,"$rdma/lib" \
		-libverbs "$rdma/util/librdma_util_pic.a" "$rdma/ccan/libccan_pic.a"
done
touch "$out/done"
echo "$out"
