#!/bin/bash
# make lint: kernel coding standards of our kernel code, and rdma-core's
# of our provider, as cases.
#
# usage: scripts/lint.sh [--cases FILE]
#   - scripts/checkpatch.pl --strict on every source file under kernel/
#     and on every patch under kernel/patches/ (as a patch);
#   - clang-format with rdma-core's .clang-format on the provider's C;
#   - the module built with W=1 and sparse (C=1): any diagnostic fails;
#   - the module compiled against a stock 7.3.4 tree (no mm series);
#   - each patch of the mm series built in three configs with W=1 and
#     sparse (scripts/check-mm-series.sh).
# Each check is a case (JSON line) in FILE when given; the exit status is
# 1 when any check failed.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RXE_HMM_TOP"

cases=/dev/null
if [ "${1:-}" = --cases ]; then
	cases=$2
fi
status=0

record() {
	python3 -c 'import json, sys
r = {"name": sys.argv[1], "status": sys.argv[2], "seconds": 0, "test": "lint"}
if sys.argv[3]:
    r["message"] = sys.argv[3]
print(json.dumps(r))' "$@" >>"$cases"
	printf '%-5s %s%s\n' "$2" "$1" "${3:+  ($3)}"
	[ "$2" = pass ] || status=1
}

checkpatch() {
	local what=$1 out
	shift
	# --no-tree: the tree here is ours, not the kernel's. Run outside
	# our git checkout, where checkpatch would take a patch file for a
	# file of that tree and check the patch's own lines as source.
	if out=$(cd / && "$KERNEL_SRC/scripts/checkpatch.pl" --strict --no-tree \
		--quiet "$@" 2>&1) && [ -z "$out" ]; then
		record "lint/checkpatch/$what" pass ""
	else
		echo "$out"
		record "lint/checkpatch/$what" fail \
			"$(grep -cE '^(ERROR|WARNING|CHECK)' <<<"$out") findings"
	fi
}

for f in $(git ls-files -co --exclude-standard 'kernel/*.c' 'kernel/*.h'); do
	checkpatch "$f" -f "$RXE_HMM_TOP/$f"
done
for p in $(git ls-files -co --exclude-standard 'kernel/patches/*.patch'); do
	checkpatch "$p" "$RXE_HMM_TOP/$p"
done

# shellcheck disable=SC2086
kdir=$(scripts/build-kernel.sh $TEST_KERNEL)
export_userspace
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
# Every line that is not kbuild's own progress report is a diagnostic.
diag=$(make -C "$kdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" W=1 C=1 \
	CHECK="$RXE_HMM_SPARSE" -j"$JOBS" 2>&1 |
	grep -vE '^(make(\[[0-9]+\])?: |  (CC|CHECK|LD|MODPOST|UPD|AR) )' || true)
if [ -z "$diag" ]; then
	record lint/build-W1-sparse pass ""
else
	echo "$diag"
	record lint/build-W1-sparse fail "$(wc -l <<<"$diag") lines of diagnostics"
fi

# Compile-only against a tree without our mm series. While
# kernel/patches/mm/ is empty the test kernel is that tree, and the build
# above is the check; else a prepared stock tree (no Module.symvers there:
# unresolved symbols are not errors).
mm_patches=()
mm_series mm_patches
if [ ${#mm_patches[@]} -eq 0 ]; then
	ukdir=$kdir
	out="see lint/build-W1-sparse"
else
	# shellcheck disable=SC2086
	ukdir=$(scripts/build-kernel.sh --unpatched-prepared $TEST_KERNEL)
	rm -rf "${out_dir:?}"/*
	out=$(make -C "$ukdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" \
		KBUILD_MODPOST_WARN=1 -j"$JOBS" 2>&1) || true
fi
if [ -f "$out_dir/rxe_hmm.ko" ]; then
	record lint/build-unpatched-7.3.4 pass ""
else
	echo "$out" | tail -n 30
	record lint/build-unpatched-7.3.4 fail "rxe_hmm.ko did not build against $ukdir"
fi

# The provider, in rdma-core's style: clang-format changes nothing.
rc_style=$(dirname "$RXE_HMM_RDMA_CORE")/.clang-format
for f in $(git ls-files -co --exclude-standard 'rdma-core-provider/*.[ch]'); do
	if out=$(clang-format --style=file:"$rc_style" "$f" | diff -u "$f" -); then
		record "lint/clang-format/$f" pass ""
	else
		echo "$out"
		record "lint/clang-format/$f" fail "$(grep -c '^-[^-]' <<<"$out") lines to reformat"
	fi
done

# The mm series: one case per patch and config.
series_status=0
series=$(scripts/check-mm-series.sh) || series_status=$?
while read -r patch config result message; do
	[ -n "$patch" ] || continue
	record "lint/mm-series/$patch/$config" "$result" "$message"
done <<<"$series"
if [ $series_status -ne 0 ] && ! grep -q ' fail' <<<"$series"; then
	record lint/mm-series fail "scripts/check-mm-series.sh exited $series_status"
fi
exit $status
