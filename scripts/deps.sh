#!/bin/bash
# make deps: install the bookworm packages the project needs and fetch the
# pinned inputs (PINS in common.sh) from Debian's archive under a private
# apt state, so that the system's own apt sources are never touched.
#
# An input already in the cache ($DL_DIR) with its pinned sha256 is used
# as it is, without asking the archive: the private apt state is refreshed
# and consulted only for what is missing. When the archive no longer has a
# pin, the newest version of the pin's series that it has is used instead,
# with a warning, once our patches are seen to apply to it (the kernel's;
# the series of rdma-core-provider/ for rdma-core). When it has none, or a patch
# does not apply, this fails at once, naming the file to put in $DL_DIR.
# What was used goes to $DL_DIR/versions, one line per input,
# "NAME VERSION FILE SHA256 pinned|fallback" (common.sh reads it back), and
# for the tarballs to $DL_DIR/NAME.pin, "NAME VERSION FILE"
# (build-userspace.sh reads those).
#
# Sourced (tests/host/deps-fallback.sh does), it only defines its functions.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PACKAGES=(
	# kernel and module builds, checks
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod ccache
	sparse rsync xz-utils
	# the mm series' arm LPAE build check (scripts/check-mm-series.sh)
	gcc-arm-linux-gnueabihf
	# the guest
	qemu-system-x86 iproute2
	# rdma-core with pyverbs
	cmake ninja-build pkg-config libnl-3-dev libnl-route-3-dev libudev-dev
	python3-dev cython3
	# rdma-core's man pages
	pandoc python3-docutils
	# the distribution's own userspace, driving rxe_hmm unbuilt
	ibverbs-utils ibverbs-providers perftest
	# perftest
	autoconf automake libtool libpci-dev
	# the provider's style check (rdma-core's .clang-format)
	clang-format
	# the benchmarks' plots (benchmarks/report.py)
	gnuplot-nox
)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "installing ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >"$RXE_HMM_CACHE/apt-install.log" 2>&1 ||
		{ cat "$RXE_HMM_CACHE/apt-install.log" >&2; die "apt-get install failed"; }
}

# The archive; tests/host/deps-fallback.sh points these at a fake one.
APT_ARCHIVE=http://deb.debian.org/debian
APT_TRUST=signed-by=/usr/share/keyrings/debian-archive-keyring.gpg

APT_DIR=$RXE_HMM_CACHE/apt
APT_OPTS=(
	-o Dir::Etc::SourceList="$APT_DIR/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$APT_DIR/lists"
	-o Dir::State::status=/dev/null
	-o Dir::Cache="$APT_DIR/cache"
	-o APT::Sandbox::User=root
)
apt_ready=

# Sets up the private apt state, once a run, for what is not in the cache.
private_apt() {
	local sources
	[ -z "$apt_ready" ] || return 0
	apt_ready=1
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
	sources="deb [$APT_TRUST] $APT_ARCHIVE $KERNEL_SUITE main
deb-src [$APT_TRUST] $APT_ARCHIVE sid main"
	if [ "$(cat "$APT_DIR/sources.list" 2>/dev/null)" != "$sources" ]; then
		echo "$sources" >"$APT_DIR/sources.list"
		rm -f "$APT_DIR/updated"
	fi
	# The lists are refreshed at most once a day: sid moves, the pins do not.
	[ -z "$(find "$APT_DIR/updated" -mtime -1 2>/dev/null)" ] || return 0
	log "refreshing the private apt lists"
	if apt-get "${APT_OPTS[@]}" update -qq; then
		touch "$APT_DIR/updated"
	elif [ -e "$APT_DIR/updated" ]; then
		warn "refreshing the private apt lists failed; using those of" \
			"$(date -r "$APT_DIR/updated" +%F)"
	else
		die "apt-get update of the private apt state in $APT_DIR failed"
	fi
}

