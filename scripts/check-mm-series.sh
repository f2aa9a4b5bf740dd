#!/bin/bash
# make lint, for the mm series of kernel/patches/mm/: every patch builds on
# the ones before it in five configs, and adds no W=1 or sparse diagnostic.
#
# usage: scripts/check-mm-series.sh
#
# The configs are the test kernel's, the bench kernel's with
# DEVICE_PRIVATE=n and with MIGRATION=n (which also takes ZONE_DEVICE and
# THP away; hmm.c stays, for INFINIBAND_ON_DEMAND_PAGING), and two 32-bit
# ones with more than 32 physical address bits: i386 with PAE, and arm with
# LPAE (cross-compiled with Debian's gcc-arm-linux-gnueabihf). For each
# prefix of the series the objects that use what the series changes are
# built with W=1 and C=2 (sparse on each of them, rebuilt or not). A
# diagnostic that the same object did not have before the first patch is a
# new one.
#
# Where DEVICE_MIGRATION is not set (the MIGRATION=n and 32-bit configs) the
# series must leave the PFN layout of hmm_pfns[] entries as upstream has it,
# HMM_PFN_ORDER_SHIFT at BITS_PER_LONG - 11: a probe compiled with
# mm/hmm.o's flags asserts it after each patch.
#
# Results are kept in the cache under a hash of the series, the configs and
# this script, so an unchanged series is checked once. Prints one line per
# (patch, config) on stdout: "PATCH CONFIG pass|fail [WHY]", the log of a
# failure on stderr. The exit status is 1 when any failed.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RXE_HMM_TOP"

patches=()
mm_series patches
[ ${#patches[@]} -gt 0 ] || exit 0
export_userspace

# The objects that include what the series touches, each with the option
# that builds it: OBJECT=OPTION.
OBJECTS="mm/hmm.o=HMM_MIRROR mm/migrate_device.o=DEVICE_MIGRATION
lib/test_hmm.o=TEST_HMM drivers/infiniband/core/umem_odp.o=INFINIBAND_ON_DEMAND_PAGING"

fragment_files() {
	local f
	for f in "$@"; do
		echo "$RXE_HMM_TOP/kernel/config/$f.config"
	done
}
# shellcheck disable=SC2086
mapfile -t test_fragments < <(fragment_files $TEST_KERNEL)
# shellcheck disable=SC2086
mapfile -t bench_fragments < <(fragment_files $BENCH_KERNEL)
arm_cc=arm-linux-gnueabihf-
command -v ${arm_cc}gcc >/dev/null ||
	die "no ${arm_cc}gcc (gcc-arm-linux-gnueabihf): run 'make deps'"
key=$(content_hash "$KERNEL_PKG_VERSION" "${patches[@]}" \
	"${test_fragments[@]}" "${bench_fragments[@]}" \
	"$0" "$TEST_KERNEL" "$BENCH_KERNEL" "$SPARSE_VERSION" \
	"$(gcc --version | head -n1)" "$(${arm_cc}gcc --version | head -n1)")
dir=$RXE_HMM_CACHE/mm-series/$key
if [ -f "$dir/done" ]; then
	log "mm series checked before: $dir"
else
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -al "$KERNEL_SRC" "$dir/src"

	cat "${test_fragments[@]}" >"$dir/test.fragment"
	grep -hvE '^CONFIG_(DEVICE_PRIVATE|TEST_HMM)=' "${bench_fragments[@]}" \
		>"$dir/no-device-private.fragment"
	echo "# CONFIG_DEVICE_PRIVATE is not set" >>"$dir/no-device-private.fragment"
	grep -hvE '^CONFIG_(MIGRATION|MEMORY_HOTPLUG|MEMORY_HOTREMOVE|ZONE_DEVICE|DEVICE_PRIVATE|TEST_HMM|TRANSPARENT_HUGEPAGE[A-Z_]*|NUMA_MIGRATION|NUMA_BALANCING)=' \
			"${bench_fragments[@]}" >"$dir/no-migration.fragment"
	# NUMA_MIGRATION (default y with NUMA) would select MIGRATION
	printf '%s\n' "# CONFIG_MIGRATION is not set" \
		"# CONFIG_NUMA_MIGRATION is not set" >>"$dir/no-migration.fragment"
	# The users of hmm.h on 32-bit: RDMA ODP (DEVICE_MIGRATION needs
	# MEMORY_HOTPLUG, which is 64-bit only).
	odp="CONFIG_NET=y CONFIG_INET=y CONFIG_INFINIBAND=y
CONFIG_INFINIBAND_USER_ACCESS=y CONFIG_INFINIBAND_ON_DEMAND_PAGING=y"
	printf '%s\n' "# CONFIG_64BIT is not set" CONFIG_M686=y CONFIG_X86_PAE=y \
		$odp >"$dir/i386-pae.fragment"
	printf '%s\n' CONFIG_MMU=y CONFIG_ARCH_MULTI_V7=y CONFIG_ARM_LPAE=y \
		$odp >"$dir/arm-lpae.fragment"
	cat >"$dir/layout-probe.c" <<'PROBE'
#include <linux/hmm.h>

#ifndef CONFIG_DEVICE_MIGRATION
static_assert(HMM_PFN_ORDER_SHIFT == BITS_PER_LONG - 11,
	      "the PFN layout of hmm_pfns[] entries is not upstream's");
#endif
PROBE
fi

configs="test no-device-private no-migration i386-pae arm-lpae"
kmake() {
	local config=$1 arch=()
	shift
	case $config in
	i386-pae) arch=(ARCH=i386 CC="ccache gcc") ;;
	arm-lpae) arch=(ARCH=arm CROSS_COMPILE=$arm_cc CC="ccache ${arm_cc}gcc") ;;
	*) arch=(CC="ccache gcc") ;;
	esac
	make -C "$dir/src" O="$dir/obj-$config" -j"$JOBS" "${arch[@]}" \
		HOSTCC="ccache gcc" "$@"
}

