// SPDX-License-Identifier: GPL-2.0
/*
 * invalidate_lat: latency of MADV_DONTNEED on a buffer that N ODP MRs
 * cover, while RDMA writes keep hitting every one of them.
 *
 * The target ($RXE_HMM_DEV_B) registers the same buffer N times; the
 * initiator ($RXE_HMM_DEV) keeps one RDMA write of a page in flight on
 * each of N QPs, the QP i writing into MR i, page after page. Meanwhile
 * the main thread drops the buffer and times the madvise() call: the mm
 * invalidates every MR, and waits for the accesses still using the pages.
 * rxe_hmm waits in pass 2 of its interval notifier, for all MRs at once,
 * unless its invalidate_one_pass debug knob makes each MR wait in turn;
 * the caller (benchmarks/guest/bench.py) sets the knob.
 *
 * Then each MR in turn must still map the whole buffer: the initiator
 * writes every page of it through MR i, in a pattern in which each 8-byte
 * word names its page and the MR (pattern.h), the target checks every
 * byte, and drops the buffer again for the next MR. A page in the wrong
 * place, one left from the MR before, or a wrong byte fails the run. The
 * writes under traffic are not checked: a drop may empty a page at any
 * moment, and the QPs' writes overlap.
 *
 * usage: invalidate_lat NMRS BUFFER_SIZE ITERATIONS
 * Prints one JSON object: the madvise() latencies in ns, the writes done
 * meanwhile, and what the target's engine counted. Exit status 1 when a
 * check failed, with the MR, the first wrong offset and the bytes
 * expected and found on stderr.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pair.h"
#include "pattern.h"

#define PAGE		4096UL
/* the writes get this long to fault pages back in between two drops */
#define REFILL_US	2000
/* the pattern's tag of the checking writes; their iteration is the MR */
#define TAG_CHECK	0xb4

struct traffic {
	struct pair *p;
	struct ibv_mr *mr[PAIR_MAX_QPS];
	uint8_t *mem;
	size_t len;
	atomic_bool stop;
	unsigned long long writes;
	int err;
};

static int post_write(struct traffic *t, unsigned int i, size_t off)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)t->p->buf + i * PAGE,
		.length = PAGE,
		.lkey = t->p->buf_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = i | (uint64_t)off << 8,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma.remote_addr = (uintptr_t)t->mem + off,
		.wr.rdma.rkey = t->mr[i]->rkey,
	}, *bad;

	return ibv_post_send(t->p->qa[i], &wr, &bad);
}