# archive_debs PKG: "VERSION SHA256 FILE" of each version of the binary
# package PKG in the private index.
archive_debs() {
	# (apt-cache show fails for a package it does not know.)
	apt-cache "${APT_OPTS[@]}" show "$1" 2>/dev/null | awk '
		/^Version: / { ver = $2 }
		/^SHA256: / { sum = $2 }
		/^Filename: / { file = $2; sub(/.*\//, "", file) }
		/^$/ { if (ver != "") print ver, sum, file; ver = "" }
		END { if (ver != "") print ver, sum, file }' || true
}

# archive_sources PKG: "VERSION SHA256 ORIG_TARBALL" of each version of the
# source package PKG in the private index.
archive_sources() {
	local out
	out=$(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$1" \
		2>"$APT_DIR/showsrc.err") ||
		die "apt-cache showsrc $1 failed: $(cat "$APT_DIR/showsrc.err")"
	awk -v pkg="$1" '
		/^Package: / { name = $2; ver = ""; sums = 0 }
		/^Version: / { ver = $2 }
		/^Checksums-Sha256:/ { sums = 1; next }
		/^[^ ]/ { sums = 0 }
		sums && name == pkg && $3 ~ /\.orig\.tar\./ { print ver, $1, $3 }' <<<"$out"
}

# choose NAME LIST: of LIST ("VERSION SHA256 FILE" lines, what the archive
# has of NAME), the pin (the file with the pinned sha256), or else the
# newest version of the pin's series, in a file of the same kind. Sets
# use_version, use_file, use_sum, use_status (pinned or fallback) and
# archive_version (what to ask apt for). Dies when there is neither.
choose() {
	local name=$1 v s f
	use_status=
	while read -r v s f; do
		[ -n "$v" ] || continue
		if [ "$s" = "$pin_sum" ]; then
			use_version=$pin_version use_file=$f use_sum=$s
			use_status=pinned archive_version=$v
			return 0
		fi
		[ "$f" != "$pin_file" ] ||
			die "the archive's $f ($name $v) has sha256 $s, not the pinned $pin_sum"
		# (build-userspace.sh unpacks .tar.gz.)
		if ! in_series "$v" "$pin_series" ||
		   [ "${f##*.}" != "${pin_file##*.}" ]; then
			continue
		fi
		if [ -z "$use_status" ] ||
		   dpkg --compare-versions "$v" gt "$archive_version"; then
			use_version=$v use_file=$f use_sum=$s
			use_status=fallback archive_version=$v
		fi
	done <<<"$2"
	[ -n "$use_status" ] ||
		die "$name: the pinned $pin_version is gone from the archive, and" \
			"nothing else of its series $pin_series is there: put $pin_file" \
			"with sha256 $pin_sum in $DL_DIR (snapshot.debian.org keeps" \
			"every upload), or move the pin in scripts/common.sh"
}

# cached FILE SHA256: whether $DL_DIR/FILE is there with that sha256.
cached() {
	[ -f "$DL_DIR/$1" ] &&
		[ "$(sha256sum <"$DL_DIR/$1" | cut -d' ' -f1)" = "$2" ]
}

# drop_mismatch FILE SHA256: makes way in $DL_DIR for a fetch of FILE:
# removes what is there under that name with another sha256 (a download
# cut short, say).
drop_mismatch() {
	if [ -e "$DL_DIR/$1" ] && ! cached "$1" "$2"; then
		log "removing $DL_DIR/$1: its sha256 is not $2"
		rm -f "$DL_DIR/$1"
	fi
}

# The warning for a fallback, and what to do to get the pin back.
warn_fallback() {
	warn "pinned $1 $pin_version is gone from the archive, using $use_version instead"
	warn "(recorded in $DL_DIR/versions; to build the pinned one, put" \
		"$pin_file with sha256 $pin_sum in $DL_DIR)"
}

# record NAME: NAME's line of $DL_DIR/versions, from use_*.
record() {
	local f=$DL_DIR/versions
	{
		echo "# NAME VERSION FILE SHA256 pinned|fallback|system, by scripts/deps.sh"
		[ ! -f "$f" ] || awk -v name="$1" '!/^#/ && $1 != name' "$f"
		echo "$1 $use_version $use_file $use_sum $use_status"
	} >"$f.tmp"
	mv "$f.tmp" "$f"
}

# mm_series is common.sh's; kernel_series NAME: the patches that
# build-kernel.sh applies, the mm series and the core's upstream fixes.
kernel_series() {
	local -n _k=$1
	local core=()
	mm_series _k
	upstream_series core core
	_k+=("${core[@]+"${core[@]}"}")
}

# rxe_series NAME: sets the array NAME to prepare-rxe's arguments for
# rxe_hmm, in Kbuild's order: upstream's rxe fixes, --drop-odp, then the
# patches of kernel/patches/rxe/.
rxe_series() {
	local -n _rxe=$1
	local p
	upstream_series _rxe rxe
	_rxe+=(--drop-odp)
	for p in "$RXE_HMM_TOP"/kernel/patches/rxe/*.patch; do
		if [ -f "$p" ]; then
			_rxe+=("$p")
		fi
	done
}

# check_rdma_core_series TREE: whether the series applies to the unpacked
# rdma-core TREE, patch by patch (it changes TREE).
check_rdma_core_series() {
	local series p
	rdma_core_series series
	for p in "${series[@]}"; do
		patch -d "$1" -p1 -s --forward --batch <"$p" >/dev/null || return 1
	done
}

# check_kernel_patches TREE: whether our kernel patches apply to the
# kernel tree TREE as the builds apply them: the mm series and the core's
# upstream fixes in order with patch -p1 on the tree (build-kernel.sh),
# then the rxe patches on its
# drivers/infiniband/sw/rxe by kernel/scripts/prepare-rxe itself (Kbuild).
# The series builds on itself (three of its patches edit mm/hmm.c), so it
# is applied for real, to copies of the files it edits: TREE is left as it
# is. Sets bad_patch to the first one that does not apply.
check_kernel_patches() {
	local tree=$1 scratch p f mm=() rxe=() rxe_dir=drivers/infiniband/sw/rxe
	kernel_series mm
	rxe_series rxe
	bad_patch=
	scratch=$(mktemp -d)
	mkdir -p "$scratch/tree/$rxe_dir"
	cp "$tree/$rxe_dir"/*.[ch] "$scratch/tree/$rxe_dir/" 2>/dev/null || true
	if [ ${#mm[@]} -gt 0 ]; then
		sed -n 's|^--- a/\([^[:space:]]*\).*|\1|p' "${mm[@]}" | sort -u |
			while read -r f; do
				[ -f "$tree/$f" ] || continue
				mkdir -p "$(dirname "$scratch/tree/$f")"
				cp "$tree/$f" "$scratch/tree/$f"
			done
	fi
	for p in "${mm[@]}"; do
		if ! patch -d "$scratch/tree" -p1 --batch --forward --quiet \
			<"$p" >"$scratch/log" 2>&1; then
			sed 's/^/  /' "$scratch/log" >&2
			bad_patch=$p
			break
		fi
	done
	if [ -z "$bad_patch" ] && [ ${#rxe[@]} -gt 0 ] &&
	   ! sh "$RXE_HMM_TOP/kernel/scripts/prepare-rxe" \
		"$scratch/tree/$rxe_dir" "$scratch/rxe" "${rxe[@]}" >"$scratch/log" 2>&1; then
		sed 's/^/  /' "$scratch/log" >&2
		bad_patch=$(sed -n 's/^prepare-rxe: \(.*\) does not apply to .*/\1/p' \
			"$scratch/log")
		bad_patch=${bad_patch:-${rxe[0]}}
	fi
	rm -rf "$scratch"
	[ -z "$bad_patch" ]
}

# tree_from VERSION FILE SHA256: whether the kernel tree of VERSION is
# there, unpacked from FILE with that sha256.
tree_from() {
	local tree=$SRC_DIR/linux-${1%%-*}
	[ -f "$tree/Makefile" ] && [ "$(cat "$tree.from" 2>/dev/null)" = "$2 $3" ]
}

# Unpacks the kernel of use_* into $SRC_DIR/linux-UPSTREAM (the
# KERNEL_SRC that common.sh derives from $DL_DIR/versions), unless it is
# there; checks our patches against a fallback before it goes in place.
unpack_kernel() {
	local tree=$SRC_DIR/linux-${use_version%%-*} src tmp=
	src=$tree
	if tree_from "$use_version" "$use_file" "$use_sum"; then
		:
	elif [ -f "$tree/Makefile" ] && [ ! -e "$tree.from" ] &&
	     [ "$use_status" = pinned ]; then
		# Unpacked by a deps.sh that fetched nothing but the pin.
		echo "$use_file $use_sum" >"$tree.from"
	else
		log "unpacking $use_file"
		tmp=$(mktemp -d "$SRC_DIR/.linux.XXXXXX")
		dpkg-deb --fsys-tarfile "$DL_DIR/$use_file" |
			tar -x -C "$tmp" --wildcards './usr/src/linux-source-*.tar.xz'
		mkdir "$tmp/tree"
		tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$tmp/tree" \
			--strip-components=1
		src=$tmp/tree
	fi
	if [ "$use_status" = fallback ] && ! check_kernel_patches "$src"; then
		[ -z "$tmp" ] || rm -rf "$tmp"
		die "${bad_patch#"$RXE_HMM_TOP"/} does not apply to $KERNEL_PKG" \
			"$use_version, the fallback for the pinned $pin_version: put" \
			"$pin_file with sha256 $pin_sum in $DL_DIR, or rebase" \
			"kernel/patches/ onto $use_version and move the pin in" \
			"scripts/common.sh"
	fi
	if [ -n "$tmp" ]; then
		rm -rf "$tree" "$tree.from"
		mv "$src" "$tree"
		rm -rf "$tmp"
		echo "$use_file $use_sum" >"$tree.from"
	fi
}

fetch_kernel() {
	local pin_version pin_file pin_sum pin_series list
	pin kernel
	if tree_from "$pin_version" "$pin_file" "$pin_sum" ||
	   cached "$pin_file" "$pin_sum"; then
		use_version=$pin_version use_file=$pin_file use_sum=$pin_sum
		use_status=pinned
	else
		private_apt
		list=$(archive_debs "$KERNEL_PKG")
		choose kernel "$list"
		if ! tree_from "$use_version" "$use_file" "$use_sum" &&
		   ! cached "$use_file" "$use_sum"; then
			log "fetching $KERNEL_PKG $archive_version"
			drop_mismatch "$use_file" "$use_sum"
			# apt verifies the .deb against the signed Packages index.
			(cd "$DL_DIR" && apt-get "${APT_OPTS[@]}" download -qq \
				"$KERNEL_PKG=$archive_version") ||
				die "could not fetch $KERNEL_PKG $archive_version"
			cached "$use_file" "$use_sum" ||
				die "$DL_DIR/$use_file: not fetched, or its sha256 is not $use_sum"
		fi
	fi
	[ "$use_status" = pinned ] || warn_fallback kernel
	unpack_kernel
	record kernel
}

# fetch_source NAME: the orig tarball of source package NAME.
fetch_source() {
	local name=$1 pin_version pin_file pin_sum pin_series list scratch
	pin "$name"
	if cached "$pin_file" "$pin_sum"; then
		use_version=$pin_version use_file=$pin_file use_sum=$pin_sum
		use_status=pinned
	else
		private_apt
		list=$(archive_sources "$name")
		choose "$name" "$list"
		if ! cached "$use_file" "$use_sum"; then
			log "fetching $name $archive_version"
			drop_mismatch "$use_file" "$use_sum"
			# The mirror may lack the .dsc or .debian.tar; only the
			# orig tarball is needed, and it is checked by hash below.
			(cd "$DL_DIR" && apt-get "${APT_OPTS[@]}" source --download-only \
				"$name=$archive_version" >/dev/null 2>&1) || true
			cached "$use_file" "$use_sum" ||
				die "could not fetch $use_file with sha256 $use_sum ($name" \
					"$archive_version): put it in $DL_DIR"
		fi
	fi
	if [ "$use_status" = fallback ]; then
		warn_fallback "$name"
		if [ "$name" = rdma-core ]; then
			# Our series on librxe, which build-userspace.sh applies.
			scratch=$(mktemp -d)
			mkdir "$scratch/src"
			if ! { tar -xzf "$DL_DIR/$use_file" -C "$scratch/src" \
				--strip-components=1 &&
				check_rdma_core_series "$scratch/src"; }; then
				rm -rf "$scratch"
				die "rdma-core-provider/ does not apply to rdma-core" \
					"$use_version, the fallback for the pinned $pin_version:" \
					"put $pin_file with sha256 $pin_sum in $DL_DIR, or rebase" \
					"the series and move the pin in scripts/common.sh"
			fi
			rm -rf "$scratch"
		fi
	fi
	echo "$name $use_version $use_file" >"$DL_DIR/$name.pin"
	record "$name"
}

# record_package NAME PACKAGE: the installed version of a bookworm package
# as NAME's line of $DL_DIR/versions (tests/expected-failures keys on it).
record_package() {
	local use_version use_file=- use_sum=- use_status=system
	use_version=$(dpkg-query -W -f='${Version}' "$2") ||
		die "$2 is not installed"
	record "$1"
}

# Everything but the packages.
fetch_inputs() {
	mkdir -p "$DL_DIR" "$SRC_DIR"
	fetch_kernel
	fetch_source rdma-core
	fetch_source perftest
	fetch_source sparse
}

main() {
	mkdir -p "$CCACHE_DIR"
	install_packages
	fetch_inputs
	# what tests/guest/distro-userspace.py drives rxe_hmm with
	record_package distro-rdma-core ibverbs-providers
	record_package distro-perftest perftest
}

[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
