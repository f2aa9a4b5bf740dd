# rxe-hmm: soft-RoCE with HMM-based on-demand paging.
#
#   make run       main job: boots the benchmark guest, prints the perftest table
#   make check     tests: boots the test guest, runs tests/suite
#   make deps      installs packages and fetches the pinned inputs
#   make baseline  regenerates tests/baseline/ on upstream rdma_rxe
#
# Builds live in $(RXE_HMM_CACHE) (default ~/.cache/rxe-hmm), never here.

SHELL := /bin/bash
T ?=

.PHONY: all deps kernel bench-kernel userspace check baseline run clean

all: kernel userspace

deps:
	@scripts/deps.sh

kernel: deps
	@. scripts/common.sh && scripts/build-kernel.sh $$TEST_KERNEL

bench-kernel: deps
	@. scripts/common.sh && scripts/build-kernel.sh $$BENCH_KERNEL

userspace: deps
	@scripts/build-userspace.sh

check: deps
	@tests/check $(T)

baseline: deps
	@tests/baseline/update

run: deps
	@benchmarks/perftest-table

clean:
	rm -rf results
