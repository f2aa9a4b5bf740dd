#!/bin/bash
# tests/vm/selftest: a test that hangs with a server in a network namespace
# and a child in its process group; its timeout must kill them all and
# tear the namespace down, as its own EXIT trap would have.
ip netns add a
ip netns exec a sleep 1000 &
echo $! >"$RXE_HMM_RESULTS/hang.child"
sleep 1000
