#!/bin/bash
# make deps: install the bookworm packages the project needs and fetch the
# pinned inputs from Debian's archive under a private apt state, so that the
# system's own apt sources are never touched.
set -euo pipefail
. "$(dirname "$0")/common.sh"

PACKAGES=(
	# kernel and module builds, checks
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod ccache
	sparse rsync xz-utils
	# the guest
	qemu-system-x86 iproute2
	# rdma-core with pyverbs
	cmake ninja-build pkg-config libnl-3-dev libnl-route-3-dev libudev-dev
	python3-dev cython3
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

APT_DIR=$RXE_HMM_CACHE/apt
APT_OPTS=(
	-o Dir::Etc::SourceList="$APT_DIR/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$APT_DIR/lists"
	-o Dir::State::status=/dev/null
	-o Dir::Cache="$APT_DIR/cache"
	-o APT::Sandbox::User=root
)

private_apt_update() {
	local keys=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
	cat >"$APT_DIR/sources.list" <<EOS
deb [signed-by=$keys] http://deb.debian.org/debian $KERNEL_SUITE main
deb-src [signed-by=$keys] http://deb.debian.org/debian sid main
EOS
	# The lists are refreshed at most once a day: sid moves, the pins do not.
	if [ -z "$(find "$APT_DIR/updated" -mtime -1 2>/dev/null)" ]; then
		log "refreshing the private apt lists"
		apt-get "${APT_OPTS[@]}" update -qq
		touch "$APT_DIR/updated"
	fi
}

# Prints "VERSION SHA256 ORIG_TARBALL" of a source package in sid.
source_orig() {
	local pkg=$1 want=${2:-}
	apt-cache "${APT_OPTS[@]}" showsrc "$pkg" | awk -v want="$want" '
		/^Package: / { ver = ""; sums = 0 }
		/^Version: / { ver = $2 }
		/^Checksums-Sha256:/ { sums = 1; next }
		/^[^ ]/ { sums = 0 }
		sums && $3 ~ /\.orig\.tar\./ {
			up = ver; sub(/-[^-]*$/, "", up)
			if (want == "" || up == want) { print ver, $1, $3; exit }
		}'
}

fetch_source() {
	local pkg=$1 want=${2:-} ver sum orig
	read -r ver sum orig < <(source_orig "$pkg" "$want") ||
		die "sid has no source package $pkg${want:+ $want}"
	if [ ! -f "$DL_DIR/$orig" ] ||
	   ! echo "$sum  $DL_DIR/$orig" | sha256sum -c --quiet 2>/dev/null; then
		log "fetching $pkg $ver"
		# The mirror may lack the .dsc or .debian.tar; only the orig
		# tarball is needed, and it is checked by hash below.
		(cd "$DL_DIR" && apt-get "${APT_OPTS[@]}" source --download-only \
			"$pkg=$ver" >/dev/null 2>&1) || true
		[ -f "$DL_DIR/$orig" ] || die "could not fetch $orig"
		echo "$sum  $DL_DIR/$orig" | sha256sum -c --quiet ||
			die "$orig: sha256 mismatch"
	fi
	echo "$pkg $ver $orig" >"$DL_DIR/$pkg.pin"
}

fetch_kernel() {
	local deb=${KERNEL_PKG}_${KERNEL_PKG_VERSION}_all.deb tmp
	[ -f "$KERNEL_SRC/Makefile" ] && return
	if [ ! -f "$DL_DIR/$deb" ]; then
		log "fetching $KERNEL_PKG $KERNEL_PKG_VERSION"
		# apt verifies the .deb against the signed Packages index.
		(cd "$DL_DIR" && apt-get "${APT_OPTS[@]}" download -qq \
			"$KERNEL_PKG=$KERNEL_PKG_VERSION")
	fi
	log "unpacking $KERNEL_PKG"
	tmp=$(mktemp -d "$SRC_DIR/.linux.XXXXXX")
	dpkg-deb --fsys-tarfile "$DL_DIR/$deb" |
		tar -x -C "$tmp" --wildcards './usr/src/linux-source-*.tar.xz'
	mkdir "$tmp/tree"
	tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$tmp/tree" --strip-components=1
	rm -rf "$KERNEL_SRC"
	mv "$tmp/tree" "$KERNEL_SRC"
	rm -rf "$tmp"
}

mkdir -p "$DL_DIR" "$SRC_DIR" "$CCACHE_DIR"
install_packages
private_apt_update
fetch_kernel
fetch_source rdma-core "$RDMA_CORE_VERSION"
fetch_source perftest
fetch_source sparse "$SPARSE_VERSION"
