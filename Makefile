# rxe-hmm: soft-RoCE with HMM-based on-demand paging.
#
#   make run       main job: boots the benchmark guest, runs the default
#                  benchmark set, prints its tables and writes its plots
#   make bench     the full benchmark set, 5 repeats
#   make check     tests: boots the test guest, runs tests/suite
#   make check-full  make check, then the heavy tier of tests/suite-full
#                  (more kernels; CI does not run it)
#   make deps      installs packages and fetches the pinned inputs
#   make lint      checkpatch --strict, W=1 and sparse on our kernel code
#   make module    builds rxe_hmm.ko for the test kernel (into the cache)
#   make baseline  regenerates tests/baseline/ on upstream rdma_rxe
#
# Builds live in $(RXE_HMM_CACHE) (default ~/.cache/rxe-hmm), never here.

SHELL := /bin/bash
T ?=

.PHONY: all deps kernel bench-kernel module userspace check check-full lint baseline run bench clean

all: module userspace

deps:
	@scripts/deps.sh

kernel: deps
	@. scripts/common.sh && scripts/build-kernel.sh $$TEST_KERNEL

bench-kernel: deps
	@. scripts/common.sh && scripts/build-kernel.sh $$BENCH_KERNEL

module: deps
	@. scripts/common.sh && scripts/build-module.sh "$$(scripts/build-kernel.sh $$TEST_KERNEL)"

userspace: deps
	@scripts/build-userspace.sh

check: deps
	@tests/check $(T)

check-full: deps
	@tests/check --full $(T)

lint: deps
	@scripts/lint.sh

baseline: deps
	@tests/baseline/update

run: deps
	@benchmarks/run

bench: deps
	@benchmarks/run --full

clean:
	rm -rf results
