// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for pair.c and the verbs it drives, so that the benchmarks'
 * data checks run on a host without RDMA (benchmarks/selftest links
 * fault_migrate_lat.c and invalidate_lat.c with it, in place of pair.c,
 * tests/odp/verbs.c and libibverbs). An RDMA write or read is a memcpy()
 * between the initiator's buffer and the target's memory, both in this
 * process; the engine counters are null, as on rdma_rxe.
 *
 * $RXE_HMM_FAKE_FAULT=WHAT:N breaks the N-th post_wait() (from 1) on
 * purpose, so that a check can be seen to fail:
 *   page   every page lands one page off (page k + 1 of the source in k)
 *   stale  the last page is left out (it keeps what it held)
 *   byte   one byte, in the middle, is flipped
 * N = 0 breaks every one. The traffic's ibv_post_send() is never broken.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pair.h"

#define FAKE_PAGE	4096UL

struct fake_qp {
	struct ibv_qp qp;
	/* the one completion in flight: ibv_poll_cq() hands it out */
	int pending;
	uint64_t wr_id;
};

static struct ibv_context fake_ctx;
static struct ibv_cq fake_cq = { .context = &fake_ctx };
static struct fake_qp fake_qps[PAIR_MAX_QPS];
static unsigned int fake_nqps, fake_posts;

static void fake_copy(void *dst, const void *src, size_t len)
{
	const char *env = getenv("RXE_HMM_FAKE_FAULT");
	unsigned int n = 0;
	char what[16];
	size_t k;

	fake_posts++;
	if (!env || sscanf(env, "%15[a-z]:%u", what, &n) != 2 ||
	    (n && n != fake_posts)) {
		memcpy(dst, src, len);
		return;
	}
	if (!strcmp(what, "page") && len > FAKE_PAGE) {
		for (k = 0; k + FAKE_PAGE < len; k += FAKE_PAGE)
			memcpy((char *)dst + k, (const char *)src + k + FAKE_PAGE,
			       FAKE_PAGE);
		memcpy((char *)dst + k, src, FAKE_PAGE);
	} else if (!strcmp(what, "stale") && len > FAKE_PAGE) {
		memcpy(dst, src, len - FAKE_PAGE);
	} else if (!strcmp(what, "byte")) {
		memcpy(dst, src, len);
		((char *)dst)[len / 2 + 3] ^= 0x10;
	} else {
		fprintf(stderr, "fake_pair: cannot break %zu bytes by \"%s\"\n",
			len, env);
		exit(2);
	}
}

static int fake_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
			  struct ibv_send_wr **bad)
{
	struct fake_qp *f = (struct fake_qp *)qp;

	if (wr->opcode != IBV_WR_RDMA_WRITE || wr->num_sge != 1 || f->pending) {
		*bad = wr;
		return EINVAL;
	}
	memcpy((void *)(uintptr_t)wr->wr.rdma.remote_addr,
	       (void *)(uintptr_t)wr->sg_list->addr, wr->sg_list->length);
	f->wr_id = wr->wr_id;
	f->pending = 1;
	return 0;
}

static int fake_poll_cq(struct ibv_cq *cq, int num, struct ibv_wc *wc)
{
	static unsigned int next;
	unsigned int i, q;

	for (i = 0; i < fake_nqps && num > 0; i++) {
		q = (next + i) % fake_nqps;
		if (!fake_qps[q].pending)
			continue;
		fake_qps[q].pending = 0;
		memset(wc, 0, sizeof(*wc));
		wc->wr_id = fake_qps[q].wr_id;
		wc->status = IBV_WC_SUCCESS;
		wc->opcode = IBV_WC_RDMA_WRITE;
		next = q + 1;
		return 1;
	}
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pair_open(struct pair *p, unsigned int nqps, size_t buf_len)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	if (!nqps || nqps > PAIR_MAX_QPS)
		return EINVAL;
	fake_ctx.ops.post_send = fake_post_send;
	fake_ctx.ops.poll_cq = fake_poll_cq;
	p->a.ctx = p->b.ctx = &fake_ctx;
	p->a.cq = p->b.cq = &fake_cq;
	for (i = 0; i < nqps; i++) {
		fake_qps[i].qp.context = &fake_ctx;
		p->qa[i] = p->qb[i] = &fake_qps[i].qp;
	}
	p->nqps = fake_nqps = nqps;
	p->buf_len = buf_len;
	p->buf = aligned_alloc(4096, buf_len);
	if (!p->buf)
		return ENOMEM;
	memset(p->buf, 0, buf_len);
	p->buf_mr = ibv_reg_mr(p->a.pd, p->buf, buf_len, IBV_ACCESS_LOCAL_WRITE);
	return p->buf_mr ? 0 : errno;
}

void pair_close(struct pair *p)
{
	ibv_dereg_mr(p->buf_mr);
	free(p->buf);
}

int pair_engine(struct pair *p, struct rxedv_dev_counters *c)
{
	return EOPNOTSUPP;
}

void pair_print_engine(struct pair *p,
		       const struct rxedv_dev_counters *before)
{
	printf(",\"engine\":null");
}

int post_wait(struct verbs *v, struct ibv_qp *qp, enum ibv_wr_opcode op,
	      void *laddr, uint32_t len, uint32_t lkey, uint64_t raddr,
	      uint32_t rkey, uint64_t compare_add, uint64_t swap)
{
	if (op == IBV_WR_RDMA_WRITE)
		fake_copy((void *)(uintptr_t)raddr, laddr, len);
	else if (op == IBV_WR_RDMA_READ)
		fake_copy(laddr, (void *)(uintptr_t)raddr, len);
	else
		return -EINVAL;
	return 0;
}

/* verbs.h makes ibv_reg_mr() a macro; these are what it calls */
struct ibv_mr *(ibv_reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
			    int access)
{
	struct ibv_mr *mr = calloc(1, sizeof(*mr));

	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	mr->addr = addr;
	mr->length = length;
	return mr;
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	return (ibv_reg_mr)(pd, addr, length, (int)access);
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	free(mr);
	return 0;
}

const char *ibv_wc_status_str(enum ibv_wc_status status)
{
	return status == IBV_WC_SUCCESS ? "success" : "error";
}
