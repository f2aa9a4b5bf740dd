#!/bin/bash
# Builds rxe_hmm.ko against a kernel build of scripts/build-kernel.sh.
#
# usage: scripts/build-module.sh KERNEL_DIR
#
# The module is built out of tree (make -C KDIR M=<checkout> MO=<cache>),
# so the checkout stays clean, and installed with the kernel's own modules
# into a module tree that modprobe and depmod understand:
#   <out>/obj    the kbuild output;
#   <out>/mods   lib/modules/<release>/, the kernel's modules plus
#                extra/: rxe_hmm.ko, rxe_hmm_kunit.ko and rdma_rxe_fixed.ko
#                (upstream's rdma_rxe with kernel/patches/upstream/).
# The result lives in the cache under a hash of the kernel and our
# sources; only the result directory is printed on stdout.
set -euo pipefail
. "$(dirname "$0")/common.sh"

RECIPE=1
[ $# -eq 1 ] || die "usage: $0 KERNEL_DIR"
kdir=$(cd "$1" && pwd -P)
[ -f "$kdir/done" ] || die "$kdir is not a finished kernel build"
rel=$(cat "$kdir/release")

cd "$RXE_HMM_TOP"
mapfile -t sources < <(git ls-files -co --exclude-standard Kbuild kernel | sort)
key=$(content_hash "$(basename "$kdir")" "${sources[@]}" "recipe $RECIPE")
out=$RXE_HMM_CACHE/module/$(basename "$kdir")-$key
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out/obj"
log "building rxe_hmm.ko for $rel"
if ! make -C "$kdir/obj" M="$RXE_HMM_TOP" MO="$out/obj" -j"$JOBS" \
	CC="ccache gcc" >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "rxe_hmm.ko did not build (log: $out/build.log)"
fi

# The kernel's module tree, hard-linked (depmod replaces the files it
# writes rather than editing them), plus ours.
mkdir -p "$out/mods/lib/modules"
cp -al "$kdir/mods/lib/modules/$rel" "$out/mods/lib/modules/"
mkdir -p "$out/mods/lib/modules/$rel/extra"
cp "$out"/obj/*.ko "$out/mods/lib/modules/$rel/extra/"
depmod -b "$out/mods" "$rel"

touch "$out/done"
echo "$out"
