// SPDX-License-Identifier: GPL-2.0
/*
 * fault_migrate_lat: latency of one RDMA operation that hits target
 * memory which is not resident.
 *
 * The initiator ($RXE_HMM_DEV) and the target ($RXE_HMM_DEV_B) sit on the
 * two ends of a veth pair in two network namespaces. Each iteration makes
 * the target range non-resident, then times one RDMA write (or read) of
 * SIZE bytes into it, posted to its completion. What it costs beyond the
 * copy depends on the target's MR: pinned (-P: nothing to fault, the
 * floor), ODP on upstream rdma_rxe, or ODP on rxe_hmm, whose migration
 * policy and two-step knob the caller (benchmarks/guest/bench.py) sets.
 *
 * The range is made non-resident by MADV_DONTNEED, system and device
 * pages alike; with -t by a CPU write instead, which moves pages that sit
 * in device memory back to system memory (and leaves system pages be).
 *
 * Every iteration's bytes are checked, after its timing, against a
 * pattern in which each 8-byte word names its page and the iteration
 * (pattern.h): a write must leave the initiator's pattern of this
 * iteration in the target, a read must bring the target's (zeroes when it
 * was dropped, or never written). A stale page, a page in the wrong place
 * or one wrong byte fails the iteration. The check reads the target
 * through the CPU, outside the timing: pages a write migrated to device
 * memory come back to system memory then, and the next iteration's
 * MADV_DONTNEED drops them, or its CPU write (-t) finds them there. The
 * next operation meets the same state either way: an empty range, or
 * populated system pages that the MR must fault in again.
 *
 * usage: fault_migrate_lat [-P] [-r] [-t] SIZE ITERATIONS
 * Prints one JSON object: the iterations' latencies in ns, whether every
 * operation moved the right bytes ("data_ok") and in how many iterations
 * they were right ("iters_ok"), and what the target's engine counted over
 * them (null on another device). On stderr, for the first wrong
 * iterations: the iteration, the first wrong offset, the bytes expected
 * and found. Exit status 3: some bytes were wrong (the JSON still says
 * what was measured).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pair.h"
#include "pattern.h"

#define THP_SIZE	(2UL << 20)
/* the pattern tags: the initiator's buffer, the target's CPU write */
#define TAG_SOURCE	0xa5
#define TAG_CPU		0xc3
/* wrong iterations told on stderr, each by its first wrong byte */
#define TELL_WRONG	5

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-P] [-r] [-t] SIZE ITERATIONS\n"
		"  -P  pinned MR on the target (no ODP, nothing dropped)\n"
		"  -r  RDMA read instead of write\n"
		"  -t  a CPU write, not MADV_DONTNEED, between iterations\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	bool pinned = false, read = false, touch = false;
	struct rxedv_dev_counters before = {};
	int i, iters, opt, err, access, right = 0;
	size_t size, map_len;
	struct pattern_bad bad;
	unsigned long long *ns;
	uint8_t *raw, *mem;
	struct ibv_mr *mr;
	char what[96];
	struct pair p;
	uint64_t t0;

	while ((opt = getopt(argc, argv, "Prt")) != -1) {
		switch (opt) {
		case 'P':
			pinned = true;
			break;
		case 'r':
			read = true;
			break;
		case 't':
			touch = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (argc - optind != 2)
		usage(argv[0]);
	size = strtoul(argv[optind], NULL, 0);
	iters = atoi(argv[optind + 1]);
	if (!size || size % 4096 || iters <= 0)
		usage(argv[0]);
	ns = calloc(iters, sizeof(*ns));
	if (!ns)
		return 1;

	err = pair_open(&p, 1, size);
	if (err) {
		fprintf(stderr, "setting up the QPs: %s\n", strerror(err));
		return 1;
	}
	/* THP aligned, so that a 2 MiB range can be one THP */
	map_len = size + THP_SIZE;
	raw = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mem = (uint8_t *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (size >= THP_SIZE && madvise(mem, size, MADV_HUGEPAGE))
		perror("madvise(MADV_HUGEPAGE)");
	access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ;
	if (pinned)
		memset(mem, 0, size);
	else
		access |= IBV_ACCESS_ON_DEMAND;
	mr = ibv_reg_mr(p.b.pd, mem, size, access);
	if (!mr) {
		perror("ibv_reg_mr");
		return 1;
	}
	pair_engine(&p, &before);

	for (i = 0; i < iters; i++) {
		/* a write moves this; a read must overwrite it */
		pattern_fill(p.buf, size, TAG_SOURCE, i + 1);
		if (touch) {
			pattern_fill(mem, size, TAG_CPU, i + 1);
		} else if (!pinned && madvise(mem, size, MADV_DONTNEED)) {
			perror("madvise(MADV_DONTNEED)");
			return 1;
		}
		t0 = now_ns();
		err = post_wait(&p.a, p.qa[0], read ? IBV_WR_RDMA_READ :
				IBV_WR_RDMA_WRITE, p.buf, size,
				p.buf_mr->lkey, (uintptr_t)mem, mr->rkey, 0, 0);
		ns[i] = now_ns() - t0;
		if (err) {
			fprintf(stderr, "RDMA %s: %s %d\n",
				read ? "read" : "write",
				err < 0 ? "error" : "status", err);
			return 1;
		}

		/*
		 * Byte for byte: a read brings what the target holds (the
		 * CPU's write, or zeroes: dropped, or pinned and never
		 * written), a write leaves the initiator's bytes there.
		 */
		if (read ? !pattern_check(p.buf, size,
					  touch ? TAG_CPU : PATTERN_ZERO, i + 1,
					  &bad) :
		    !pattern_check(mem, size, TAG_SOURCE, i + 1, &bad)) {
			right++;
			continue;
		}
		if (i - right < TELL_WRONG) {
			snprintf(what, sizeof(what),
				 "iteration %d of %d, RDMA %s of %zu bytes",
				 i + 1, iters, read ? "read" : "write", size);
			pattern_print_bad(stderr, what, size, &bad);
		}
	}

	printf("{\"ns\":[");
	for (i = 0; i < iters; i++)
		printf("%s%llu", i ? "," : "", ns[i]);
	printf("],\"data_ok\":%s,\"iters_ok\":%d",
	       right == iters ? "true" : "false", right);
	pair_print_engine(&p, &before);
	printf("}\n");
	if (right != iters) {
		fprintf(stderr, "RDMA %s: wrong bytes in %d of %d iterations%s\n",
			read ? "read" : "write", iters - right, iters,
			iters - right > TELL_WRONG ? " (the first ones above)" :
			"");
		return 3;
	}
	ibv_dereg_mr(mr);
	munmap(raw, map_len);
	pair_close(&p);
	free(ns);
	return 0;
}
