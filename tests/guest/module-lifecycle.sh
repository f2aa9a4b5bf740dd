#!/bin/bash
# rxe_hmm.ko's lifecycle with devices and users alive. Unloading is refused
# while a device exists (as for rdma_rxe in 7.3.4: a device holds a
# reference to its module), and a process with an ODP MR holds a reference
# of its own, so that it would keep the module even without the device. Deleting a
# link under a process's MRs disassociates that process. With the links
# deleted the module unloads, and never takes rdma_rxe's devices with it.
. "$(dirname "$0")/lib.sh"

if [ "${RXE_HMM_LINK_TYPE:-rxe_hmm}" != rxe_hmm ]; then
	echo "this is rxe_hmm's own module"
	exit "$SKIP"
fi
holder=
trap '[ -z "$holder" ] || kill "$holder" 2>/dev/null || :; teardown_net' EXIT
status=0

case_result() {
	record_case "module-lifecycle/$1" "$2" 0 "${3:-}"
	[ "$2" = pass ] || status=1
}

# expect_refused NAME: rmmod must fail with "in use", the device must stay.
expect_refused() {
	local out
	if out=$(rmmod rxe_hmm 2>&1); then
		case_result "$1" fail "rmmod succeeded"
	elif grep -q "in use" <<<"$out" && [ -d /sys/module/rxe_hmm ] &&
		[ -e "/sys/class/infiniband/$DEV_LO" ]; then
		case_result "$1" pass
	else
		case_result "$1" fail "$out"
	fi
}

load_link_module rxe_hmm
setup_loopback rxe_hmm
ibv_rc_pingpong -d "$DEV_LO" -g "$GID_LO" -p 18700 -o >/dev/null 2>&1 &
holder=$!
wait_listen init 18700
# The device alone already refuses the unload (the case after this one):
# what the MR's owner adds is a reference of its own.
held=$(cat /sys/module/rxe_hmm/refcnt)
expect_refused rmmod-refused-with-odp-mr
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=
unheld=$(cat /sys/module/rxe_hmm/refcnt)
if [ "$held" -gt "$unheld" ]; then
	case_result odp-mr-owner-holds-module pass
else
	case_result odp-mr-owner-holds-module fail \
		"module refcnt $held with the ODP MR's owner, $unheld without"
fi
expect_refused rmmod-refused-with-device
# the device still works after the refusals
if out=$(ibv_devinfo -d "$DEV_LO" 2>&1) && grep -q PORT_ACTIVE <<<"$out"; then
	case_result device-works-after-refusal pass
else
	case_result device-works-after-refusal fail "$out"
fi

# Deleting the link while a process holds an ODP MR on it: rxe
# disassociates the process's context (tests/odp: its verbs then fail with
# EIO), the device goes at once, and the module unloads.
ibv_rc_pingpong -d "$DEV_LO" -g "$GID_LO" -p 18701 -o >/dev/null 2>&1 &
holder=$!
wait_listen init 18701
if rdma link delete "$DEV_LO" && [ ! -e "/sys/class/infiniband/$DEV_LO" ] &&
	kill -0 "$holder" && rmmod rxe_hmm; then
	case_result link-delete-with-odp-mr-owner pass
else
	case_result link-delete-with-odp-mr-owner fail "$(ls /sys/class/infiniband)"
fi
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=

# rdma_rxe's devices survive rxe_hmm's unload.
teardown_net
load_link_module rxe_hmm
load_link_module rxe
setup_veth_pair rxe_hmm rxe
in_ns a rdma link delete "$DEV_A"
if out=$(rmmod rxe_hmm 2>&1) && [ ! -d /sys/module/rxe_hmm ] &&
	in_ns b ibv_devinfo -d "$DEV_B" 2>&1 | grep -q PORT_ACTIVE; then
	case_result unload-leaves-rdma_rxe-devices pass
else
	case_result unload-leaves-rdma_rxe-devices fail "rmmod: $out; $(ls /sys/class/infiniband)"
fi
teardown_net

# The other way round, rdma_rxe's exit unregisters rxe_hmm's devices too
# (ib_unregister_driver() of the driver id they share): rxe_hmm must then
# let go of its RoCE sockets, or UDP port 4791 stays bound with no device
# behind it and rdma_rxe, loaded again, cannot bind it.
roce_bound() {
	# 4791 is 12B7; local_address is the second field
	awk 'NR > 1 && $2 ~ /:12B7$/ { found = 1 } END { exit !found }' \
		/proc/net/udp /proc/net/udp6
}
load_link_module rxe_hmm
rxe_m=${RXE_HMM_RXE_MODULE:-rdma_rxe}
load_module "$rxe_m"
setup_dummy rxe_hmm rxe_hmm_d dummy_d 10.0.9.1 >/dev/null
bound_before=no
! roce_bound || bound_before=yes
modprobe -r "$rxe_m"
for try in $(seq 50); do
	[ -e /sys/class/infiniband/rxe_hmm_d ] || break
	sleep 0.1
done
if [ $bound_before = no ]; then
	case_result rdma_rxe-exit-releases-rxe_hmm-socket fail \
		"no socket on port 4791 with rxe_hmm_d"
elif [ -e /sys/class/infiniband/rxe_hmm_d ]; then
	case_result rdma_rxe-exit-releases-rxe_hmm-socket fail \
		"rxe_hmm_d still there after $rxe_m's exit"
elif roce_bound; then
	case_result rdma_rxe-exit-releases-rxe_hmm-socket fail \
		"port 4791 still bound, $(ls /sys/class/infiniband | wc -l) devices"
elif ! out=$(modprobe "$rxe_m" 2>&1 &&
	rdma link add rxe_d type rxe netdev dummy_d 2>&1); then
	case_result rdma_rxe-exit-releases-rxe_hmm-socket fail "$out"
else
	case_result rdma_rxe-exit-releases-rxe_hmm-socket pass
fi
teardown_net
exit $status