/* One write in flight per QP until told to stop; then drains them. */
static void *traffic_run(void *arg)
{
	struct traffic *t = arg;
	unsigned int i, inflight = 0, n = t->p->nqps;
	size_t pages = t->len / PAGE;
	struct ibv_wc wc;
	size_t off;
	int ret;

	for (i = 0; i < n; i++) {
		t->err = post_write(t, i, (i % pages) * PAGE);
		if (t->err)
			return NULL;
		inflight++;
	}
	while (inflight) {
		ret = ibv_poll_cq(t->p->a.cq, 1, &wc);
		if (ret < 0) {
			t->err = EIO;
			return NULL;
		}
		if (!ret)
			continue;
		inflight--;
		if (wc.status != IBV_WC_SUCCESS) {
			fprintf(stderr, "write on QP %u: %s\n",
				(unsigned int)(wc.wr_id & 0xff),
				ibv_wc_status_str(wc.status));
			t->err = EIO;
			atomic_store(&t->stop, true);
			continue;
		}
		t->writes++;
		if (atomic_load(&t->stop))
			continue;
		i = wc.wr_id & 0xff;
		off = ((wc.wr_id >> 8) + PAGE) % t->len;
		t->err = post_write(t, i, off);
		if (t->err)
			return NULL;
		inflight++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rxedv_dev_counters before = {};
	struct traffic t = {};
	struct pattern_bad bad;
	char what[64];
	unsigned long long *ns;
	unsigned int nmrs = 0, i;
	pthread_t thread;
	struct pair p;
	int iters = 0, k, err;
	uint64_t t0;

	if (argc == 4) {
		nmrs = strtoul(argv[1], NULL, 0);
		t.len = strtoul(argv[2], NULL, 0);
		iters = atoi(argv[3]);
	}
	if (argc != 4 || nmrs < 1 || nmrs > PAIR_MAX_QPS || !t.len ||
	    t.len % PAGE || iters <= 0) {
		fprintf(stderr, "usage: %s NMRS BUFFER_SIZE ITERATIONS\n"
			"  NMRS from 1 to %d; BUFFER_SIZE a multiple of 4 KiB\n",
			argv[0], PAIR_MAX_QPS);
		return 2;
	}
	ns = calloc(iters, sizeof(*ns));
	/* a page per QP for the traffic, the whole buffer for the checks */
	err = ns ? pair_open(&p, nmrs, t.len > nmrs * PAGE ? t.len :
			     nmrs * PAGE) : ENOMEM;
	if (err) {
		fprintf(stderr, "setting up the QPs: %s\n", strerror(err));
		return 1;
	}
	t.p = &p;
	t.mem = mmap(NULL, t.len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t.mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 0; i < nmrs; i++) {
		t.mr[i] = ibv_reg_mr(p.b.pd, t.mem, t.len,
				     IBV_ACCESS_ON_DEMAND |
				     IBV_ACCESS_LOCAL_WRITE |
				     IBV_ACCESS_REMOTE_WRITE);
		if (!t.mr[i]) {
			perror("ibv_reg_mr");
			return 1;
		}
	}
	pair_engine(&p, &before);
	err = pthread_create(&thread, NULL, traffic_run, &t);
	if (err) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	for (k = 0; k < iters && !atomic_load(&t.stop); k++) {
		usleep(REFILL_US);
		t0 = now_ns();
		if (madvise(t.mem, t.len, MADV_DONTNEED)) {
			perror("madvise(MADV_DONTNEED)");
			return 1;
		}
		ns[k] = now_ns() - t0;
	}
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	if (t.err) {
		fprintf(stderr, "traffic: %s\n", strerror(t.err));
		return 1;
	}

	printf("{\"ns\":[");
	for (k = 0; k < iters; k++)
		printf("%s%llu", k ? "," : "", ns[k]);
	printf("],\"writes\":%llu", t.writes);
	pair_print_engine(&p, &before);
	printf("}\n");

	/* every MR still maps every page of the buffer, in its place */
	for (i = 0; i < nmrs; i++) {
		pattern_fill(p.buf, t.len, TAG_CHECK, i + 1);
		err = post_wait(&p.a, p.qa[i], IBV_WR_RDMA_WRITE, p.buf, t.len,
				p.buf_mr->lkey, (uintptr_t)t.mem, t.mr[i]->rkey,
				0, 0);
		if (err) {
			fprintf(stderr, "MR %u of %u: write after the drops: "
				"%s %d\n", i + 1, nmrs,
				err < 0 ? "error" : "status", err);
			return 1;
		}
		if (pattern_check(t.mem, t.len, TAG_CHECK, i + 1, &bad)) {
			snprintf(what, sizeof(what),
				 "MR %u of %u: write after the drops", i + 1,
				 nmrs);
			pattern_print_bad(stderr, what, t.len, &bad);
			return 1;
		}
		/* the next MR faults the buffer in anew */
		if (madvise(t.mem, t.len, MADV_DONTNEED)) {
			perror("madvise(MADV_DONTNEED)");
			return 1;
		}
	}
	for (i = 0; i < nmrs; i++)
		ibv_dereg_mr(t.mr[i]);
	munmap(t.mem, t.len);
	pair_close(&p);
	free(ns);
	return 0;
}
