#!/bin/bash
# Host test of scripts/deps.sh's fetch logic (everything but the package
# installs), against fake archives of fake inputs served by apt itself
# from copy: repositories, in a scratch cache: no network, and the real
# cache is never touched (only read, by the real-patches case).
#
# usage: tests/host/deps-fallback.sh [CASES_FILE]
#   Prints one line per case and, last, "N passed, N failed, N skipped";
#   exits 1 when a case failed. With CASES_FILE, appends one JSON line per
#   case to it: {"test": "host", "name": "host/deps/CASE", "status":
#   "pass|fail|skip", "seconds": N, "message": ...}.
#
# The fake inputs are named and versioned as the pins of scripts/common.sh
# (PINS), only their sha256 being the fakes'; the fallbacks offered are
# versions SERIES.90 and SERIES.100 of each pin's series, beside decoys
# outside it (SERIES0.1, the next major). Our kernel patches are replaced
# by fake ones of the same shape (mm: -p1 on the tree; rxe: git paths
# under drivers/infiniband/sw/rxe, applied by kernel/scripts/prepare-rxe),
# except in the real-patches case.

# shellcheck disable=SC2016 # (the bash -c scripts' $1... are theirs)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cases=${1:-/dev/null}
[ "$cases" = /dev/null ] || cases=$(realpath "$cases")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The real cache is only read (real-patches); nothing below may fall back
# to it.
real_cache=${RXE_HMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rxe-hmm}
export RXE_HMM_CACHE=$work/unused
# shellcheck source=../../scripts/common.sh
. "$top/scripts/common.sh"
real_pins=$PINS
arch=$(dpkg --print-architecture)
pool=$work/pool
mkdir -p "$pool" "$work/tmp" "$work/shim" "$work/patches/mm" "$work/patches/rxe" \
	"$work/patches/rdma-core"

# apt-get and apt-cache, logged: an empty log is an archive never asked.
for t in apt-get apt-cache; do
	cat >"$work/shim/$t" <<EOF
#!/bin/sh
echo "$t \$*" >>"\$FAKE_APT_LOG"
exec /usr/bin/$t "\$@"
EOF
	chmod +x "$work/shim/$t"
done

# --- fake inputs --------------------------------------------------------

# The fake kernel tree's files, and patches in our series' shapes: the
# second mm patch builds on the first, as ours do.
kernel_files() { # DIR VARIANT
	mkdir -p "$1/mm" "$1/drivers/infiniband/sw/rxe"
	printf 'VERSION = fake\n' >"$1/Makefile"
	if [ "$2" = bad-mm ]; then
		printf 'a\nB\nc\nd\ne\n' >"$1/mm/hmm.c"
	else
		printf 'a\nb\nc\nd\ne\n' >"$1/mm/hmm.c"
	fi
	if [ "$2" = bad-rxe ]; then
		printf 'one\nTWO\nthree\n' >"$1/drivers/infiniband/sw/rxe/rxe.c"
	else
		printf 'one\ntwo\nthree\n' >"$1/drivers/infiniband/sw/rxe/rxe.c"
	fi
	printf '/* rxe.h */\n' >"$1/drivers/infiniband/sw/rxe/rxe.h"
}

fake_patch() { # FILE PATH OLD NEW
	{
		printf 'From: Fake <fake@example.org>\nSubject: [PATCH] fake\n\n---\n'
		diff -u --label "a/$2" --label "b/$2" <(printf '%b' "$3") \
			<(printf '%b' "$4") || true
	} >"$1"
}
fake_patch "$work/patches/mm/0001-fake.patch" mm/hmm.c \
	'a\nb\nc\nd\ne\n' 'a\nb2\nc\nd\ne\n'
fake_patch "$work/patches/mm/0002-fake.patch" mm/hmm.c \
	'a\nb2\nc\nd\ne\n' 'a\nb2\nc\nd2\ne\n'
fake_patch "$work/patches/rxe/0001-fake.patch" drivers/infiniband/sw/rxe/rxe.c \
	'one\ntwo\nthree\n' 'one\ntwo2\nthree\n'
fake_patch "$work/patches/rdma-core/0001-fake.patch" providers/rxe/rxe.c \
	'one\ntwo\nthree\n' 'one\ntwo2\nthree\n'

