#!/bin/bash
# Builds a guest kernel from the pinned source, allnoconfig plus the named
# fragments of kernel/config/, with kernel/patches/mm/*.patch applied and
# the patches of kernel/patches/upstream/ that fix the core (umem_odp.c).
# The build lives in the cache under a hash of (version, fragments, patches,
# RECIPE); a finished build is reused, an unfinished one resumed. Prints the
# build's directory.
#
# usage: build-kernel.sh [--unpatched-prepared] FRAGMENT...
#   (e.g. guest debug kasan)
#   --unpatched-prepared: without any of our patches and only configured and
#   prepared for external modules (make modules_prepare), for compiling
#   rxe_hmm.ko against a stock 7.3.4 tree.
set -euo pipefail
. "$(dirname "$0")/common.sh"

# Build output goes to stderr; stdout carries only the result.
exec 3>&1 1>&2

# Bump when a change to this script changes what it builds.
RECIPE=2

mode=full
if [ "${1:-}" = --unpatched-prepared ]; then
	mode=unpatched-prepared
	shift
fi
[ $# -gt 0 ] || die "usage: $0 [--unpatched-prepared] FRAGMENT..."
[ -f "$KERNEL_SRC/Makefile" ] || die "no kernel source: run 'make deps'"

fragments=()
for f in "$@"; do
	fragments+=("$RXE_HMM_TOP/kernel/config/$f.config")
	[ -f "${fragments[-1]}" ] || die "no fragment kernel/config/$f.config"
done
patches=()
if [ $mode = full ]; then
	mm_series patches
	# The fixes of kernel/patches/upstream/ to what rxe needs of the
	# core, except in a kernel of the stock-core fragment (make
	# check-full shows the bugs they fix there).
	core_fixes=()
	case " $* " in
	*" stock-core "*) ;;
	*) upstream_series core_fixes core ;;
	esac
	patches+=("${core_fixes[@]+"${core_fixes[@]}"}")
fi

key=$(content_hash "$KERNEL_PKG_VERSION" "${fragments[@]}" \
	"${patches[@]+"${patches[@]}"}" "recipe $RECIPE" "mode $mode")
dir=$RXE_HMM_CACHE/kernel/$(IFS=-; echo "$*")-$key
[ $mode = full ] || dir=$dir-$mode
if [ -f "$dir/done" ]; then
	echo "$dir" >&3
	exit 0
fi

log "building kernel $(IFS=+; echo "$*") into $dir"
# What an interrupted build left in obj/ is reused; the rest is redone.
rm -rf "$dir/src" "$dir/mods" "$dir/selftests"
mkdir -p "$dir/selftests"
src=$KERNEL_SRC
if [ ${#patches[@]} -gt 0 ]; then
	# Hard links keep the copy cheap; patch(1) replaces the files it edits.
	src=$dir/src
	cp -al "$KERNEL_SRC" "$src"
	for p in "${patches[@]}"; do
		log "applying ${p#"$RXE_HMM_TOP"/}"
		patch -d "$src" -p1 --batch --forward --quiet <"$p" ||
			die "${p#"$RXE_HMM_TOP"/} does not apply"
	done
fi
ln -sfn "$src" "$dir/source"
# which of kernel/patches/upstream/ the kernel carries, for the guest tests
printf '%s\n' "${core_fixes[@]+"${core_fixes[@]##*/}"}" >"$dir/core-fixes"

obj=$dir/obj
mkdir -p "$obj"
cat "${fragments[@]}" >"$dir/fragment.config"
kmake() {
	make -C "$src" O="$obj" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" \
		KBUILD_BUILD_USER=rxe-hmm KBUILD_BUILD_HOST=guest \
		KBUILD_BUILD_TIMESTAMP="$KERNEL_PKG_VERSION" "$@"
}
kmake -s KCONFIG_ALLCONFIG="$dir/fragment.config" allnoconfig

# Kconfig drops an option whose dependencies are unmet without a word.
bad=0
while IFS='=' read -r opt val; do
	got=$(sed -n "s/^$opt=//p" "$obj/.config")
	if [ "$got" != "$val" ]; then
		echo "error: $opt=$val requested, .config has ${got:-it unset}" >&2
		bad=1
	fi
done < <(grep -hE '^CONFIG_[A-Z0-9_]+=' "$dir/fragment.config")
[ $bad -eq 0 ] || die "kernel config does not match the fragments"

if [ $mode = unpatched-prepared ]; then
	kmake -s modules_prepare
	kmake -s kernelrelease >"$dir/release"
	touch "$dir/done"
	echo "$dir" >&3
	exit 0
fi

kmake -s bzImage modules
kmake -s INSTALL_MOD_PATH="$dir/mods" INSTALL_MOD_STRIP=1 modules_install
kmake -s headers

# hmm-tests, the mm selftest that drives lib/test_hmm.ko, from the same tree.
make -s -C "$src/tools/testing/selftests/mm" OUTPUT="$dir/selftests" \
	KHDR_INCLUDES="-isystem $obj/usr/include" CC="ccache gcc" \
	"$dir/selftests/hmm-tests"

kmake -s kernelrelease >"$dir/release"
touch "$dir/done"
echo "$dir" >&3
