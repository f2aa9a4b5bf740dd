#!/bin/bash
# ibv_rc_pingpong with received data checked (-c): two devices on a veth
# pair across two network namespaces, and one device talking to itself;
# with pinned memory, ODP (-o) and ODP with prefetch (-o -P).
. "$(dirname "$0")/lib.sh"

type=${RXE_HMM_LINK_TYPE:-rxe_hmm}
load_link_module "$type"
trap teardown_net EXIT
setup_veth_pair "$type"
setup_loopback "$type"

port=18515
# pingpong CASE SERVER_NS SERVER_DEV SERVER_GID CLIENT_NS CLIENT_DEV CLIENT_GID ADDR FLAGS...
pingpong() {
	local name=$1 sns=$2 sdev=$3 sgid=$4 cns=$5 cdev=$6 cgid=$7 addr=$8 start rc=0 out
	shift 8
	port=$((port + 1))
	start=$(date +%s.%N)
	out=$(mktemp)
	in_ns "$sns" ibv_rc_pingpong -d "$sdev" -g "$sgid" -p "$port" -n 200 -c "$@" \
		>"$out.server" 2>&1 &
	local server=$!
	wait_listen "$sns" "$port"
	in_ns "$cns" ibv_rc_pingpong -d "$cdev" -g "$cgid" -p "$port" -n 200 -c "$@" \
		"$addr" >"$out" 2>&1 || rc=$?
	wait "$server" || rc=$?
	cat "$out.server" "$out"
	# Each side reports "N iters in S seconds" only when every iteration
	# completed and, with -c, every buffer held the expected bytes.
	[ "$(grep -c '200 iters in' "$out.server" "$out" | awk -F: '{s += $2} END {print s}')" = 2 ] || rc=1
	record_case "pingpong/$name" "$([ $rc = 0 ] && echo pass || echo fail)" \
		"$(printf '%.2f' "$(echo "$(date +%s.%N) - $start" | bc)")" \
		"$([ $rc = 0 ] || tail -1 "$out")"
	rm -f "$out" "$out.server"
}

for mode in pinned odp odp-prefetch; do
	case $mode in
	pinned) flags=() ;;
	odp) flags=(-o) ;;
	odp-prefetch) flags=(-o -P) ;;
	esac
	pingpong "veth-netns-$mode" b "$DEV_B" "$GID_B" a "$DEV_A" "$GID_A" "$NET_B" \
		"${flags[@]+"${flags[@]}"}"
	pingpong "loopback-$mode" init "$DEV_LO" "$GID_LO" init "$DEV_LO" "$GID_LO" \
		"$NET_LO" "${flags[@]+"${flags[@]}"}"
done