# The file name of NAME's input at VERSION.
input_file() { # NAME VERSION
	local up=${2#*:}
	up=${up%-*}
	if [ "$1" = kernel ]; then
		echo "${KERNEL_PKG}_${2}_all.deb"
	else
		echo "${1}_${up}.orig.tar.gz"
	fi
}

# Makes the fake input NAME=VERSION[:VARIANT] in $pool once; prints
# "NAME VERSION FILE SHA256".
fake_input() { # NAME=VERSION[:VARIANT]
	local name=${1%%=*} v=${1#*=} variant='' file d up
	case $v in *:*) variant=${v#*:} v=${v%%:*} ;; esac
	up=${v%-*}
	file=$(input_file "$name" "$v")
	[ -z "$variant" ] || file=$variant/$file
	if [ ! -f "$pool/$file" ]; then
		mkdir -p "$(dirname "$pool/$file")"
		d=$(mktemp -d "$work/tmp/input.XXXXXX")
		if [ "$name" = kernel ]; then
			kernel_files "$d/src/$KERNEL_PKG" "$variant"
			mkdir -p "$d/deb/DEBIAN" "$d/deb/usr/src"
			tar -cJf "$d/deb/usr/src/$KERNEL_PKG.tar.xz" -C "$d/src" "$KERNEL_PKG"
			printf '%s\n' "Package: $KERNEL_PKG" "Version: $v" \
				"Architecture: all" "Maintainer: Fake <fake@example.org>" \
				"Description: fake kernel source" >"$d/deb/DEBIAN/control"
			dpkg-deb --root-owner-group -b "$d/deb" "$pool/$file" >/dev/null
		else
			mkdir -p "$d/$name-$up"
			echo "$name $v" >"$d/$name-$up/VERSION"
			if [ "$name" = rdma-core ]; then
				# What the fake series on librxe edits.
				local s=$d/$name-$up
				mkdir -p "$s/providers/rxe"
				if [ "$variant" = changed ]; then
					printf 'one\nTWO\nthree\n'
				else
					printf 'one\ntwo\nthree\n'
				fi >"$s/providers/rxe/rxe.c"
			fi
			tar -czf "$pool/$file" -C "$d" "$name-$up"
		fi
		rm -rf "$d"
	fi
	echo "$name $v $file $(sha256sum <"$pool/$file" | cut -d' ' -f1)"
}

# fake_archive DIR INPUT...: a repository at DIR holding the INPUTs
# (NAME=VERSION[:VARIANT]): $KERNEL_SUITE's Packages, sid's Sources.
fake_archive() {
	local dir=$1 name v file sum size dist f
	shift
	mkdir -p "$dir/dists/$KERNEL_SUITE/main/binary-$arch" \
		"$dir/dists/sid/main/source"
	ln -sfn "$pool" "$dir/pool"
	: >"$dir/dists/$KERNEL_SUITE/main/binary-$arch/Packages"
	: >"$dir/dists/sid/main/source/Sources"
	for i in "$@"; do
		read -r name v file sum < <(fake_input "$i")
		size=$(stat -c %s "$pool/$file")
		if [ "$name" = kernel ]; then
			printf '%s\n' "Package: $KERNEL_PKG" "Version: $v" \
				"Architecture: all" "Maintainer: Fake <fake@example.org>" \
				"Filename: pool/$file" "Size: $size" "SHA256: $sum" \
				"Description: fake kernel source" "" \
				>>"$dir/dists/$KERNEL_SUITE/main/binary-$arch/Packages"
		else
			printf '%s\n' "Package: $name" "Binary: $name" "Version: $v" \
				"Maintainer: Fake <fake@example.org>" "Architecture: any" \
				"Format: 3.0 (quilt)" "Directory: pool/$(dirname "$file")" \
				"Files:" " $(md5sum <"$pool/$file" | cut -d' ' -f1) $size ${file##*/}" \
				"Checksums-Sha256:" " $sum $size ${file##*/}" "" \
				>>"$dir/dists/sid/main/source/Sources"
		fi
	done
	for dist in "$KERNEL_SUITE" sid; do
		(
			cd "$dir/dists/$dist"
			echo "Suite: $dist"
			echo "Codename: $dist"
			echo "Date: $(date -Ru)"
			echo "Architectures: $arch"
			echo "Components: main"
			echo "SHA256:"
			for f in main/*/*; do
				echo " $(sha256sum <"$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"
			done
		) >"$work/Release" && mv "$work/Release" "$dir/dists/$dist/Release"
	done
}

# PINS with the fake inputs' sha256, and each pin's pieces.
fake_pins=
while read -r name v file sum series; do
	[ -n "$name" ] || continue
	read -r _ _ f sum < <(fake_input "$name=$v")
	[ "$f" = "$file" ] || { echo "error: pin $name: file $file, not $f" >&2; exit 1; }
	fake_pins+="$name $v $file $sum $series"$'\n'
done <<<"$real_pins"
pin_of() { # NAME FIELD (2 version, 3 file, 4 sha256, 5 series)
	awk -v n="$1" -v f="$2" '$1 == n { print $f }' <<<"$fake_pins"
}
# A version of NAME's series: in_series VERSION (SERIES.VERSION).
series_version() { # NAME PART
	local s
	s=$(pin_of "$1" 5)
	if [ "$1" = kernel ]; then
		echo "$s.$2-1~bpo13+1"
	else
		echo "$s.$2-1"
	fi
}
# Inputs outside NAME's series that sort after it: SERIES0.1, next major.
decoys() { # NAME
	local s rev=-1
	s=$(pin_of "$1" 5)
	[ "$1" != kernel ] || rev=-1~bpo13+1
	echo "$1=${s}0.1$rev $1=$((${s%%.*} + 1))${s#"${s%%.*}"}$rev"
}

# run_fetch CACHE ARCHIVE_DIR: deps.sh's fetch_inputs with the fake pins
# and patches; output to CACHE.log, apt's invocations to CACHE.apt.
cat >"$work/overrides.sh" <<'EOF'
PINS=$FAKE_PINS
APT_ARCHIVE=copy:$FAKE_ARCHIVE
APT_TRUST=trusted=yes
mm_series() {
	local -n _s=$1
	_s=("$FAKE_PATCHES"/mm/*.patch)
}
kernel_series() {
	mm_series "$1"
}
rxe_series() {
	local -n _r=$1
	_r=("$FAKE_PATCHES"/rxe/*.patch)
}
rdma_core_series() {
	local -n _c=$1
	_c=("$FAKE_PATCHES"/rdma-core/*.patch)
}
EOF
run_fetch() {
	mkdir -p "$1"
	RXE_HMM_CACHE=$1 FAKE_ARCHIVE=$2 FAKE_APT_LOG=$1.apt \
		FAKE_PINS=$fake_pins FAKE_PATCHES=$work/patches TMPDIR=$work/tmp \
		PATH="$work/shim:$PATH" bash -c '. "$1"; . "$2"; fetch_inputs' \
		_ "$top/scripts/deps.sh" "$work/overrides.sh" >"$1.log" 2>&1
}

# What common.sh makes of a cache: "KERNEL_PKG_VERSION KERNEL_SRC
# RDMA_CORE_VERSION PERFTEST_VERSION SPARSE_VERSION".
common_sees() { # CACHE
	RXE_HMM_CACHE=$1 bash -c '. "$1"; PINS=$2
		KERNEL_PKG_VERSION=$(used_version kernel)
		KERNEL_SRC=$SRC_DIR/linux-${KERNEL_PKG_VERSION%%-*}
		echo "$KERNEL_PKG_VERSION $KERNEL_SRC" \
			"$(upstream_version "$(used_version rdma-core)")" \
			"$(upstream_version "$(used_version perftest)")" \
			"$(upstream_version "$(used_version sparse)")"' \
		_ "$top/scripts/common.sh" "$fake_pins"
}

# Puts the fake pinned inputs NAME... in CACHE's dl.
seed() { # CACHE NAME...
	local c=$1 n
	shift
	mkdir -p "$c/dl"
	for n in "$@"; do
		cp "$pool/$(pin_of "$n" 3)" "$c/dl/"
	done
}

# --- checks -------------------------------------------------------------

why=
# must WHY COMMAND...: runs COMMAND; when it fails, WHY is the case's
# message.
must() {
	"${@:2}" || {
		why=$1
		return 1
	}
}
fails() { ! "$@"; }
has_line() { grep -qxF -- "$2" "$1"; }
empty_dir() { [ -z "$(ls -A "$1")" ]; }
no_file() { [ ! -e "$1" ]; }
no_tmp() { empty_dir "$work/tmp"; }
apt_unasked() { [ ! -s "$1.apt" ] && [ ! -e "$1/apt" ]; }
pinned_line() { # NAME: its versions line when pinned
	echo "$1 $(pin_of "$1" 2) $(pin_of "$1" 3) $(pin_of "$1" 4) pinned"
}
fallback_line() { # NAME VERSION
	local f
	f=$(input_file "$1" "$2")
	echo "$1 $2 $f $(sha256sum <"$pool/$f" | cut -d' ' -f1) fallback"
}
warning_line() { # NAME VERSION
	echo "warning: pinned $1 $(pin_of "$1" 2) is gone from the archive, using $2 instead"
}
# The versions file holds exactly these lines, in this order (and its
# header), and the .pin files say the same.
versions_are() { # CACHE LINE...
	local c=$1 n v f l
	shift
	diff <(grep -v '^#' "$c/dl/versions") <(printf '%s\n' "$@") >&2 || return 1
	for l in "$@"; do
		read -r n v f _ <<<"$l"
		[ "$n" = kernel ] || has_line "$c/dl/$n.pin" "$n $v $f" || return 1
	done
}

# --- cases --------------------------------------------------------------

case_cached() {
	local c=$work/cached
	seed "$c" kernel rdma-core perftest sparse
	must "deps.sh failed with every pinned input cached" \
		run_fetch "$c" "$work/no-archive" || return
	must "the archive was asked: $(tr '\n' ';' <"$c.apt" 2>/dev/null)" \
		apt_unasked "$c" || return
	must "versions or .pin files wrong" versions_are "$c" \
		"$(pinned_line kernel)" "$(pinned_line rdma-core)" \
		"$(pinned_line perftest)" "$(pinned_line sparse)" || return
	must "a warning for pinned inputs" \
		fails grep -q '^warning:' "$c.log" || return
	local k
	k=$(pin_of kernel 2)
	must "the kernel tree is not where common.sh looks" \
		test -f "$c/src/linux-${k%%-*}/Makefile" || return
	must "common.sh sees: $(common_sees "$c")" test "$(common_sees "$c")" = \
		"$k $c/src/linux-${k%%-*} $(upstream_version "$(pin_of rdma-core 2)") $(upstream_version "$(pin_of perftest 2)") $(upstream_version "$(pin_of sparse 2)")" || return
	must "a scratch directory was left behind" no_tmp || return
	why="every input cached with its pinned sha256: fetched nothing, asked no archive"
}

case_cached_tree() {
	local c=$work/cached-tree
	seed "$c" kernel rdma-core perftest sparse
	must "deps.sh failed with every pinned input cached" \
		run_fetch "$c" "$work/no-archive" || return
	rm "$c/dl/$(pin_of kernel 3)"
	must "deps.sh failed with the kernel's .deb gone but its tree there" \
		run_fetch "$c" "$work/no-archive" || return
	must "the archive was asked: $(tr '\n' ';' <"$c.apt" 2>/dev/null)" \
		apt_unasked "$c" || return
	must "the kernel is not recorded as pinned" \
		has_line "$c/dl/versions" "$(pinned_line kernel)" || return
	why="the unpacked pinned kernel tree is used without its .deb, asking no archive"
}

case_pinned_fetched() {
	local c=$work/pinned-fetched a=$work/archive-pinned n inputs=()
	for n in kernel rdma-core perftest sparse; do
		inputs+=("$n=$(pin_of "$n" 2)" "$n=$(series_version "$n" 90)")
	done
	fake_archive "$a" "${inputs[@]}"
	must "deps.sh failed with an archive that has the pins" \
		run_fetch "$c" "$a" || return
	must "the archive was not asked" test -s "$c.apt" || return
	must "versions or .pin files wrong" versions_are "$c" \
		"$(pinned_line kernel)" "$(pinned_line rdma-core)" \
		"$(pinned_line perftest)" "$(pinned_line sparse)" || return
	must "a warning for pinned inputs" \
		fails grep -q '^warning:' "$c.log" || return
	why="an empty cache: the pins fetched, not the newer versions beside them"
}

case_fallback() {
	local c=$work/fallback a=$work/archive-fallback n inputs=() k r p s
	for n in kernel rdma-core perftest sparse; do
		inputs+=("$n=$(series_version "$n" 90)")
		# shellcheck disable=SC2207
		inputs+=($(decoys "$n"))
	done
	inputs+=("kernel=$(series_version kernel 100)" \
		"rdma-core=$(series_version rdma-core 100)")
	fake_archive "$a" "${inputs[@]}"
	k=$(series_version kernel 100)
	r=$(series_version rdma-core 100)
	p=$(series_version perftest 90)
	s=$(series_version sparse 90)
	must "deps.sh failed with the pins gone but their series there" \
		run_fetch "$c" "$a" || return
	for l in "$(warning_line kernel "$k")" "$(warning_line rdma-core "$r")" \
		"$(warning_line perftest "$p")" "$(warning_line sparse "$s")"; do
		must "no line \"$l\"" has_line "$c.log" "$l" || return
	done
	must "versions or .pin files wrong" versions_are "$c" \
		"$(fallback_line kernel "$k")" "$(fallback_line rdma-core "$r")" \
		"$(fallback_line perftest "$p")" "$(fallback_line sparse "$s")" || return
	must "common.sh sees: $(common_sees "$c")" test "$(common_sees "$c")" = \
		"$k $c/src/linux-${k%%-*} ${r%-*} ${p%-*} ${s%-*}" || return
	must "no kernel tree where common.sh looks" \
		test -f "$c/src/linux-${k%%-*}/Makefile" || return
	must "the patch check changed the kernel tree" \
		cmp -s "$c/src/linux-${k%%-*}/mm/hmm.c" <(printf 'a\nb\nc\nd\ne\n') || return
	must "a scratch directory was left behind" no_tmp || return
	# Again, with all that in the cache: the same, patches checked again.
	must "deps.sh failed on its second run" run_fetch "$c" "$a" || return
	must "no warning on the second run" \
		has_line "$c.log" "$(warning_line kernel "$k")" || return
	must "versions changed on the second run" versions_are "$c" \
		"$(fallback_line kernel "$k")" "$(fallback_line rdma-core "$r")" \
		"$(fallback_line perftest "$p")" "$(fallback_line sparse "$s")" || return
	why="the pins gone: $k, $r, $p, $s used, said and recorded"
}

case_series_gone() {
	local c=$work/series-gone a=$work/archive-gone t0 msg
	seed "$c" kernel
	# shellcheck disable=SC2046
	fake_archive "$a" $(decoys rdma-core) "perftest=$(pin_of perftest 2)" \
		"sparse=$(pin_of sparse 2)"
	t0=$SECONDS
	must "deps.sh succeeded with nothing of rdma-core's series left" \
		fails run_fetch "$c" "$a" || return
	msg="error: rdma-core: the pinned $(pin_of rdma-core 2) is gone from the archive, and nothing else of its series $(pin_of rdma-core 5) is there: put $(pin_of rdma-core 3) with sha256 $(pin_of rdma-core 4) in $c/dl (snapshot.debian.org keeps every upload), or move the pin in scripts/common.sh"
	must "no line \"$msg\"" has_line "$c.log" "$msg" || return
	must "not at once: $((SECONDS - t0)) s" test $((SECONDS - t0)) -lt 20 || return
	must "rdma-core recorded" fails grep -q '^rdma-core ' "$c/dl/versions" || return
	must "went on past rdma-core" no_file "$c/dl/$(pin_of perftest 3)" || return
	why="nothing of rdma-core's series left: failed at once, naming the file to put in the cache"
}

case_patch_fails() {
	local c=$work/patch-fails a v variant what msg
	for variant in bad-rxe bad-mm; do
		a=$work/archive-$variant
		v=$(series_version kernel 90)
		fake_archive "$a" "kernel=$v:$variant"
		what=$work/patches/rxe/0001-fake.patch
		[ $variant = bad-rxe ] || what=$work/patches/mm/0001-fake.patch
		must "deps.sh succeeded with a kernel fallback that takes no $what" \
			fails run_fetch "$c-$variant" "$a" || return
		msg="error: $what does not apply to $KERNEL_PKG $v, the fallback for the pinned $(pin_of kernel 2): put $(pin_of kernel 3) with sha256 $(pin_of kernel 4) in $c-$variant/dl, or rebase kernel/patches/ onto $v and move the pin in scripts/common.sh"
		must "($variant) no line \"$msg\"" has_line "$c-$variant.log" "$msg" || return
		must "($variant) the fallback's tree went in place" \
			no_file "$c-$variant/src/linux-${v%%-*}" || return
		must "($variant) the kernel recorded" \
			fails grep -qs '^kernel ' "$c-$variant/dl/versions" || return
		must "($variant) an unpacked tree left behind" \
			empty_dir "$c-$variant/src" || return
		must "($variant) a scratch directory was left behind" no_tmp || return
	done
	why="a kernel fallback that an rxe or an mm patch does not apply to: failed, naming both"
}

case_rdma_core_series_fails() {
	local c=$work/rdma-core-series-fails a=$work/archive-changed v msg
	seed "$c" kernel
	v=$(series_version rdma-core 90)
	fake_archive "$a" "rdma-core=$v:changed"
	must "deps.sh succeeded with an rdma-core fallback our series does not apply to" \
		fails run_fetch "$c" "$a" || return
	msg="error: rdma-core-provider/ does not apply to rdma-core $v, the fallback for the pinned $(pin_of rdma-core 2): put $(pin_of rdma-core 3) with sha256 $(pin_of rdma-core 4) in $c/dl, or rebase the series and move the pin in scripts/common.sh"
	must "no line \"$msg\"" has_line "$c.log" "$msg" || return
	must "rdma-core recorded" fails grep -q '^rdma-core ' "$c/dl/versions" || return
	must "a scratch directory was left behind" no_tmp || return
	why="an rdma-core fallback that a patch of our series on librxe does not apply to: failed, naming it"
}

case_real_patches() {
	local v tree before
	v=$(pin_of kernel 2)
	tree=$real_cache/src/linux-${v%%-*}
	if [ ! -f "$tree/Makefile" ]; then
		why="no unpacked $v in $real_cache (make deps)"
		return 2
	fi
	before=$(find "$tree/mm" "$tree/drivers/infiniband/sw/rxe" -newer "$tree/Makefile" | wc -l)
	must "our patches do not apply to the pinned $v by check_kernel_patches" \
		env RXE_HMM_CACHE="$work/real" TMPDIR="$work/tmp" \
		bash -c '. "$1"; check_kernel_patches "$2"' _ "$top/scripts/deps.sh" "$tree" || return
	must "the real tree changed" test "$(find "$tree/mm" "$tree/drivers/infiniband/sw/rxe" \
		-newer "$tree/Makefile" | wc -l)" = "$before" || return
	must "a scratch directory was left behind" no_tmp || return
	why="kernel/patches/ apply to the pinned $v as the check applies them"
}

# --- running ------------------------------------------------------------

passed=0 failed=0 skipped=0
record() { # NAME STATUS SECONDS MESSAGE
	python3 -c 'import json, sys
print(json.dumps({"test": "host", "name": sys.argv[1], "status": sys.argv[2],
                  "seconds": float(sys.argv[3]), "message": sys.argv[4]}))' "$@" >>"$cases"
	printf '%-5s %s  (%s)\n' "$2" "$1" "$4"
}
run_case() { # NAME
	local start status f rc=0
	why=
	start=$EPOCHREALTIME
	"case_${1//-/_}" >"$work/$1.out" 2>&1 || rc=$?
	case $rc in
	0) status=pass passed=$((passed + 1)) ;;
	2) status=skip skipped=$((skipped + 1)) ;;
	*)
		status=fail failed=$((failed + 1))
		why=${why:-case exited $rc}
		for f in "$work/$1.out" "$work/$1.log" "$work/$1"-*.log; do
			[ ! -f "$f" ] || tail -n 15 "$f" | sed 's/^/    /'
		done
		;;
	esac
	record "host/deps/$1" $status \
		"$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" "$why"
}

for c in cached cached-tree pinned-fetched fallback series-gone patch-fails \
	rdma-core-series-fails real-patches; do
	run_case "$c"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
