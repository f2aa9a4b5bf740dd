#!/bin/bash
# Wire interop: rxe_hmm in namespace a, the reference rdma_rxe in namespace
# b, on one veth pair. tests/odp/interop runs send, RDMA write, RDMA read
# and both atomics each way, with every byte checked on both sides; the
# rxe_hmm side registers ODP MRs, the rdma_rxe side pinned ones, then ODP
# ones. Upstream rxe 7.3.4's ODP copy ignores the in-page offset, so its
# ODP MRs fail the unaligned checks: that case documents the bug of the
# reference, and tests/expected-failures expects it to fail on 7.3.4.
# rdma_rxe_fixed (rdma_rxe with kernel/patches/upstream/) then serves the
# b side with ODP MRs, and must pass.
. "$(dirname "$0")/lib.sh"

if [ "${RXE_HMM_LINK_TYPE:-rxe_hmm}" != rxe_hmm ]; then
	echo "interop is rxe_hmm against rdma_rxe"
	exit "$SKIP"
fi
load_link_module rxe_hmm
trap 'teardown_net; modprobe -r rdma_rxe_fixed 2>/dev/null || true' EXIT

port=18600
status=0
module=
for side in rdma_rxe:pinned rdma_rxe:odp rdma_rxe_fixed:odp; do
	rxe_mode=${side#*:}
	if [ "$module" != "${side%%:*}" ]; then
		module=${side%%:*}
		teardown_net
		RXE_HMM_RXE_MODULE=$module load_link_module rxe
		setup_veth_pair rxe_hmm rxe
	fi
	port=$((port + 1))
	start=$(date +%s.%N)
	out=$(mktemp)
	in_ns b "$RXE_HMM_TESTS/interop" server "$port" "$DEV_B" "$GID_B" \
		"$rxe_mode" >"$out.server" 2>&1 &
	server=$!
	wait_listen b "$port"
	rc=0
	in_ns a "$RXE_HMM_TESTS/interop" client "$NET_B" "$port" "$DEV_A" \
		"$GID_A" odp >"$out" 2>&1 || rc=$?
	wait "$server" || rc=$?
	cat "$out.server" "$out"
	record_case "interop/rxe_hmm-odp--$module-$rxe_mode" \
		"$([ $rc = 0 ] && echo pass || echo fail)" \
		"$(printf '%.2f' "$(echo "$(date +%s.%N) - $start" | bc)")" \
		"$([ $rc = 0 ] || tail -1 "$out")"
	[ $rc = 0 ] || status=1
	rm -f "$out" "$out.server"
done
exit $status