# Compiles layout-probe.c as mm/hmm.o was compiled in $1's last build.
layout_probe() {
	local config=$1 obj=$dir/obj-$config cmd
	grep -q '^CONFIG_DEVICE_MIGRATION=y' "$obj/.config" && return 0
	cmd=$(sed -n 's/^savedcmd_mm\/hmm\.o := //p' "$obj/mm/.hmm.o.cmd")
	cmd=${cmd%%;*}
	case $cmd in
	*" -c -o mm/hmm.o $dir/src/mm/hmm.c"*) ;;
	*) echo "no compile command for mm/hmm.o"; return 1 ;;
	esac
	cmd=${cmd//-Wp,-MMD,mm\/.hmm.o.d/}
	cmd=${cmd/" -c -o mm/hmm.o $dir/src/mm/hmm.c"/" -c -o /dev/null $dir/layout-probe.c"}
	(cd "$obj" && eval "$cmd") 2>&1
}

# What the config must say for the check to mean anything.
expect() {
	local config=$1 opt=$2 want=$3 got
	got=$(sed -n "s/^$opt=//p" "$dir/obj-$config/.config")
	[ "$got" = "$want" ] || die "$config: $opt=${got:-n}, expected ${want:-n}"
}

# Diagnostics of one build, as "object: message" lines without positions,
# so that a line moved by a patch is not a new diagnostic.
diagnostics() {
	{ grep -E ': (warning|error): ' || true; } |
		sed -E "s#^(\.\./|$dir/src/)*##; s#:[0-9]+:([0-9]+:)? #: #" | sort -u
}

build() {
	local config=$1 objs=() o
	for o in $OBJECTS; do
		grep -q "^CONFIG_${o#*=}=[ym]" "$dir/obj-$config/.config" &&
			objs+=("${o%=*}")
	done
	kmake "$config" -s W=1 C=2 CHECK="$RXE_HMM_SPARSE" "${objs[@]}" 2>&1
}

if [ ! -f "$dir/done" ]; then
	for config in $configs; do
		log "mm series: configuring $config"
		kmake "$config" -s KCONFIG_ALLCONFIG="$dir/$config.fragment" \
			allnoconfig
		expect "$config" CONFIG_HMM_MIRROR y
		case $config in
		test) expect "$config" CONFIG_DEVICE_PRIVATE y ;;
		no-device-private) expect "$config" CONFIG_DEVICE_PRIVATE "" ;;
		no-migration) expect "$config" CONFIG_MIGRATION "" ;;
		i386-pae) expect "$config" CONFIG_X86_PAE y ;;
		arm-lpae) expect "$config" CONFIG_ARM_LPAE y ;;
		esac
		kmake "$config" -s prepare
		log "mm series: $config before the series"
		build "$config" | tee "$dir/$config.0.log" | diagnostics \
			>"$dir/$config.base" || true
	done

	: >"$dir/results"
	n=0
	for p in "${patches[@]}"; do
		n=$((n + 1))
		name=${p##*/}
		if ! patch -d "$dir/src" -p1 --batch --forward --quiet <"$p"; then
			for config in $configs; do
				echo "$n $name $config fail does not apply" >>"$dir/results"
			done
			break
		fi
		for config in $configs; do
			log "mm series: $name in $config"
			if build "$config" >"$dir/$config.$n.log"; then
				new=$(diagnostics <"$dir/$config.$n.log" |
					comm -23 - "$dir/$config.base" | tr '\n' ' ')
				if ! layout_probe "$config" >>"$dir/$config.$n.log"; then
					echo "$n $name $config fail PFN layout is not upstream's" \
						>>"$dir/results"
				elif [ -z "$new" ]; then
					echo "$n $name $config pass" >>"$dir/results"
				else
					echo "$n $name $config fail new diagnostics: $new" \
						>>"$dir/results"
				fi
			else
				echo "$n $name $config fail does not build" >>"$dir/results"
			fi
		done
	done
	touch "$dir/done"
fi

status=0
while read -r n name config result message; do
	echo "${name%.patch} $config $result${message:+ $message}"
	if [ "$result" != pass ]; then
		status=1
		tail -n 20 "$dir/$config.$n.log" >&2 || true
	fi
done <"$dir/results"
exit $status
