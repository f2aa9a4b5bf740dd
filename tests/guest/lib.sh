# Helpers for the guest tests; sourced, never run.
# Needs $RXE_HMM_RDMA_CORE (rdma-core build dir) and, for perftest,
# $RXE_HMM_PERFTEST, both set by tests/check.

set -euo pipefail

: "${RXE_HMM_RDMA_CORE:?set by tests/check: the rdma-core build directory}"
export PATH=$RXE_HMM_RDMA_CORE/bin${RXE_HMM_PERFTEST:+:$RXE_HMM_PERFTEST}:$PATH

# The RFC 2544 benchmarking range: test hosts that exist only in this guest.
# setup_veth_pair's namespaces and addresses; a caller that keeps two
# pairs at once (benchmarks/guest/bench.py) sets others.
NS_A=${NS_A:-a}
NS_B=${NS_B:-b}
NET_A=${NET_A:-198.18.0.1}
NET_B=${NET_B:-198.18.0.2}
NET_LO=198.18.1.1
SKIP=77

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Appends one case to $RXE_HMM_CASES: NAME STATUS SECONDS [MESSAGE].
record_case() {
	python3 -c 'import json, sys
r = {"name": sys.argv[1], "status": sys.argv[2], "seconds": float(sys.argv[3])}
if len(sys.argv) > 4 and sys.argv[4]:
    r["message"] = sys.argv[4]
print(json.dumps(r))' "$@" >>"$RXE_HMM_CASES"
}

# Loads a module of the booted kernel once.
load_module() {
	modprobe "$1" || fail "modprobe $1"
}

# load_link_module TYPE: the module behind an rdma link type (rxe: the
# kernel's rdma_rxe, or the build that $RXE_HMM_RXE_MODULE names, such as
# rdma_rxe_fixed; rxe_hmm: ours). Both builds of rxe register link type
# rxe, so the other one is unloaded first.
load_link_module() {
	local m other try
	case $1 in
	rxe)
		m=${RXE_HMM_RXE_MODULE:-rdma_rxe}
		for other in rdma_rxe rdma_rxe_fixed; do
			[ "$other" != "$m" ] && [ -d "/sys/module/$other" ] || continue
			# upstream rxe's exit unregisters every RDMA_DRIVER_RXE
			# device, rxe_hmm's too (README, "Coexistence"); a
			# deleted link's device goes a moment later
			for try in $(seq 50); do
				ls /sys/class/infiniband/*/migrate_policy >/dev/null 2>&1 || break
				sleep 0.1
			done
			! ls /sys/class/infiniband/*/migrate_policy >/dev/null 2>&1 ||
				fail "unloading $other would take rxe_hmm's devices down:" \
					"load rxe before making them"
			# a deleted link lets go of its module a moment later
			for try in $(seq 50); do
				modprobe -r "$other" 2>/dev/null && break
				sleep 0.1
			done
			[ ! -d "/sys/module/$other" ] || fail "modprobe -r $other, for $m"
		done
		load_module "$m"
		;;
	*) load_module "$1" ;;
	esac
}

# in_ns NS CMD...: runs CMD in network namespace NS ("init": the guest's own).
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = init ]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# Two namespaces $NS_A and $NS_B (a, b) joined by a veth pair, an rxe link
# of TYPE on each end (of TYPE_B on b, when given): DEV_A on veth_a (NET_A),
# DEV_B on veth_b (NET_B). Usage: setup_veth_pair TYPE [TYPE_B]
setup_veth_pair() {
	local type=$1 type_b=${2:-$1}
	DEV_A=${type}_a
	DEV_B=${type_b}_b
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add veth_a netns "$NS_A" type veth peer name veth_b netns "$NS_B"
	in_ns "$NS_A" ip addr add "$NET_A/24" dev veth_a
	in_ns "$NS_B" ip addr add "$NET_B/24" dev veth_b
	in_ns "$NS_A" ip link set lo up
	in_ns "$NS_B" ip link set lo up
	in_ns "$NS_A" ip link set veth_a up
	in_ns "$NS_B" ip link set veth_b up
	in_ns "$NS_A" rdma link add "$DEV_A" type "$type" netdev veth_a
	in_ns "$NS_B" rdma link add "$DEV_B" type "$type_b" netdev veth_b
	GID_A=$(gid_index "$DEV_A" "$NET_A")
	GID_B=$(gid_index "$DEV_B" "$NET_B")
}

