#!/bin/bash
# make lint: kernel coding standards of our kernel code, and rdma-core's
# of our provider, as cases.
#
# usage: scripts/lint.sh [--cases FILE]
#   - scripts/checkpatch.pl --strict on every source file under kernel/
#     and on every patch under kernel/patches/ (as a patch);
#   - the series on librxe: applies, clang-format clean per patch (rdma-core's
#     .clang-format), buildlib/check-build passes, same uAPI header as ours;
#   - the module built with W=1 and sparse (C=1): any diagnostic fails;
#   - the module compiled against a stock 7.3.4 tree (no mm series);
#   - rdma_rxe_fixed.ko built with W=1 after each rxe patch of
#     kernel/patches/upstream/, then rxe_hmm.ko after each patch of
#     kernel/patches/rxe/ in turn (the series are bisectable);
#   - each patch of the mm series built in three configs with W=1 and
#     sparse (scripts/check-mm-series.sh).
# Each check is a case (JSON line) in FILE when given; the exit status is
# 1 when any check failed. No -e: a check that fails, or cannot run, is
# recorded as failed and the later ones still run (tests/expected-cases
# fails a run in which one of them is missing).
set -uo pipefail
. "$(dirname "$0")/common.sh"
cd "$RXE_HMM_TOP" || exit 1

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
# The pinned tree is a tarball, without git history: checkpatch cannot
# look up the commits that the Fixes: tags of kernel/patches/upstream/
# name (README, "Upstream rxe's bugs", says how they were checked).
for p in $(git ls-files -co --exclude-standard 'kernel/patches/*.patch'); do
	case $p in
	kernel/patches/upstream/*)
		checkpatch "$p" --ignore UNKNOWN_COMMIT_ID "$RXE_HMM_TOP/$p" ;;
	*)
		checkpatch "$p" "$RXE_HMM_TOP/$p" ;;
	esac
done

# shellcheck disable=SC2086
kdir=$(scripts/build-kernel.sh $TEST_KERNEL) || kdir=
sparse='' rdma_core=''
if userspace=$(scripts/build-userspace.sh); then
	sparse=$(awk '$1 == "sparse" { print $2 }' <<<"$userspace")
	rdma_core=$(awk '$1 == "rdma-core" { print $2 }' <<<"$userspace")
fi
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
if [ -z "$kdir" ] || [ -z "$sparse" ]; then
	record lint/build-W1-sparse fail "no test kernel build or no sparse (see above)"
else
	# Every line that is not kbuild's own progress report is a
	# diagnostic, and a make that failed fails whatever it printed.
	log=$out_dir/build.log
	make -C "$kdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" W=1 C=1 \
		CHECK="$sparse" -j"$JOBS" >"$log" 2>&1
	make_status=$?
	diag=$(grep -vE '^(make(\[[0-9]+\])?: (Entering|Leaving) directory|  (CC|CHECK|LD|MODPOST|UPD|AR) )' "$log")
	if [ $make_status -eq 0 ] && [ -z "$diag" ] && [ -f "$out_dir/rxe_hmm.ko" ]; then
		record lint/build-W1-sparse pass ""
	else
		echo "$diag"
		record lint/build-W1-sparse fail \
			"make exited $make_status; $(grep -c . <<<"$diag") lines of diagnostics"
	fi
fi

# series_step CASE KO MAKE_ARG...: builds our tree with W=1 and
# MAKE_ARGs; CASE passes when it builds KO without a diagnostic.
series_step() {
	local case=$1 ko=$2 log make_status diag
	shift 2
	rm -rf "${out_dir:?}"/*
	if [ -z "$kdir" ]; then
		record "$case" fail "no test kernel build"
		return
	fi
	log=$out_dir/series.log
	make -C "$kdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" W=1 -j"$JOBS" \
		CC="ccache gcc" "$@" >"$log" 2>&1
	make_status=$?
	diag=$(grep -vE '^(make(\[[0-9]+\])?: (Entering|Leaving) directory|  (CC|LD|MODPOST|UPD|AR) )' "$log")
	if [ $make_status -eq 0 ] && [ -z "$diag" ] && [ -f "$out_dir/$ko" ]; then
		record "$case" pass ""
	else
		echo "$diag" | tail -n 20
		record "$case" fail \
			"make exited $make_status; $(grep -c . <<<"$diag") lines of diagnostics"
	fi
}

# The upstream series' rxe fixes, one patch more each time, as
# rdma_rxe_fixed.ko alone (obj-m on the command line): each step of what
# goes to linux-rdma builds warning free with W=1. (The core's fix is
# built by every kernel build: build-kernel.sh applies it.)
upstream_series fixes_all rxe
fixes=()
for p in "${fixes_all[@]+"${fixes_all[@]}"}"; do
	fixes+=("$p")
	series_step "lint/upstream-series/$(basename "$p" .patch)" rdma_rxe_fixed.ko \
		obj-m=rdma_rxe_fixed.o rxe_fixes="${fixes[*]}"
done

# The rxe series, one patch more each time, on top of the upstream
# series' rxe fixes: Kbuild takes its patch list from the command line
# (rxe_patches), and each step must build warning free with W=1, our
# engine included.
rxe_patches=()
for p in $(git ls-files -co --exclude-standard 'kernel/patches/rxe/*.patch' | sort); do
	rxe_patches+=("$RXE_HMM_TOP/$p")
	series_step "lint/rxe-series/$(basename "$p" .patch)" rxe_hmm.ko \
		rxe_patches="${rxe_patches[*]}"
done

# Compile-only against a tree without our mm series. While
# kernel/patches/mm/ is empty the test kernel is that tree, and the build
# above is the check; else a prepared stock tree (no Module.symvers there:
# unresolved symbols are not errors).
mm_patches=()
mm_series mm_patches
rm -rf "${out_dir:?}"/*
if [ ${#mm_patches[@]} -eq 0 ]; then
	ukdir=$kdir
	out="see lint/build-W1-sparse"
	make -C "$ukdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" -j"$JOBS" >/dev/null 2>&1
else
	# shellcheck disable=SC2086
	ukdir=$(scripts/build-kernel.sh --unpatched-prepared $TEST_KERNEL) || ukdir=
	out=$( [ -n "$ukdir" ] && make -C "$ukdir/obj" M="$RXE_HMM_TOP" MO="$out_dir" \
		KBUILD_MODPOST_WARN=1 -j"$JOBS" 2>&1)
fi
if [ -n "$ukdir" ] && [ -f "$out_dir/rxe_hmm.ko" ]; then
	record lint/build-unpatched-7.3.4 pass ""
else
	echo "$out" | tail -n 30
	record lint/build-unpatched-7.3.4 fail "rxe_hmm.ko did not build against ${ukdir:-a stock tree}"
fi

# The series on librxe (rdma-core-provider/), which build-userspace.sh
# applied with git am onto a tag of the release: each patch in
# rdma-core's style (clang-format changes none of the lines it touches),
# rdma-core's own build checks on the patched tree, and its copy of our
# uAPI header the same as ours.
rc_src=$(dirname "${rdma_core:-/nonexistent/build}")
# the release, as build-userspace.sh tagged it
rc_base=$(git -C "$rc_src" tag --list 'v*' 2>/dev/null | head -n 1)
rdma_core_series rc_patches
if [ -z "$rc_base" ] ||
	! rc_commits=$(git -C "$rc_src" rev-list --reverse "$rc_base..HEAD" 2>/dev/null); then
	record lint/rdma-core-series/apply fail "no patched rdma-core tree (build-userspace.sh failed?)"
elif [ "$(grep -c . <<<"$rc_commits")" != "${#rc_patches[@]}" ]; then
	record lint/rdma-core-series/apply fail \
		"$(grep -c . <<<"$rc_commits") commits on $rc_base, ${#rc_patches[@]} patches"
else
	record lint/rdma-core-series/apply pass ""
	i=0
	for c in $rc_commits; do
		name=$(basename "${rc_patches[$i]}" .patch)
		i=$((i + 1))
		if out=$(cd "$rc_src" && git clang-format --quiet --diff "$c^" "$c" 2>&1) &&
			{ [ -z "$out" ] || [ "$out" = "no modified files to format" ]; }; then
			record "lint/rdma-core-series/clang-format/$name" pass ""
		else
			echo "$out"
			record "lint/rdma-core-series/clang-format/$name" fail \
				"$(grep -c '^-[^-]' <<<"$out") lines to reformat"
		fi
	done
	if out=$(cd "$rdma_core" && python3 ../buildlib/check-build --src .. --cc gcc 2>&1); then
		record lint/rdma-core-series/check-build pass ""
	else
		echo "$out" | tail -n 30
		record lint/rdma-core-series/check-build fail "buildlib/check-build failed on the patched tree"
	fi
	if cmp -s "$rc_src/kernel-headers/rdma/rxe_hmm-abi.h" kernel/include/uapi/rdma/rxe_hmm-abi.h; then
		record lint/rdma-core-series/uapi-header pass ""
	else
		record lint/rdma-core-series/uapi-header fail \
			"the series' kernel-headers/rdma/rxe_hmm-abi.h is not kernel/include/uapi/rdma/rxe_hmm-abi.h"
	fi
fi

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
