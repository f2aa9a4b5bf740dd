#!/bin/bash
# ibv_rc_pingpong with received data checked (-c): two devices on a veth
# pair across two network namespaces, and one device talking to itself;
# with pinned memory, ODP (-o) and ODP with prefetch (-o -P).
# rdma-core's -c fills every buffer with zeroes and compares one byte per
# page; on a mismatch it prints "invalid data in page N" and still exits
# 0, so that message fails the case here. It catches garbage, not
# misplaced bytes: odp-tests and interop check every byte of a pattern.
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
	# completed; "invalid data" is -c's verdict on a received buffer.
	local why=
	if grep -q 'invalid data' "$out.server" "$out"; then
		why=$(grep -h -m1 'invalid data' "$out.server" "$out")
	elif [ "$(grep -c '200 iters in' "$out.server" "$out" | awk -F: '{s += $2} END {print s}')" != 2 ]; then
		why="not both sides completed 200 iterations: $(tail -1 "$out")"
	elif [ $rc != 0 ]; then
		why="exit status $rc: $(tail -1 "$out")"
	fi
	record_case "pingpong/$name" "$([ -z "$why" ] && echo pass || echo fail)" \
		"$(printf '%.2f' "$(echo "$(date +%s.%N) - $start" | bc)")" "$why"
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