# Removes what setup_veth_pair and setup_dummy made; safe to call twice.
teardown_net() {
	local dev ns
	for dev in $(rdma -j link show 2>/dev/null |
		python3 -c 'import json, sys
for l in json.load(sys.stdin):
    if l.get("netdev", "").startswith(("veth_", "dummy_")):
        print(l["ifname"].split("/")[0])'); do
		rdma link delete "$dev" || true
	done
	for ns in $(printf '%s\n' a b "$NS_A" "$NS_B" | sort -u); do
		ip netns del "$ns" 2>/dev/null || true
	done
	for dev in $(ip -o link show type dummy | awk -F': ' '{print $2}'); do
		case $dev in dummy_*) ip link del "$dev" ;; esac
	done
}

# Swap on a loop device over a tmpfs file, for the tests of the swap
# cache (lib.py's loop_swap()). Not zram: its I/O is synchronous, so a
# swap-in from it always takes the folio out of the swap cache.
SWAP_FILE=/tmp/rxe_hmm.swap

# setup_swap MB: prints the device. A file left behind (its swap maybe in
# use) is refused, not truncated.
setup_swap() {
	local dev
	[ ! -e "$SWAP_FILE" ] || fail "$SWAP_FILE is left from an earlier test"
	truncate --size "$1M" "$SWAP_FILE"
	dev=$(losetup --find --show "$SWAP_FILE")
	if ! mkswap "$dev" >/dev/null || ! swapon "$dev"; then
		teardown_swap
		fail "no swap on $dev"
	fi
	echo "$dev"
}

# Removes what setup_swap made; safe to call twice. A device that swapoff
# cannot free holds swapped-out pages: it stays, with its file, and fails.
teardown_swap() {
	local dev
	for dev in $(losetup --noheadings --output NAME \
		--associated "$SWAP_FILE" 2>/dev/null); do
		if grep -q "^$dev " /proc/swaps && ! swapoff "$dev"; then
			fail "swapoff $dev failed: it stays, over $SWAP_FILE"
		fi
		losetup --detach "$dev"
	done
	rm -f "$SWAP_FILE"
}

# setup_dummy TYPE DEV NETDEV IPV4: an rxe link DEV of TYPE on a new dummy
# NETDEV with IPV4, in this namespace, for loopback; prints DEV's GID index.
setup_dummy() {
	local type=$1 dev=$2 netdev=$3 ip=$4
	ip link add "$netdev" type dummy
	ip addr add "$ip/24" dev "$netdev"
	ip link set "$netdev" up
	rdma link add "$dev" type "$type" netdev "$netdev"
	gid_index "$dev" "$ip"
}

# One rxe link of TYPE on a dummy device, for loopback: DEV_LO, GID_LO.
setup_loopback() {
	local type=$1
	DEV_LO=${type}_lo
	GID_LO=$(setup_dummy "$type" "$DEV_LO" dummy_lo "$NET_LO")
}

# gid_index DEV IPV4: the index of the RoCE v2 GID of IPV4 on port 1.
gid_index() {
	local dev=$1 ip=$2 port=/sys/class/infiniband/$1/ports/1 want gid i try
	want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' ${ip//./ })
	# The GID table fills in from a work queue after the address appears.
	for try in $(seq 50); do
		for gid in "$port"/gids/*; do
			i=${gid##*/}
			if [ "$(cat "$gid")" = "$want" ] &&
			   [ "$(cat "$port/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then
				echo "$i"
				return
			fi
		done
		sleep 0.1
	done
	fail "$dev has no RoCE v2 GID for $ip"
}

# wait_listen NS PORT: waits until a TCP server listens on PORT in NS.
wait_listen() {
	local try
	for try in $(seq 300); do
		in_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return
		sleep 0.1
	done
	fail "nothing listens on port $2 in namespace $1"
}
