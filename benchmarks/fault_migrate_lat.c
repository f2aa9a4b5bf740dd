// SPDX-License-Identifier: GPL-2.0
/*
 * fault_migrate_lat: latency of one RDMA write into ODP memory that is
 * not resident, on an rxe_hmm device in loopback.
 *
 * Each iteration drops the target range (MADV_DONTNEED: system and
 * device pages alike), then one RDMA write of SIZE bytes hits it and the
 * time to its completion is printed, in nanoseconds, one line per
 * iteration. What the write costs beyond the copy depends on the MR's
 * migration policy, taken from the device at registration (its sysfs
 * migrate_policy), and on rxe_hmm's migrate_two_step parameter: the
 * caller (benchmarks/guest/fault_and_migrate.py) sets both.
 *
 * usage: fault_migrate_lat SIZE ITERATIONS
 * Environment: RXE_HMM_DEV, RXE_HMM_GID as for the tests.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rdma.h"

#define THP_SIZE	(2UL << 20)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t size, map_len;
	struct ibv_mr *mr;
	struct rdma r;
	uint8_t *raw, *mem;
	long long t0;
	int i, iters, err;

	if (argc != 3 || !(size = strtoul(argv[1], NULL, 0)) ||
	    size % PAGE || (iters = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: %s SIZE ITERATIONS\n", argv[0]);
		return 2;
	}
	err = rdma_open(&r, "RXE_HMM_DEV", "RXE_HMM_GID", size);
	if (err) {
		fprintf(stderr, "rdma_open: %s\n", strerror(-err));
		return 1;
	}
	/* THP aligned, so that a 2 MiB range can be one THP */
	map_len = size + THP_SIZE;
	raw = map_anon(map_len, PROT_READ | PROT_WRITE);
	if (!raw)
		return 1;
	mem = (uint8_t *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (size >= THP_SIZE && madvise(mem, size, MADV_HUGEPAGE))
		perror("madvise(MADV_HUGEPAGE)");
	mr = ibv_reg_mr(r.v.pd, mem, size, IBV_ACCESS_ON_DEMAND |
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!mr) {
		perror("ibv_reg_mr");
		return 1;
	}
	fill(r.buf, size, 1);

	for (i = 0; i < iters; i++) {
		if (madvise(mem, size, MADV_DONTNEED)) {
			perror("madvise(MADV_DONTNEED)");
			return 1;
		}
		t0 = now_ns();
		err = rdma_write(&r, 0, size, (uintptr_t)mem, mr->rkey);
		if (err != IBV_WC_SUCCESS) {
			fprintf(stderr, "RDMA write: status %d\n", err);
			return 1;
		}
		printf("%lld\n", now_ns() - t0);
	}
	/* the last write landed, byte for byte */
	if (memcmp(mem, r.buf, size)) {
		fprintf(stderr, "data mismatch\n");
		return 1;
	}
	ibv_dereg_mr(mr);
	munmap(raw, map_len);
	return 0;
}
