#!/bin/bash
# tests/vm/selftest: runs after hang.sh; fails when anything of it is left.
child=$(cat "$RXE_HMM_RESULTS/hang.child")
if kill -0 "$child" 2>/dev/null; then
	echo "hang.sh's child $child survived its timeout"
	exit 1
fi
if ip netns list | grep -qw a; then
	echo "hang.sh's namespace a survived its timeout"
	exit 1
fi
